import { randomUUID } from 'node:crypto'
import { sql } from 'kysely'
import { z } from 'zod'
import type { GetcourseAccountConfig } from './config.js'
import { lastRuns, requireUpstream } from '../../db/runs.js'
import type { Batch, StreamContext, SyncOptions } from '../../contract.js'
import type { ExportStream } from './columns.js'
import type { ExportRecord } from './exports.js'
import { budgetLimit } from './ledger.js'
import type { LocalTime } from './local-time.js'
import { covers, incrementalRange, sameWindow, exportWindowSchema, monthsPerWindow, planWindows, type ExportWindow, type FilterField } from './windows.js'

/** Stream cursor, saved with the last batch of each export. */
export const exportStateSchema = z.object({
  /** Last day (account time) fully loaded by an incremental or full plan. */
  watermark: z.string().optional(),
  /** Windows still to export, oldest first. */
  queue: z.array(exportWindowSchema).optional(),
  /** The watermark to set once `queue` is empty (null for a forced `--from/--to` window). */
  target: z.string().nullable().optional(),
  /** group_members: groups known when the watermark was set; new groups get a full window. */
  groups: z.array(z.string()).optional(),
  /**
   * users, deals, payments: the complete listing the queued windows make up (a full plan, README
   * "Deletions"); when its last window is loaded, stored rows it did not contain are marked deleted.
   */
  listing: z.string().optional(),
})

export type ExportState = z.infer<typeof exportStateSchema>

const FIELDS: Record<ExportStream, readonly FilterField[]> = {
  users: ['created_at'],
  group_members: ['added_at'],
  // Two exports per window so that deals/payments whose status changed are re-read (reference §6.8).
  deals: ['created_at', 'status_changed_at'],
  payments: ['created_at', 'status_changed_at'],
}

/**
 * A full plan reads every row by creation date, which also re-reads every status change and silent
 * edit: the status_changed_at twins would only read the same rows again.
 */
const FULL_FIELDS: Record<ExportStream, readonly FilterField[]> = {
  users: ['created_at'],
  group_members: ['added_at'],
  deals: ['created_at'],
  payments: ['created_at'],
}

/** Plans an export stream's windows (and the listings of full plans) and keeps budget fairness. */
export class ExportPlanner {
  constructor(
    private readonly ctx: StreamContext<ExportState>,
    private readonly account: GetcourseAccountConfig,
    private readonly stream: ExportStream,
    private readonly options: { readonly fullStart: string },
    private readonly time: LocalTime,
  ) {}

  /**
   * A new plan, saved at once, so a run deferred before its first export still leaves its queue
   * behind. A replaced plan's listings can no longer complete: their keys go.
   */
  async *replan(state: ExportState): AsyncGenerator<Batch<ExportState>, ExportState> {
    const replaced = listingsOf(state)
    const next = await this.plan(state)
    if (next.queue?.length || replaced.length) yield { writes: [], read: 0, state: next, listings: { abandon: replaced } }
    return next
  }

  private async plan(state: ExportState): Promise<ExportState> {
    const { options } = this.ctx
    const today = this.time.day(this.ctx.clock.now())
    const { from, to, target, complete } = planRange(state, options, today, this.options.fullStart)

    if (this.stream === 'group_members') return this.planGroups(state, from, to, target, to === today && !options.from && !options.to)
    const { queue, months } = planStreamWindows(this.stream, from, to, complete, this.account)
    let listing: string | undefined
    if (complete && queue.length) {
      listing = randomUUID()
      for (const w of queue) if (w.from === from) w.open = true
    }
    this.ctx.log.info({ from, to, exports: queue.length, months, listing: Boolean(listing) }, 'planned export windows')
    return { ...state, queue, target, listing }
  }

  /** One export per group over the whole range; groups nobody was added to since `from` are skipped. */
  private async planGroups(state: ExportState, from: string, to: string, target: string | null, untilToday: boolean): Promise<ExportState> {
    await requireUpstream(
      this.ctx.db,
      this.ctx.runId,
      { source: 'getcourse', account: this.account.name, stream: 'groups' },
      'group members are exported per group of that list',
    )
    const groups = await this.groups()
    const known = new Set(state.groups ?? [])
    const queue: ExportWindow[] = []
    for (const g of groups) {
      const groupFrom = state.watermark && !known.has(g.id) && !this.ctx.options.from ? this.options.fullStart : from
      if (!g.lastAddedDay || g.lastAddedDay < groupFrom) continue
      // A group exported over all its history is a complete listing of its members.
      if (groupFrom === this.options.fullStart && untilToday) {
        queue.push({ field: 'added_at', from: groupFrom, to, groupId: g.id, listing: randomUUID(), open: true })
      } else queue.push({ field: 'added_at', from: groupFrom, to, groupId: g.id })
    }
    this.ctx.log.info({ from, to, exports: queue.length, groups: groups.length }, 'planned group member exports')
    return { ...state, queue, target, groups: groups.map((g) => g.id) }
  }

