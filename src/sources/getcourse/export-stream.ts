import { randomUUID } from 'node:crypto'
import path from 'node:path'
import { Readable } from 'node:stream'
import { sql } from 'kysely'
import { z } from 'zod'
import type { GetcourseAccountConfig } from '../../config.js'
import type { Db } from '../../db/index.js'
import { requireUpstream } from '../../db/runs.js'
import { DeferredError, EtlError } from '../../errors.js'
import { httpTimeouts } from '../../http.js'
import type { Batch, Stream, StreamContext } from '../types.js'
import { GetcourseClient } from './client.js'
import type { ExportStream } from './columns.js'
import { describeError, errorKind, type ApiError } from './envelope.js'
import { readExport } from './export-reader.js'
import { countCheck, loadedSince, markFailed, markLoaded, markReady, openExports, readinessHistory, recordStarted, type ExportRecord } from './exports.js'
import { acquireLease, releaseLease, renewLease } from './lease.js'
import { budgetLimit, whenAvailable } from './ledger.js'
import { LocalTime } from './local-time.js'
import { createNormalizer, type Normalizer } from './normalize.js'
import { firstCheckDelay, nextCheckDelay, type ReadinessSample } from './poll-schedule.js'
import { rowsBatch } from './rows-batch.js'
import { TABLES } from './columns.js'
import { covers, incrementalRange, sameWindow, exportWindowSchema, monthsPerWindow, planWindows, splitWindow, windowDays, windowFilters, type ExportWindow, type FilterField } from './windows.js'

export interface ExportStreamOptions {
  /** A request that would break the budget waits this long at most. @default 5 min */
  budgetWaitMs: number
  /** How long to wait for the account's export slot (our lease or a 905) before deferring. @default 15 min */
  busyWaitMs: number
  /** Where a full export starts. @default FULL_START */
  fullStart: string
}

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

/** Requests an export needs at least: the start and one check. */
const MIN_EXPORT_REQUESTS = 2

export function exportStream(account: GetcourseAccountConfig, stream: ExportStream, options: ExportStreamOptions): Stream<ExportState> {
  return {
    source: 'getcourse',
    account: account.name,
    name: stream,
    stateSchema: exportStateSchema,
    async *run(ctx) {
      const session = new ExportSession(ctx, account, stream, options)
      try {
        yield* session.run()
      } finally {
        await session.close()
      }
    },
  }
}

type Started = { record: ExportRecord; learned: boolean } | null

/** A ready check: the unread body, when it was asked for, and the last "not ready" before it. */
type Ready = { response: Response; readyAt: number; lastPendingAt: number | null }

/** One run of one export stream of one account. */
class ExportSession {
  private readonly client: GetcourseClient
  private readonly time: LocalTime
  private readonly holder: { id: string; runId: string; stream: string }
  private readonly startedAt: number
  private holdsLease = false
  /**
   * Readiness of exports this session loaded. The runner commits an export's last batch (which
   * marks it loaded, so `readinessHistory` sees it) while this generator already starts the next
   * export; without these the newest sample would be there or not depending on which query
   * finished first, and identical accounts would learn different first checks. Oldest first.
   */
  private measured: ReadinessSample[] = []

  constructor(
    private readonly ctx: StreamContext<ExportState>,
    private readonly account: GetcourseAccountConfig,
    private readonly stream: ExportStream,
    private readonly options: ExportStreamOptions,
  ) {
    this.client = new GetcourseClient(account, {
      db: ctx.db,
      clock: ctx.clock,
      log: ctx.log,
      signal: ctx.signal,
      countRequest: () => ctx.countRequests(1),
      budgetWaitMs: options.budgetWaitMs,
      http: httpTimeouts(ctx.config.http),
    })
    this.time = new LocalTime(account.timezone)
    this.holder = { id: randomUUID(), runId: ctx.runId, stream }
    this.startedAt = ctx.clock.now()
  }

