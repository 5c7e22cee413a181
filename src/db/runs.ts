import { hostname } from 'node:os'
import { sql } from 'kysely'
import type { Db } from './index.js'
import type { RunStatus } from './schema.js'
import { toPgJson } from './upsert.js'
import type { RejectInput } from '../sources/types.js'

export interface StreamKey {
  source: string
  account: string
  stream: string
}

export interface RunCounts {
  read: number
  inserted: number
  updated: number
  unchanged: number
  deleted: number
  rejected: number
  requests: number
}

export const emptyCounts = (): RunCounts => ({ read: 0, inserted: 0, updated: 0, unchanged: 0, deleted: 0, rejected: 0, requests: 0 })

/** Rows whose process died without finishing are closed as `aborted` once their heartbeat is stale. */
export async function closeStaleRuns(db: Db, staleSeconds = 900): Promise<number> {
  const res = await db
    .updateTable('etl.runs')
    .set({ status: 'aborted', finished_at: sql`now()`, message: 'process stopped before the run finished (no heartbeat)' })
    .where('status', '=', 'running')
    .where('heartbeat_at', '<', sql<any>`now() - make_interval(secs => ${staleSeconds})`)
    .executeTakeFirst()
  return Number(res.numUpdatedRows)
}

export async function startRun(db: Db, invocation: string, key: StreamKey): Promise<string> {
  const row = await db
    .insertInto('etl.runs')
    .values({ invocation, ...key, status: 'running', pid: process.pid, host: hostname() })
    .returning('id')
    .executeTakeFirstOrThrow()
  return String(row.id)
}

/** Add a committed batch's counts; called inside the batch transaction so counts never run ahead of data. */
export async function addRunCounts(db: Db, runId: string, c: RunCounts): Promise<void> {
  await db
    .updateTable('etl.runs')
    .set({
      rows_read: sql`rows_read + ${c.read}`,
      rows_inserted: sql`rows_inserted + ${c.inserted}`,
      rows_updated: sql`rows_updated + ${c.updated}`,
      rows_unchanged: sql`rows_unchanged + ${c.unchanged}`,
      rows_deleted: sql`rows_deleted + ${c.deleted}`,
      rows_rejected: sql`rows_rejected + ${c.rejected}`,
      requests: sql`requests + ${c.requests}`,
      heartbeat_at: sql`now()`,
    })
    .where('id', '=', runId)
    .execute()
}

export interface FinishRun {
  status: Exclude<RunStatus, 'running'>
  requests: number
  message?: string | null
  errorCode?: string | null
  resumeAt?: Date | null
  details?: Record<string, unknown> | null
}

export async function finishRun(db: Db, runId: string, f: FinishRun): Promise<void> {
  await db
    .updateTable('etl.runs')
    .set({
      status: f.status,
      finished_at: sql`now()`,
      heartbeat_at: sql`now()`,
      requests: sql`requests + ${f.requests}`,
      message: f.message ?? null,
      error_code: f.errorCode ?? null,
      resume_at: f.resumeAt ?? null,
      details: f.details ? toPgJson(f.details) : null,
    })
    .where('id', '=', runId)
    .execute()
}

export async function heartbeat(db: Db, runId: string): Promise<void> {
  await db.updateTable('etl.runs').set({ heartbeat_at: sql`now()` }).where('id', '=', runId).execute()
}

export async function getState(db: Db, key: StreamKey): Promise<Record<string, unknown> | null> {
  const row = await db
    .selectFrom('etl.stream_state')
    .select('state')
    .where('source', '=', key.source)
    .where('account', '=', key.account)
    .where('stream', '=', key.stream)
    .executeTakeFirst()
  return (row?.state as Record<string, unknown> | undefined) ?? null
}

export async function saveState(db: Db, key: StreamKey, state: Record<string, unknown>, runId: string | null): Promise<void> {
  await db
    .insertInto('etl.stream_state')
    .values({ ...key, state: toPgJson(state), run_id: runId })
    .onConflict((oc) =>
      oc.columns(['source', 'account', 'stream']).doUpdateSet({ state: (eb) => eb.ref('excluded.state'), run_id: (eb) => eb.ref('excluded.run_id'), updated_at: sql`now()` }),
    )
    .execute()
}

const MAX_RAW_CHARS = 256 * 1024

/** Store rejected records; oversized raw payloads keep an excerpt so one hostile cell cannot bloat the table. */
export async function insertRejects(db: Db, key: StreamKey, runId: string | null, rejects: readonly RejectInput[]): Promise<void> {
  if (!rejects.length) return
  const rows = rejects.map((r) => {
    let raw = toPgJson(r.raw ?? null)
    if (raw.length > MAX_RAW_CHARS) raw = toPgJson({ truncated: true, length: raw.length, excerpt: raw.slice(0, 4096) })
    return { ...key, run_id: runId, reason: r.reason.slice(0, 2000), record_key: r.recordKey == null ? null : String(r.recordKey).slice(0, 200), raw }
  })
  for (let i = 0; i < rows.length; i += 1000) await db.insertInto('etl.rejects').values(rows.slice(i, i + 1000)).execute()
}
