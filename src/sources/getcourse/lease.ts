import { sql } from 'kysely'
import type { Db } from '../../db/index.js'

/**
 * The account's single export slot (reference §3.4: "API exports are performed in a single
 * stream"), as a lease row in Postgres: every process takes it before starting an export and only
 * the holder may start one. A lease is free when it expired or its run is no longer running.
 */
export interface LeaseHolder {
  /** Unique per stream run. */
  id: string
  runId: string
  stream: string
}

export async function acquireLease(db: Db, account: string, holder: LeaseHolder, now: number, ttlMs: number): Promise<boolean> {
  const { rows } = await sql<{ holder: string }>`
    insert into etl.getcourse_leases as l (account, holder, run_id, stream, export_id, acquired_at, expires_at)
    values (${account}, ${holder.id}, ${holder.runId}, ${holder.stream}, null, ${new Date(now).toISOString()}::timestamptz, ${new Date(now + ttlMs).toISOString()}::timestamptz)
    on conflict (account) do update set
      holder = excluded.holder, run_id = excluded.run_id, stream = excluded.stream, export_id = null,
      acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
    where l.holder = excluded.holder
       or l.expires_at < excluded.acquired_at
       or not exists (select 1 from etl.runs r where r.id = l.run_id and r.status = 'running')
    returning holder`.execute(db)
  return rows[0]?.holder === holder.id
}

/** Extends our lease while we poll; false when it was lost (expired and taken by another run). */
export async function renewLease(db: Db, account: string, holderId: string, now: number, ttlMs: number, exportId?: string): Promise<boolean> {
  const res = await db
    .updateTable('etl.getcourse_leases')
    .set({ expires_at: new Date(now + ttlMs), ...(exportId ? { export_id: exportId } : {}) })
    .where('account', '=', account)
    .where('holder', '=', holderId)
    .executeTakeFirst()
  return Number(res.numUpdatedRows) > 0
}

export async function releaseLease(db: Db, account: string, holderId: string): Promise<void> {
  await db.deleteFrom('etl.getcourse_leases').where('account', '=', account).where('holder', '=', holderId).execute()
}