  async *run(): AsyncGenerator<Batch<ExportState>> {
    let state: ExportState = { ...(this.ctx.state ?? {}) }
    const forced = Boolean(this.ctx.options.from || this.ctx.options.to || this.ctx.options.full)
    // A forced plan comes first, so that an export left by an earlier run counts towards it (and its
    // listing) when it covers one of its windows.
    if (forced) state = yield* this.replan(state)
    for (const open of await openExports(this.ctx.db, this.account.name, { stream: this.stream, orphaned: true })) {
      this.ctx.log.info({ exportId: open.exportId, window: open.window }, 'collecting an export started by an earlier run')
      state = yield* this.collect(open, false, state)
    }
    if (!forced && !state.queue?.length && state.watermark && (await this.shouldGiveWay())) return
    if (!forced && !state.queue?.length) state = yield* this.replan(state)
    while (state.queue?.length) {
      const window = state.queue[0]!
      await this.ensureBudget(state.queue.length)
      const started = await this.start(window)
      if (!started) {
        // Loaded by a concurrent run under its own plan: this plan's listings miss its rows.
        const abandon = [...(state.listing ? [state.listing] : []), ...(window.listing ? [window.listing] : [])]
        state = advance({ ...state, listing: undefined }, window)
        yield { writes: [], read: 0, state, listings: { abandon } }
        continue
      }
      state = yield* this.collect(started.record, started.learned, state)
    }
  }

  async close(): Promise<void> {
    if (this.holdsLease) await this.release()
  }

  // ── planning ────────────────────────────────────────────────────────────────────────────────

  /**
   * A new plan, saved at once, so a run deferred before its first export still leaves its queue
   * behind. A replaced plan's listings can no longer complete: their keys go.
   */
  private async *replan(state: ExportState): AsyncGenerator<Batch<ExportState>, ExportState> {
    const replaced = listingsOf(state)
    const next = await this.plan(state)
    if (next.queue?.length || replaced.length) yield { writes: [], read: 0, state: next, listings: { abandon: replaced } }
    return next
  }

