import { sql } from 'kysely'
import type { Config } from '../../config.js'
import type { GetcourseAccountConfig } from './config.js'
import type { Db } from '../../db/index.js'
import { getState } from '../../db/runs.js'
import type { AccountPlan } from '../operator.js'
import type { SyncOptions } from '../types.js'
import type { ExportStream } from './columns.js'
import { exportStateSchema, planRange, planStreamWindows, type ExportState } from './export-plan.js'
import { averageRequestsPerExport, openExports, readinessHistory } from './exports.js'
import { budgetStatus } from './ledger.js'
import { LocalTime } from './local-time.js'
import { firstCheckDelay } from './poll-schedule.js'
import { FULL_START, REQUESTS_PER_EXPORT, windowDays, type ExportWindow } from './windows.js'

const EXPORT_STREAMS: readonly ExportStream[] = ['users', 'group_members', 'deals', 'payments']
const DIRECT_STREAMS = ['fields', 'groups'] as const

/**
 * What a sync with `options` would do for one account, spending nothing: the same windows the export
 * planner would queue (its `planRange` / `planStreamWindows`), the exports still queued or pending from
 * earlier runs, the requests they cost at the account's own mean per export, how many budget windows
 * that takes, and a finish time from the readiness model of its recent exports.
 */
export async function planAccount(db: Db, account: GetcourseAccountConfig, options: SyncOptions, now: number): Promise<AccountPlan> {
  const time = new LocalTime(account.timezone)
  const today = time.day(now)
  const perExport = (await averageRequestsPerExport(db, account.name)) ?? REQUESTS_PER_EXPORT
  const history = await readinessHistory(db, account.name)
  const pending = await openExports(db, account.name)
  const wanted = (s: string) => !options.streams?.length || options.streams.includes(s)
  const notes: string[] = []
  const streams: AccountPlan['streams'] = []
  let formingMs = 0

  for (const s of DIRECT_STREAMS) if (wanted(s)) streams.push({ stream: s, exports: 0, requests: 1, note: 'one direct request' })
  for (const stream of EXPORT_STREAMS) {
    if (!wanted(stream)) continue
    const saved = exportStateSchema.safeParse((await getState(db, { source: 'getcourse', account: account.name, stream })) ?? {})
    const state: ExportState = saved.success ? saved.data : {}
    const forced = Boolean(options.from || options.to)
    let queue: ExportWindow[]
    let note: string
    if (!forced && state.queue?.length) {
      queue = state.queue
      note = `continues the queued plan (${queue.length} window(s) left)`
    } else {
      const range = planRange(state, options, today, FULL_START)
      if (stream === 'group_members') {
        const groups = await groupWindows(db, account.name, state, range.from, range.to, time, forced)
        queue = groups.windows
        note = groups.loaded
          ? `one export per group with members added ${range.from}…${range.to}`
          : 'no groups loaded yet: planned by the sync after its groups stream (one export per group with members), not counted here'
      } else {
        queue = planStreamWindows(stream, range.from, range.to, range.complete, account).queue
        note = `${range.complete ? 'all of history' : 'incremental'} ${range.from === FULL_START && range.complete ? '1970-01-01' : range.from}…${range.to}`
      }
    }
    const open = pending.filter((e) => e.stream === stream)
    if (open.length) note += `; ${open.length} export(s) of earlier runs collected first`
    const exports = queue.length
    // A pending export is collected with its remaining checks (about one request each).
    const requests = Math.ceil(exports * perExport) + open.length
    for (const w of queue) formingMs += firstCheckDelay(history, stream, windowDays(w), account.poll, w).predictedMs ?? account.poll.firstCheckSeconds * 1000
    streams.push({ stream, exports, requests, note })
  }
  if (!history.length) notes.push(`no export of this account finished yet: readiness assumed ${account.poll.firstCheckSeconds} s per export`)

  const requests = streams.reduce((n, s) => n + (s.requests ?? 0), 0)
  const exports = streams.reduce((n, s) => n + (s.exports ?? 0), 0)
  const budget = await budgetStatus(db, account, now)
  const limit = budget.limit
  const remaining = budget.blockedUntil ? 0 : Math.max(0, limit - budget.used)
  const windowMs = account.budget.windowSeconds * 1000
  // The current window's remainder first, then whole windows of `limit` requests each.
  const windows = requests === 0 ? 0 : requests <= remaining ? 1 : 1 + Math.ceil((requests - remaining) / limit)
  const firstFrees = budget.freesAt ? budget.freesAt.getTime() : now
  const budgetBound = windows <= 1 ? now : Math.max(now, firstFrees) + (windows - 2) * windowMs
  const expectedFinish = requests === 0 ? null : new Date(budgetBound + formingMs).toISOString()
  if (budget.blockedUntil) notes.push(`GetCourse reported the budget spent (903) until ${budget.blockedUntil.toISOString()}`)
  notes.push(
    `${budget.used}/${limit} requests used in the current ${account.budget.windowSeconds / 60} min window; ${perExport.toFixed(2)} requests per export`,
  )
  return { account: account.name, streams, exports, requests, budgetWindows: windows, windowSeconds: account.budget.windowSeconds, expectedFinish, notes }
}

/** group_members: one window per group that had members added in the range (all of history for a group new to the stream). */
async function groupWindows(
  db: Db,
  account: string,
  state: ExportState,
  from: string,
  to: string,
  time: LocalTime,
  forced: boolean,
): Promise<{ windows: ExportWindow[]; loaded: boolean }> {
  const { rows } = await sql<{ id: string; last_added_at: Date | string | null }>`
    select id::text as id, last_added_at from getcourse.groups where account = ${account} and deleted_at is null order by id`.execute(db)
  const known = new Set(state.groups ?? [])
  const out: ExportWindow[] = []
  for (const g of rows) {
    const groupFrom = state.watermark && !known.has(g.id) && !forced ? FULL_START : from
    const last = g.last_added_at ? time.day(new Date(g.last_added_at).getTime()) : null
    if (last && last >= groupFrom) out.push({ field: 'added_at', from: groupFrom, to, groupId: g.id })
  }
  return { windows: out, loaded: rows.length > 0 }
}

export async function planGetcourse(db: Db, config: Config, options: SyncOptions, now: number): Promise<AccountPlan[]> {
  const accounts = config.getcourse.filter((a) => !options.accounts?.length || options.accounts.includes(a.name))
  const out: AccountPlan[] = []
  for (const a of accounts) out.push(await planAccount(db, a, options, now))
  return out
}
