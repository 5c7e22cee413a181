import { sql } from 'kysely'
import type { GetcourseAccountConfig } from './config.js'
import type { Db } from '../../db/index.js'
import type { RequestKind } from './tables.js'

/**
 * The request budget of a GetCourse school, kept in Postgres so that every process and every run
 * shares it: 100 Export-API requests per rolling 2 h per account, polls included (reference §3.4).
 * A request is written here, in its own committed transaction, before it is sent.
 *
 * Keyed by the school (`schoolKey`), not by our `name` for it: GetCourse counts per school, so two
 * entries of one school (two configs, or one config split in two) share one budget. Each entry still
 * applies its own `budget` settings to that shared count.
 *
 * Counted on the database server's clock on real time (see `ledgerTime`), never on a host's.
 */
export interface BudgetStatus {
  /** Requests recorded in the current window. */
  used: number
  /** What we allow ourselves: `budget.requests − budget.reserve`. */
  limit: number
  /** When `used ≥ limit` (or the account is blocked): the moment the next request becomes possible. */
  freesAt: Date | null
  /** Set after a 903 answer: GetCourse says the window is spent (by us or another integration). */
  blockedUntil: Date | null
  /** Whose budget this is: the school's key, shared by every entry of that school. */
  school: string
}

export interface RequestInfo {
  kind: RequestKind
  stream?: string | null
  exportId?: string | number | null
}

export type Reservation = { ok: true; id: string } | { ok: false; until: number; blocked: boolean }

const KEEP_HISTORY_MS = 7 * 86_400_000

/**
 * The school an account entry points at, as GetCourse counts budgets and export slots: the host of
 * its URL, lowercased (`URL` does that and drops a default port; other ports stay, the simulators run
 * one school per port). It is what the ledger and the export lease are keyed by. A school reached
 * once by its subdomain and once by its custom domain cannot be told apart here and keeps two keys.
 */
export const schoolKey = (account: Pick<GetcourseAccountConfig, 'url'>): string => new URL(account.url).host.toLowerCase()

/**
 * The ledger's now. Hosts' clocks differ (two hosts 10 minutes apart spent 180 requests of 100 in
 * one real window), so on real time the budget is counted on the database server's clock, the one
 * clock every process shares: `clock_timestamp()` (not `now()`, the transaction's start: read after
 * the school's lock it moves forward with the commits) for both the stamp and the window.
 *
 * Callers keep their own Clock and hand us its `now`. A `now` within a minute of this process's
 * clock means a caller on real time: it is replaced. Any other `now` is a virtual timeline (the
 * VirtualClock of tests and benches, whose simulators count on that same timeline) and is used as
 * given, or hours of budget windows could not pass in milliseconds. Every time we hand back is
 * shifted onto the caller's clock (`toCaller`), so its waits and "resumes at" stay right.
 */
export interface LedgerTime {
  /** Now, on the clock the ledger counts on. */
  at: number
  /** `at` minus the caller's `now`. */
  shift: number
}

const REAL_TIME_SLACK_MS = 60_000

export async function ledgerTime(db: Db, now: number): Promise<LedgerTime> {
  if (Math.abs(now - Date.now()) > REAL_TIME_SLACK_MS) return { at: now, shift: 0 }
  const { rows } = await sql<{ ms: number | string }>`select floor(extract(epoch from clock_timestamp()) * 1000)::float8 as ms`.execute(db)
  const at = Number(rows[0]!.ms)
  return { at, shift: at - now }
}

const toCaller = (at: number, time: LedgerTime) => at - time.shift

export const budgetLimit = (account: GetcourseAccountConfig) => account.budget.requests - account.budget.reserve
const windowMs = (account: GetcourseAccountConfig) => account.budget.windowSeconds * 1000
/**
 * Our ledger time is taken just before sending; GetCourse counts on arrival. A small margin keeps a
 * request that left late inside the window we counted it in.
 */
const marginMs = (account: GetcourseAccountConfig) => Math.min(1000, windowMs(account) * 0.01)

/** When `n` slots are free, given the sorted send times still in the window; null when they are free now. */
function nextFree(sentAt: readonly number[], limit: number, window: number, wanted = 1): number | null {
  const n = Math.min(wanted, limit)
  if (sentAt.length + n <= limit) return null
  return sentAt[Math.min(sentAt.length - 1, sentAt.length + n - 1 - limit)]! + window
}

/** The `account` column of the ledger tables holds the school's key. */
async function lockSchool(trx: Db, school: string): Promise<number | null> {
  await sql`insert into etl.getcourse_budget (account) values (${school}) on conflict (account) do nothing`.execute(trx)
  const { rows } = await sql<{ blocked_until: Date | string | null }>`
    select blocked_until from etl.getcourse_budget where account = ${school} for update`.execute(trx)
  const blocked = rows[0]?.blocked_until
  return blocked ? new Date(blocked).getTime() : null
}