  private async plan(state: ExportState): Promise<ExportState> {
    const { options } = this.ctx
    const today = this.time.day(this.ctx.clock.now())
    let from: string
    let to = today
    let target: string | null = today
    if (options.from || options.to) {
      from = options.from ?? this.options.fullStart
      to = options.to ?? today
      target = null
    } else if (options.full || !state.watermark) from = this.options.fullStart
    else from = incrementalRange(state.watermark, today).from
    // All of history, up to today: a complete listing (README "Deletions").
    const complete = from === this.options.fullStart && to === today && !options.from && !options.to

    if (this.stream === 'group_members') return this.planGroups(state, from, to, target, to === today && !options.from && !options.to)
    const fields = complete ? FULL_FIELDS[this.stream] : FIELDS[this.stream]
    // Window length as if both fields were exported: a full plan of deals costs half the exports.
    const months = monthsPerWindow(from, to, FIELDS[this.stream].length, budgetLimit(this.account))
    const queue = planWindows(from, to, fields, months)
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
    await requireUpstream(this.ctx.db, this.ctx.runId, { source: 'getcourse', account: this.account.name, stream: 'groups' }, 'group members are exported per group of that list')
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
  private async shouldGiveWay(): Promise<boolean> {
    const { rows } = await sql<{ stream: string; last_status: string; last_code: string | null; last_success: Date | string | null }>`
      select stream,
        (array_agg(status order by id desc))[1] as last_status,
        (array_agg(error_code order by id desc))[1] as last_code,
        max(started_at) filter (where status = 'succeeded') as last_success
      from etl.runs
      where source = 'getcourse' and account = ${this.account.name} and status <> 'running'
        and stream in ('users', 'group_members', 'deals', 'payments')
      group by stream`.execute(this.ctx.db)
    const mine = rows.find((r) => r.stream === this.stream)?.last_success
    if (!mine) return false
    const starving = rows.filter(
      (r) => r.stream !== this.stream && r.last_status === 'deferred' && r.last_code === 'BUDGET_EXHAUSTED' && (!r.last_success || new Date(r.last_success) < new Date(mine)),
    )
    if (starving.length) this.ctx.log.info({ starving: starving.map((r) => r.stream) }, 'skipping this refresh: another stream of the account is waiting for budget')
    return starving.length > 0
  }

  /** Defers the stream when the budget cannot pay for one more export soon. */
  private async ensureBudget(queued: number): Promise<void> {
    const need = Math.min(MIN_EXPORT_REQUESTS, budgetLimit(this.account))
    for (;;) {
      const now = this.ctx.clock.now()
      const at = await whenAvailable(this.ctx.db, this.account, now, need)
      if (at === null) return
      if (at - now > this.options.budgetWaitMs) {
        const resumes = `${this.time.hourMinute(at)} (${this.account.timezone})`
        throw new DeferredError('BUDGET_EXHAUSTED', `budget exhausted, resumes at ${resumes}; ${queued} export(s) queued for the next run`, new Date(at))
      }
      this.ctx.progress({ phase: 'waiting for request budget' })
      await this.ctx.idle(this.ctx.clock.sleep(at - now, this.ctx.signal))
    }
  }

  // ── starting ────────────────────────────────────────────────────────────────────────────────

  /** Takes the account's export slot and starts the window's export; null when another run just loaded it. */
  private async start(window: ExportWindow): Promise<Started> {
    const { clock, db, log } = this.ctx
    const poll = this.account.poll
    const filters = windowFilters(window)
    const deadline = clock.now() + this.options.busyWaitMs
    let busyDelay = Math.max(50, poll.firstCheckSeconds * 1000)
    for (;;) {
      if (!(await this.acquire())) {
        if (clock.now() >= deadline) throw this.busy('another run of this account holds the export slot', deadline)
        this.ctx.progress({ phase: 'waiting for the export slot' })
        await this.ctx.idle(clock.sleep(Math.min(5000, Math.max(50, poll.firstCheckSeconds * 1000)), this.ctx.signal))
        continue
      }
      await this.waitForOtherExports()
      if (await loadedSince(db, this.account.name, this.stream, window, filters, this.startedAt)) {
        log.info({ window }, 'window already loaded by a concurrent run; skipped')
        await this.release()
        return null
      }
      const history = await this.history()
      const first = firstCheckDelay(history, this.stream, windowDays(window), poll, window)
      const result = await this.client.startExport(this.stream, filters, window.groupId)
      if (result.kind === 'busy') {
        // Another integration's export is forming (905, nothing started): wait, never "no data" (reference §6.3).
        if (clock.now() + busyDelay > deadline) throw this.busy('another integration keeps the export slot busy (905)', clock.now() + busyDelay)
        log.info({ delayMs: busyDelay }, 'export slot busy (905), retrying later')
        await this.renew()
        await this.ctx.idle(clock.sleep(busyDelay, this.ctx.signal))
        busyDelay = Math.min(poll.maxIntervalSeconds * 1000, busyDelay * 2)
        continue
      }
      const record = await recordStarted(db, {
        account: this.account.name,
        exportId: result.exportId,
        stream: this.stream,
        window,
        filters,
        startedAt: clock.now(),
        firstWaitMs: first.waitMs,
        requests: result.requests,
        runId: this.ctx.runId,
      })
      await this.renew(result.exportId)
      log.info({ exportId: result.exportId, window, firstCheckMs: Math.round(first.waitMs) }, 'export started')
      return { record, learned: first.learned }
    }
  }

  /**
   * Exports of other streams left forming by a run that died: the slot is theirs until they are
   * ready, so wait for them (marking them ready; their own stream downloads them later).
   */
  private async waitForOtherExports(): Promise<void> {
    for (const other of await openExports(this.ctx.db, this.account.name)) {
      if (other.status !== 'pending') continue
      this.ctx.log.info({ exportId: other.exportId, stream: other.stream }, 'waiting for an unfinished export of this account before starting another')
      await this.pollUntilReady(other, false, true)
    }
  }

  /** The account's readiness history, with this session's own exports whose load is not committed yet in front. */
  private async history(): Promise<ReadinessSample[]> {
    const stored = await readinessHistory(this.ctx.db, this.account.name)
    // Once committed an export is in `stored` with the very same values (ms timestamps): drop it here.
    this.measured = this.measured.filter((m) => !stored.some((s) => sameSample(s, m)))
    return [...[...this.measured].reverse(), ...stored]
  }

  private busy(why: string, resumeAt: number): DeferredError {
    return new DeferredError('EXPORT_BUSY', `${why}; gave up waiting after ${Math.round(this.options.busyWaitMs / 1000)} s, retried next run`, new Date(resumeAt))
  }

  // ── waiting and loading ─────────────────────────────────────────────────────────────────────

  /**
   * Polls until the export is ready and streams it into batches. The last batch carries the new
   * stream state and marks the export loaded, in the same transaction as its rows.
   */
  private async *collect(record: ExportRecord, learned: boolean, state: ExportState): AsyncGenerator<Batch<ExportState>, ExportState> {
    const response = await this.pollUntilReady(record, learned, false)
    if ('error' in response) return yield* this.failed(record, response.error, state, response.retry)
    // An export found ready by an earlier run keeps that run's ready_at; only a check of ours is a measurement.
    const measured = record.status === 'pending'
    const next = advance(state, record.window)
    const archive = this.ctx.options.archive ?? this.ctx.config.archiveExports
    const archivePath = archive ? path.join(this.ctx.config.dataDir, 'exports', this.account.name, this.stream, `${record.exportId}.json.gz`) : undefined
    const body = response.response.body ? Readable.fromWeb(response.response.body as never) : Readable.from([])
    const context = { account: this.account.name, timeZone: this.account.timezone, groupId: record.window.groupId }
    const listing = this.listingOf(record, state)
    const { table, key } = TABLES[this.stream]
    // The export completes its listing: the group's own, or the plan's with its last window.
    const completes = !listing
      ? []
      : record.window.groupId !== undefined
        ? [{ listing, table, key, scope: { account: this.account.name, group_id: record.window.groupId } }]
        : next.queue?.length
          ? []
          : [{ listing, table, key, scope: { account: this.account.name } }]
    const rowsListing = listing ? { id: listing, account: this.account.name, groupId: record.window.groupId } : undefined
    let normalizer: Normalizer | null = null
    let rows = 0
    for await (const event of readExport(body, { batchSize: this.ctx.config.batchSize, archivePath, label: `export ${record.exportId}` })) {
      if (event.type === 'end' && event.error) return yield* this.failed(record, event.error, state)
      if (event.fields === null) continue
      normalizer ??= createNormalizer(this.stream, event.fields, context)
      const batch = rowsBatch(this.stream, normalizer, event.rows, rowsListing)
      rows += event.rows.length
      this.ctx.progress({ phase: `export ${record.exportId} loading`, done: rows })
      if (event.type === 'rows') {
        yield batch
        continue
      }
      const loadedAt = this.ctx.clock.now()
      const { account } = this
      if (measured) this.measure(record, response, event.total)
      const listings = { ...batch.listings, complete: completes }
      const holder = this.holder.id
      const onCommit = async (trx: Db) => {
        await markLoaded(trx, account.name, record.exportId, event.total, loadedAt)
        // The slot was held from the start until the window is loaded, so that no other run starts
        // this window again meanwhile; it goes with the load. (Already taken again for the next
        // window, the lease names no export yet and is kept.)
        if (await releaseLease(trx, account, holder, record.exportId)) this.holdsLease = false
      }
      yield { ...batch, listings, state: completes.length && !record.window.groupId ? { ...next, listing: undefined } : next, onCommit }
      this.ctx.log.info({ exportId: record.exportId, rows: event.total }, 'export loaded')
    }
    return next
  }

  /**
   * Checks the export until it is ready (returns its unread body) or failed (returns the error).
   * `discard`: only wait for readiness (an export of another stream blocking the slot).
   */
  private async pollUntilReady(record: ExportRecord, learned: boolean, discard: boolean): Promise<Ready | { error: ApiError; retry?: boolean }> {
    const { clock, db, log } = this.ctx
    const poll = this.account.poll
    // Another stream's export is waited for no longer than the busy wait (then this stream defers).
    const deadline = clock.now() + (discard ? Math.min(this.options.busyWaitMs, poll.timeoutSeconds * 1000) : poll.timeoutSeconds * 1000)
    const giveUpAt = record.startedAt + poll.maxPendingSeconds * 1000
    let misses = 0
    let lastPendingAt = record.lastPendingAt
    let nextAt = record.status === 'ready' ? clock.now() : record.lastPendingAt !== null
      ? record.lastPendingAt + nextCheckDelay(record.lastPendingAt - record.startedAt, learned, poll)
      : record.startedAt + (record.firstWaitMs ?? poll.firstCheckSeconds * 1000)
    for (;;) {
      const now = clock.now()
      if (record.status === 'pending' && now >= giveUpAt) {
        // Stuck: it would block the account's slot forever. Given up; its window is exported again.
        const reason = `not ready ${Math.round((now - record.startedAt) / 1000)} s after it was started (poll.maxPendingSeconds ${poll.maxPendingSeconds}); given up, its window is exported again`
        await markFailed(db, this.account.name, record.exportId, reason)
        if (this.holdsLease && !discard) await this.release()
        log.warn({ exportId: record.exportId, stream: record.stream }, `export ${record.exportId} ${reason}`)
        return { error: { code: null, message: reason }, retry: true }
      }
      // A stuck export is given up at its age limit, not waited for past it.
      if (record.status === 'pending' && nextAt > giveUpAt) nextAt = giveUpAt
      if (nextAt > deadline) {
        if (discard) throw this.busy(`export ${record.exportId} of ${record.stream} is still forming`, nextAt)
        throw new DeferredError('EXPORT_TIMEOUT', `export ${record.exportId} (${record.stream}) was not ready after ${poll.timeoutSeconds} s; it stays pending and is collected next run`, new Date(nextAt))
      }
      this.ctx.progress({ phase: `export ${record.exportId} forming` })
      // Only waiting for GetCourse: the load slot goes to another account meanwhile.
      if (nextAt > now) await this.ctx.idle(clock.sleep(nextAt - now, this.ctx.signal))
      if (this.holdsLease) await this.renew(record.exportId)
      const checkedAt = clock.now()
      const result = await this.client.checkExport(record.exportId, record.stream)
      if (result.kind === 'error' && errorKind(result.error) === 'not_ready') {
        await countCheck(db, this.account.name, record.exportId, checkedAt)
        lastPendingAt = checkedAt
        nextAt = clock.now() + nextCheckDelay(checkedAt - record.startedAt, learned, poll, ++misses)
        continue
      }
      await countCheck(db, this.account.name, record.exportId, null)
      if (result.kind === 'error') {
        const kind = errorKind(result.error)
        if (kind !== 'no_file' && kind !== 'not_found') this.client.fail(result.error, `checking export ${record.exportId}`)
        await markFailed(db, this.account.name, record.exportId, describeError(result.error))
        if (this.holdsLease && !discard) await this.release()
        log.warn({ exportId: record.exportId, error: describeError(result.error) }, 'export failed')
        return { error: result.error }
      }
      await markReady(db, this.account.name, record.exportId, checkedAt)
      // Ready means formed at GetCourse; our lease is still held until the window is loaded (or failed).
      if (discard) {
        await result.response.body?.cancel()
        return { error: { code: null, message: 'discarded' } }
      }
      return { response: result.response, readyAt: checkedAt, lastPendingAt }
    }
  }

  /** Notes a loaded export's readiness as `readinessHistory` will read it once the load commits. */
  private measure(record: ExportRecord, ready: Ready, rows: number): void {
    this.measured.push({
      stream: record.stream,
      readyMs: ready.readyAt - record.startedAt,
      pendingMs: ready.lastPendingAt === null ? null : ready.lastPendingAt - record.startedAt,
      rows,
      days: record.window.from && record.window.to ? windowDays(record.window) : null,
      window: { field: record.window.field, from: record.window.from, to: record.window.to, groupId: record.window.groupId ?? null },
    })
  }

  /**
   * 910 «Файл не создан, попробуйте другой фильтр» is permanent for that filter (reference §3.1):
   * split the window and try the halves; a one-day window is skipped with a reject saying so.
   * An export GetCourse no longer knows («Объект не найден») is simply started again.
   */
  private async *failed(record: ExportRecord, error: ApiError, state: ExportState, retry = false): AsyncGenerator<Batch<ExportState>, ExportState> {
    if (this.holdsLease) await this.release()
    // Given up as stuck (already marked with its reason): the window stays queued for a new export.
    if (retry) return state
    await markFailed(this.ctx.db, this.account.name, record.exportId, describeError(error))
    if (errorKind(error) === 'not_found') return state
    const queue = (state.queue ?? []).filter((w) => !covers(record.window, w))
    const halves = splitWindow(record.window)
    const rest = halves ? [...halves, ...queue] : queue
    // Halves of a group window are not the whole group; a skipped window leaves a hole in the plan's listing.
    const abandon = [...(this.listingOf(record, state) && record.window.groupId !== undefined ? [this.listingOf(record, state)!] : []), ...(!halves && state.listing ? [state.listing] : [])]
    const next = settle({ ...state, queue: rest, listing: halves ? state.listing : undefined })
    const rejects = halves
      ? []
      : [{ reason: `export ${record.exportId} failed (${describeError(error)}) for ${record.window.field} ${record.window.from}..${record.window.to}; window skipped`, raw: { exportId: record.exportId, filters: record.filters }, recordKey: record.exportId }]
    yield { writes: [], read: 0, rejects, state: next, listings: { abandon } }
    return next
  }

  /** The listing an export's rows belong to: its group window's, or the plan's for creation-date windows. */
  private listingOf(record: ExportRecord, state: ExportState): string | undefined {
    const queued = (state.queue ?? []).find((w) => sameWindow(w, record.window))
    if (record.window.groupId !== undefined) return queued?.listing
    return state.listing && queued && record.window.field === 'created_at' ? state.listing : undefined
  }

  // ── the lease ───────────────────────────────────────────────────────────────────────────────

  /** Long enough to cover the longest sleep between two renewals. */
  private leaseTtl(): number {
    return 2 * this.account.poll.maxIntervalSeconds * 1000 + this.options.budgetWaitMs + 60_000
  }

  private async acquire(): Promise<boolean> {
    this.holdsLease = await acquireLease(this.ctx.db, this.account, this.holder, this.ctx.clock.now(), this.leaseTtl())
    return this.holdsLease
  }

  private async renew(exportId?: string): Promise<void> {
    const kept = await renewLease(this.ctx.db, this.account, this.holder.id, this.ctx.clock.now(), this.leaseTtl(), exportId)
    if (!kept && this.holdsLease) {
      this.holdsLease = false
      throw new EtlError('EXPORT_FAILED', 'lost the export lease of this account (expired while waiting); the export stays pending for the next run')
    }
  }

  private async release(): Promise<void> {
    this.holdsLease = false
    await releaseLease(this.ctx.db, this.account, this.holder.id)
  }
}

/** Drops windows the finished export covered; an emptied queue moves the watermark to the plan's target. */
function advance(state: ExportState, done: ExportWindow): ExportState {
  return settle({ ...state, queue: (state.queue ?? []).filter((w) => !covers(done, w)) })
}

/** Times are whole milliseconds in both (clock and timestamptz), so a stored sample equals the measured one. */
const sameSample = (a: ReadinessSample, b: ReadinessSample) =>
  a.stream === b.stream && a.rows === b.rows && a.readyMs === b.readyMs && a.pendingMs === b.pendingMs &&
  a.window?.field === b.window?.field && a.window?.from === b.window?.from && a.window?.to === b.window?.to && (a.window?.groupId ?? null) === (b.window?.groupId ?? null)

/** Listings a state holds (the plan's and its group windows'). */
function listingsOf(state: ExportState): string[] {
  return [...(state.listing ? [state.listing] : []), ...(state.queue ?? []).flatMap((w) => (w.listing ? [w.listing] : []))]
}

function settle(state: ExportState): ExportState {
  if (state.queue?.length) return state
  const { target, ...rest } = state
  return target ? { ...rest, queue: [], watermark: target } : { ...rest, queue: [] }
}