  private async groups(): Promise<{ id: string; lastAddedDay: string | null }[]> {
    const { rows } = await sql<{ id: string; last_added_at: Date | string | null }>`
      select id::text as id, last_added_at from getcourse.groups where account = ${this.account.name} order by id`.execute(this.ctx.db)
    if (!rows.length) this.ctx.log.warn('no groups loaded for this account yet (run the groups stream first); no group members exported')
    return rows.map((r) => ({ id: r.id, lastAddedDay: r.last_added_at ? this.time.day(new Date(r.last_added_at).getTime()) : null }))
  }

  /**
   * Budget fairness: streams run in a fixed order, so under a tight budget the first ones would
   * refresh every run while a later one never gets a request. A routine refresh steps aside
   * while another export stream of the account was last deferred for budget and has not
   * succeeded since this one did.
   */
  async shouldGiveWay(): Promise<boolean> {
    const rows = await lastRuns(this.ctx.db, 'getcourse', this.account.name, ['users', 'group_members', 'deals', 'payments'])
    const mine = rows.find((r) => r.stream === this.stream)?.lastSuccess
    if (!mine) return false
    const starving = rows.filter(
      (r) => r.stream !== this.stream && r.lastStatus === 'deferred' && r.lastCode === 'BUDGET_EXHAUSTED' && (!r.lastSuccess || r.lastSuccess < mine),
    )
    if (starving.length)
      this.ctx.log.info({ starving: starving.map((r) => r.stream) }, 'skipping this refresh: another stream of the account is waiting for budget')
    return starving.length > 0
  }
}

/** The days a new plan covers: forced (`--from/--to`), all of history (`--full`, first run), or from the watermark. */
export function planRange(
  state: ExportState,
  options: Pick<SyncOptions, 'from' | 'to' | 'full'>,
  today: string,
  fullStart: string,
): { from: string; to: string; target: string | null; complete: boolean } {
  let from: string
  let to = today
  let target: string | null = today
  if (options.from || options.to) {
    from = options.from ?? fullStart
    to = options.to ?? today
    target = null
  } else if (options.full || !state.watermark) from = fullStart
  else from = incrementalRange(state.watermark, today).from
  // All of history, up to today: a complete listing (README "Deletions").
  const complete = from === fullStart && to === today && !options.from && !options.to
  return { from, to, target, complete }
}

/** The export windows of a users / deals / payments plan over [from, to]. */
export function planStreamWindows(
  stream: Exclude<ExportStream, 'group_members'>,
  from: string,
  to: string,
  complete: boolean,
  account: GetcourseAccountConfig,
): { queue: ExportWindow[]; months: number } {
  const fields = complete ? FULL_FIELDS[stream] : FIELDS[stream]
  // Window length as if both fields were exported: a full plan of deals costs half the exports.
  const months = monthsPerWindow(from, to, FIELDS[stream].length, budgetLimit(account))
  return { queue: planWindows(from, to, fields, months), months }
}

/** Drops windows the finished export covered; an emptied queue moves the watermark to the plan's target. */
export function advance(state: ExportState, done: ExportWindow): ExportState {
  return settle({ ...state, queue: (state.queue ?? []).filter((w) => !covers(done, w)) })
}

/** Listings a state holds (the plan's and its group windows'). */
export function listingsOf(state: ExportState): string[] {
  return [...(state.listing ? [state.listing] : []), ...(state.queue ?? []).flatMap((w) => (w.listing ? [w.listing] : []))]
}

/** The listing an export's rows belong to: its group window's, or the plan's for creation-date windows. */
export function listingOf(record: ExportRecord, state: ExportState): string | undefined {
  const queued = (state.queue ?? []).find((w) => sameWindow(w, record.window))
  if (record.window.groupId !== undefined) return queued?.listing
  return state.listing && queued && record.window.field === 'created_at' ? state.listing : undefined
}

export function settle(state: ExportState): ExportState {
  if (state.queue?.length) return state
  const { target, ...rest } = state
  return target ? { ...rest, queue: [], watermark: target } : { ...rest, queue: [] }
}
