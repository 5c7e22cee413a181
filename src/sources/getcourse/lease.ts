import { sql } from 'kysely'
import type { GetcourseAccountConfig } from './config.js'
import type { Db } from '../../db/index.js'
import { runIsRunning } from '../../db/runs.js'
import { ledgerTime, schoolKey } from './ledger.js'

/**
 * The school's single export slot (reference §3.4: "API exports are performed in a single
 * stream"), as a lease row in Postgres: every process takes it before starting an export and only
 * the holder may start one. A lease is free when it expired or its run is no longer running.
 *
 * Keyed like the budget: GetCourse allows one export per school, whichever entry of our config (or of
 * another process's config) starts it, so an account entry is keyed by `schoolKey`. A plain string is
 * used as the key as it is (callers that still pass the entry's `name` get a slot per name).
 * Its times are on the ledger's clock (the database server's on real time, see `ledgerTime`), so a
 * host whose clock runs ahead cannot see another host's lease as expired early.
 */
export interface LeaseHolder {
  /** Unique per stream run. */
  id: string
  runId: string
  stream: string
}

export type LeaseKey = Pick<GetcourseAccountConfig, 'url'> | string

const keyOf = (account: LeaseKey) => (typeof account === 'string' ? account : schoolKey(account))

/**
 * Takes the slot when it is free or already ours. The upsert runs under a transaction-scoped advisory
 * lock of the account, so its snapshot is taken after the previous acquire committed: in READ
 * COMMITTED the `on conflict … where` clause sees the newest lease row but evaluates its subquery on
 * the statement's snapshot, and an upsert whose snapshot predates the holder's `startRun` would find
 * that live run absent, call it "not running" and take the lease from under it.
 */
export async function acquireLease(db: Db, account: LeaseKey, holder: LeaseHolder, now: number, ttlMs: number): Promise<boolean> {
  const { at } = await ledgerTime(db, now)
  const key = keyOf(account)
  const take = async (trx: Db) => {
    await sql`select pg_advisory_xact_lock(hashtextextended('course-etl:lease:' || ${key}, 0))`.execute(trx)
    const { rows } = await sql<{ holder: string }>`
      insert into etl.getcourse_leases as l (account, holder, run_id, stream, export_id, acquired_at, expires_at)
      values (${key}, ${holder.id}, ${holder.runId}, ${holder.stream}, null, ${new Date(at).toISOString()}::timestamptz, ${new Date(at + ttlMs).toISOString()}::timestamptz)
      on conflict (account) do update set
        holder = excluded.holder, run_id = excluded.run_id, stream = excluded.stream, export_id = null,
        acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
      where l.holder = excluded.holder
         or l.expires_at < excluded.acquired_at
         or not ${runIsRunning(sql.ref('l.run_id'))}
      returning holder`.execute(trx)
    return rows[0]?.holder === holder.id
  }
  return db.isTransaction ? take(db) : db.transaction().execute(take)
}

/** Extends our lease while we poll; false when it was lost (expired and taken by another run). */
export async function renewLease(db: Db, account: LeaseKey, holderId: string, now: number, ttlMs: number, exportId?: string): Promise<boolean> {
  const { at } = await ledgerTime(db, now)
  const res = await db
    .updateTable('etl.getcourse_leases')
    .set({ expires_at: new Date(at + ttlMs), ...(exportId ? { export_id: exportId } : {}) })
    .where('account', '=', keyOf(account))
    .where('holder', '=', holderId)
    .executeTakeFirst()
  return Number(res.numUpdatedRows) > 0
}

/**
 * Gives the slot up. With `exportId`, only while the lease still names that export (a holder that
 * already took the slot again for its next export keeps it). True when a lease was released.
 */
export async function releaseLease(db: Db, account: LeaseKey, holderId: string, exportId?: string): Promise<boolean> {
  let query = db.deleteFrom('etl.getcourse_leases').where('account', '=', keyOf(account)).where('holder', '=', holderId)
  if (exportId !== undefined) query = query.where('export_id', '=', exportId)
  const res = await query.executeTakeFirst()
  return Number(res.numDeletedRows) > 0
}
