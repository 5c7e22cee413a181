import { sql } from 'kysely'
import type { GetcourseAccountConfig } from '../../config.js'
import type { Db } from '../../db/index.js'
import type { RequestKind } from './tables.js'

/**
 * The request budget of a GetCourse account, kept in Postgres so that every process and every run
 * shares it: 100 Export-API requests per rolling 2 h per account, polls included (reference §3.4).
 * A request is written here, in its own committed transaction, before it is sent.
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
}

export interface RequestInfo {
  kind: RequestKind
  stream?: string | null
  exportId?: string | number | null
}

export type Reservation = { ok: true; id: string } | { ok: false; until: number; blocked: boolean }

const KEEP_HISTORY_MS = 7 * 86_400_000

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

async function lockAccount(trx: Db, account: string): Promise<number | null> {
  await sql`insert into etl.getcourse_budget (account) values (${account}) on conflict (account) do nothing`.execute(trx)
  const { rows } = await sql<{ blocked_until: Date | string | null }>`
    select blocked_until from etl.getcourse_budget where account = ${account} for update`.execute(trx)
  const blocked = rows[0]?.blocked_until
  return blocked ? new Date(blocked).getTime() : null
}

async function sentTimes(trx: Db, account: string, since: number): Promise<number[]> {
  const { rows } = await sql<{ sent_at: Date | string }>`
    select sent_at from etl.getcourse_requests
    where account = ${account} and sent_at > ${new Date(since).toISOString()}::timestamptz
    order by sent_at`.execute(trx)
  return rows.map((r) => new Date(r.sent_at).getTime())
}

/**
 * Records one request if the budget allows it now. Serialised per account by a row lock on
 * `etl.getcourse_budget`, so two processes can never both take the last slot.
 */
export async function reserveRequest(db: Db, account: GetcourseAccountConfig, request: RequestInfo, now: number): Promise<Reservation> {
  return db.transaction().execute(async (trx) => {
    const blockedUntil = await lockAccount(trx, account.name)
    if (blockedUntil !== null && blockedUntil > now) return { ok: false, until: blockedUntil, blocked: true }
    const window = windowMs(account)
    const sent = await sentTimes(trx, account.name, now - window - marginMs(account))
    const free = nextFree(sent, budgetLimit(account), window + marginMs(account))
    if (free !== null) return { ok: false, until: free, blocked: false }
    const row = await trx
      .insertInto('etl.getcourse_requests')
      .values({ account: account.name, sent_at: new Date(now), kind: request.kind, stream: request.stream ?? null, export_id: request.exportId ?? null })
      .returning('id')
      .executeTakeFirstOrThrow()
    await trx.deleteFrom('etl.getcourse_requests').where('account', '=', account.name).where('sent_at', '<', new Date(now - KEEP_HISTORY_MS)).execute()
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
 * trust it and block the account for a whole window, in every process (reference §6.2).
 */
export async function markWindowSpent(db: Db, account: GetcourseAccountConfig, now: number): Promise<Date> {
  const until = new Date(now + windowMs(account))
  await sql`
    insert into etl.getcourse_budget (account, blocked_until, blocked_note, updated_at)
    values (${account.name}, ${until.toISOString()}::timestamptz, '903 Слишком много запросов', now())
    on conflict (account) do update set
      blocked_until = greatest(etl.getcourse_budget.blocked_until, excluded.blocked_until),
      blocked_note = excluded.blocked_note, updated_at = now()`.execute(db)
  return until
}

/** When `n` more requests fit the budget (null: now), including a 903 block. For planning an export. */
export async function whenAvailable(db: Db, account: GetcourseAccountConfig, now: number, n: number): Promise<number | null> {
  const status = await budgetStatus(db, account, now)
  if (status.blockedUntil) return status.blockedUntil.getTime()
  const sent = await sentTimes(db, account.name, now - windowMs(account) - marginMs(account))
  return nextFree(sent, budgetLimit(account), windowMs(account) + marginMs(account), n)
}

/** Budget use of an account at `now`, for the `status` command and for planning a run. */
export async function budgetStatus(db: Db, account: GetcourseAccountConfig, now: number): Promise<BudgetStatus> {
  const window = windowMs(account)
  const limit = budgetLimit(account)
  const sent = await sentTimes(db, account.name, now - window)
  const row = await db.selectFrom('etl.getcourse_budget').select('blocked_until').where('account', '=', account.name).executeTakeFirst()
  const blocked = row?.blocked_until ? new Date(row.blocked_until).getTime() : null
  const blockedUntil = blocked !== null && blocked > now ? new Date(blocked) : null
  const free = nextFree(sent, limit, window)
  const freesAt = blockedUntil ?? (free !== null ? new Date(free) : null)
  return { used: sent.length, limit, freesAt, blockedUntil }
}