/** The 903 block of the school while it lasts at `at`, else null. */
async function blockedAt(db: Db, school: string, at: number): Promise<number | null> {
  const row = await db.selectFrom('etl.getcourse_budget').select('blocked_until').where('account', '=', school).executeTakeFirst()
  const blocked = row?.blocked_until ? new Date(row.blocked_until).getTime() : null
  return blocked !== null && blocked > at ? blocked : null
}

async function sentTimes(trx: Db, school: string, since: number): Promise<number[]> {
  const { rows } = await sql<{ sent_at: Date | string }>`
    select sent_at from etl.getcourse_requests
    where account = ${school} and sent_at > ${new Date(since).toISOString()}::timestamptz
    order by sent_at`.execute(trx)
  return rows.map((r) => new Date(r.sent_at).getTime())
}

/**
 * Records one request if the budget allows it now. Serialised per school by a row lock on
 * `etl.getcourse_budget`, so two processes can never both take the last slot.
 */
export async function reserveRequest(db: Db, account: GetcourseAccountConfig, request: RequestInfo, now: number): Promise<Reservation> {
  const school = schoolKey(account)
  return db.transaction().execute(async (trx) => {
    const blockedUntil = await lockSchool(trx, school)
    const time = await ledgerTime(trx, now)
    if (blockedUntil !== null && blockedUntil > time.at) return { ok: false, until: toCaller(blockedUntil, time), blocked: true }
    const window = windowMs(account) + marginMs(account)
    const free = nextFree(await sentTimes(trx, school, time.at - window), budgetLimit(account), window)
    if (free !== null) return { ok: false, until: toCaller(free, time), blocked: false }
    const row = await trx
      .insertInto('etl.getcourse_requests')
      .values({ account: school, sent_at: new Date(time.at), kind: request.kind, stream: request.stream ?? null, export_id: request.exportId ?? null })
      .returning('id')
      .executeTakeFirstOrThrow()
    await trx
      .deleteFrom('etl.getcourse_requests')
      .where('account', '=', school)
      .where('sent_at', '<', new Date(time.at - KEEP_HISTORY_MS))
      .execute()
    return { ok: true, id: String(row.id) }
  })
}

/** Notes the answer's error code on the ledger row (for diagnosis; the budget counts it anyway). */
export async function recordAnswer(db: Db, requestId: string, update: { errorCode?: number | null; exportId?: string | number | null }): Promise<void> {
  await db
    .updateTable('etl.getcourse_requests')
    .set({ error_code: update.errorCode ?? null, ...(update.exportId != null ? { export_id: update.exportId } : {}) })
    .where(sql<boolean>`id = ${requestId}::bigint`)
    .execute()
}

/**
 * A 903 answer: GetCourse counts requests we cannot see (other integrations of the school), so we
 * trust it and block the school for a whole window, in every process (reference §6.2).
 */
export async function markWindowSpent(db: Db, account: GetcourseAccountConfig, now: number): Promise<Date> {
  const time = await ledgerTime(db, now)
  const until = new Date(time.at + windowMs(account))
  await sql`
    insert into etl.getcourse_budget (account, blocked_until, blocked_note, updated_at)
    values (${schoolKey(account)}, ${until.toISOString()}::timestamptz, '903 Слишком много запросов', now())
    on conflict (account) do update set
      blocked_until = greatest(etl.getcourse_budget.blocked_until, excluded.blocked_until),
      blocked_note = excluded.blocked_note, updated_at = now()`.execute(db)
  return new Date(toCaller(until.getTime(), time))
}

/** When `n` more requests fit the budget (null: now), including a 903 block. For planning an export. */
export async function whenAvailable(db: Db, account: GetcourseAccountConfig, now: number, n: number): Promise<number | null> {
  const school = schoolKey(account)
  const time = await ledgerTime(db, now)
  const blocked = await blockedAt(db, school, time.at)
  if (blocked !== null) return toCaller(blocked, time)
  const window = windowMs(account) + marginMs(account)
  const free = nextFree(await sentTimes(db, school, time.at - window), budgetLimit(account), window, n)
  return free === null ? null : toCaller(free, time)
}

/** Budget use of an account's school at `now`, for the `status` command and for planning a run. */
export async function budgetStatus(db: Db, account: GetcourseAccountConfig, now: number): Promise<BudgetStatus> {
  const school = schoolKey(account)
  const time = await ledgerTime(db, now)
  const window = windowMs(account)
  const limit = budgetLimit(account)
  const sent = await sentTimes(db, school, time.at - window)
  const blocked = await blockedAt(db, school, time.at)
  const frees = blocked ?? nextFree(sent, limit, window)
  const onCallerClock = (at: number | null) => (at === null ? null : new Date(toCaller(at, time)))
  return { used: sent.length, limit, freesAt: onCallerClock(frees), blockedUntil: onCallerClock(blocked), school }
}
