import { sql } from 'kysely'
import type { Db } from '../db/index.js'

/** Runs of one process (host + pid, since it started), summed per stream and status. */
export interface ProcessRunTotals {
  source: string
  account: string
  stream: string
  status: string
  runs: number
  loaded: number
  rejected: number
  requests: number
}

export async function processRunTotals(db: Db, host: string, pid: number, since: Date): Promise<ProcessRunTotals[]> {
  const { rows } = await sql<ProcessRunTotals>`
    select source, account, stream, status, count(*)::int as runs,
      coalesce(sum(rows_inserted + rows_updated + rows_unchanged), 0)::float8 as loaded,
      coalesce(sum(rows_rejected), 0)::float8 as rejected,
      coalesce(sum(requests), 0)::float8 as requests
    from etl.runs where host = ${host} and pid = ${pid} and started_at >= ${since.toISOString()}::timestamptz
    group by 1, 2, 3, 4`.execute(db)
  return rows
}

/** Last successful finish per stream (all processes: freshness is the warehouse's). */
export async function lastSuccesses(db: Db): Promise<{ source: string; account: string; stream: string; at: Date; age: number }[]> {
  const { rows } = await sql<{ source: string; account: string; stream: string; at: Date; age: number }>`
    select source, account, stream, max(finished_at) as at, extract(epoch from now() - max(finished_at))::float8 as age
    from etl.runs where status = 'succeeded' and finished_at is not null group by 1, 2, 3`.execute(db)
  return rows.map((r) => ({ ...r, at: new Date(r.at) }))
}

/** GetCourse exports started by this process's runs that are ready: seconds from start to ready. */
export async function processExportWaits(db: Db, host: string, pid: number, since: Date): Promise<{ account: string; id: string; seconds: number }[]> {
  const { rows } = await sql<{ account: string; id: string; seconds: number }>`
    select r.account, e.export_id::text as id, extract(epoch from e.ready_at - e.started_at)::float8 as seconds
    from etl.getcourse_exports e join etl.runs r on r.id = e.run_id
    where r.host = ${host} and r.pid = ${pid} and r.started_at >= ${since.toISOString()}::timestamptz and e.ready_at is not null`.execute(db)
  return rows
}

/** Seconds ago of each GetCourse request of a school in the last `windowSeconds` (database clock). */
export async function ledgerAges(db: Db, school: string, windowSeconds: number): Promise<number[]> {
  const { rows } = await sql<{ ago: number }>`
    select extract(epoch from now() - sent_at)::float8 as ago from etl.getcourse_requests
    where account = ${school} and sent_at > now() - make_interval(secs => ${windowSeconds})`.execute(db)
  return rows.map((r) => r.ago)
}

export interface RecentRun {
  id: string
  source: string
  account: string
  stream: string
  status: string
  started_at: Date
  host: string | null
  error_code: string | null
  message: string | null
}

/** Latest runs that did not succeed (failed, aborted, deferred), newest first. */
export async function recentProblemRuns(db: Db, limit = 15): Promise<RecentRun[]> {
  const { rows } = await sql<RecentRun>`
    select id::text, source, account, stream, status, started_at, host, error_code, message from etl.runs
    where status in ('failed', 'aborted', 'deferred') order by id desc limit ${limit}`.execute(db)
  return rows
}

export interface RecentReject {
  source: string
  account: string
  stream: string
  reason: string
  record_key: string | null
  created_at: Date
}

export async function recentRejects(db: Db, limit = 15): Promise<RecentReject[]> {
  const { rows } = await sql<RecentReject>`
    select source, account, stream, reason, record_key, created_at from etl.rejects order by id desc limit ${limit}`.execute(db)
  return rows
}
