import { hostname } from 'node:os'
import { sql, type RawBuilder } from 'kysely'
import type pg from 'pg'
import { EtlError, type ErrorCode } from '../errors.js'
import type { Logger } from '../log.js'
import type { Db } from './index.js'
import type { RunStatus } from './schema.js'
import { toPgJson } from './upsert.js'
import type { RejectInput } from '../contract.js'

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
  /** Rows given `deleted_at`: absent from a complete listing (README "Deletions"). */
  markedDeleted: number
  /** Rows whose `deleted_at` was cleared: read again. */
  undeleted: number
  rejected: number
  requests: number
}

export const emptyCounts = (): RunCounts => ({
  read: 0,
  inserted: 0,
  updated: 0,
  unchanged: 0,
  deleted: 0,
  markedDeleted: 0,
  undeleted: 0,
  rejected: 0,
  requests: 0,
})

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

/**
 * A sync marks itself alive with a session advisory lock keyed by its invocation, held on a dedicated
 * connection until it ends. When the process dies (SIGKILL, OOM, power loss) Postgres closes the
 * connection and the lock goes with it, so the next sync sees at once that the `running` rows of that
 * invocation are dead and closes them: their export lease and pending exports are free again,
 * instead of waiting for the heartbeat to go stale (server only; the embedded database relies on the heartbeat).
 */
export interface Liveness {
  /** Aborted when the dedicated connection is lost: this sync can no longer prove it is alive. */
  readonly lost: AbortSignal
  /** `running` rows of invocations whose lock is free (their process is gone) → `aborted`. */
  closeDeadRuns(): Promise<number>
  release(): Promise<void>
}

export async function holdLiveness(pool: pg.Pool, invocation: string, log: Logger): Promise<Liveness> {
  const client = await pool.connect()
  const controller = new AbortController()
  let broken: Error | undefined
  const onError = (err: Error) => {
    broken = err
    if (!controller.signal.aborted) {
      log.warn({ err }, 'lost the database session that marks this sync as running')
      controller.abort(
        new EtlError('ABORTED', 'lost the database session that marks this sync as running; committed batches are kept, the streams resume next run', {
          cause: err,
        }),
      )
    }
  }
  client.on('error', onError)
  // The connection goes back to the pool: a later sync (the scheduler runs many in one process) must
  // not inherit this sync's listener, or each sync would leave one more behind.
  const giveBack = (err?: Error) => {
    client.off('error', onError)
    client.release(err)
  }
  const key = (param: string) => `hashtextextended('course-etl:invocation:' || ${param}, 0)`
  try {
    await client.query(`select pg_advisory_lock(${key('$1')})`, [invocation])
  } catch (err) {
    giveBack(err as Error)
    throw err
  }
  return {
    lost: controller.signal,
    async closeDeadRuns() {
      const { rows } = await client.query<{ invocation: string }>(
        `select invocation from (select distinct invocation from etl.runs where status = 'running' and invocation <> $1) c
         where pg_try_advisory_lock(${key('invocation')})`,
        [invocation],
      )
      const dead = rows.map((r) => r.invocation)
      if (!dead.length) return 0
      for (const d of dead) await client.query(`select pg_advisory_unlock(${key('$1')})`, [d])
      const res = await client.query(
        `update etl.runs set status = 'aborted', finished_at = now(), message = 'process stopped before the run finished (its database session is gone)'
         where status = 'running' and invocation = any($1::text[])`,
        [dead],
      )
      return res.rowCount ?? 0
    },
    async release() {
      if (!broken) await client.query(`select pg_advisory_unlock(${key('$1')})`, [invocation]).catch((err: Error) => (broken = err))
      giveBack(broken)
    },
  }
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
      rows_marked_deleted: sql`rows_marked_deleted + ${c.markedDeleted}`,
      rows_undeleted: sql`rows_undeleted + ${c.undeleted}`,
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

export async function saveState(db: Db, key: StreamKey, state: object, runId: string | null): Promise<void> {
  await db
    .insertInto('etl.stream_state')
    .values({ ...key, state: toPgJson(state), run_id: runId })
    .onConflict((oc) =>
      oc
        .columns(['source', 'account', 'stream'])
        .doUpdateSet({ state: (eb) => eb.ref('excluded.state'), run_id: (eb) => eb.ref('excluded.run_id'), updated_at: sql`now()` }),
    )
    .execute()
}

const MAX_RAW_CHARS = 256 * 1024
/** Deeper records are stored as a shallow summary: serializing them would overflow the stack. */
const MAX_RAW_DEPTH = 100

/** Nesting depth of arrays/objects, walked iteratively, stopping once past `limit`. */
function nestingDepth(value: unknown, limit: number): number {
  let max = 0
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length) {
    const [v, d] = stack.pop()!
    if (v === null || typeof v !== 'object') continue
    if (d + 1 > max) max = d + 1
    if (max > limit) return max
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, d + 1])
  }
  return max
}

function rawJson(raw: unknown): string {
  if (nestingDepth(raw, MAX_RAW_DEPTH) > MAX_RAW_DEPTH) {
    const shallow =
      raw && typeof raw === 'object' && !Array.isArray(raw)
        ? Object.fromEntries(
            Object.entries(raw).map(([k, v]) => [k, v !== null && typeof v === 'object' ? '[nested]' : typeof v === 'string' ? v.slice(0, 200) : v]),
          )
        : null
    return toPgJson({ truncated: true, reason: `the record nests deeper than ${MAX_RAW_DEPTH} levels`, fields: shallow })
  }
  return toPgJson(raw ?? null)
}

/** Store rejected records; oversized raw payloads keep an excerpt so one hostile cell cannot bloat the table. */
export async function insertRejects(db: Db, key: StreamKey, runId: string | null, rejects: readonly RejectInput[]): Promise<void> {
  if (!rejects.length) return
  const rows = rejects.map((r) => {
    let raw = rawJson(r.raw)
    if (raw.length > MAX_RAW_CHARS) raw = toPgJson({ truncated: true, length: raw.length, excerpt: raw.slice(0, 4096) })
    // Text columns cannot hold NUL, whatever a source put in a reason or key.
    const reason = r.reason.replaceAll('\u0000', '').slice(0, 2000)
    return { ...key, run_id: runId, reason, record_key: r.recordKey == null ? null : String(r.recordKey).replaceAll('\u0000', '').slice(0, 200), raw }
  })
  for (let i = 0; i < rows.length; i += 1000)
    await db
      .insertInto('etl.rejects')
      .values(rows.slice(i, i + 1000))
      .execute()
}

/**
 * SQL: whether the run `runId` (a column reference such as `sql.ref('l.run_id')`) is still
 * running. For a source's own tables that hold a run id (a lease, an export): what a run left
 * behind is free once its run is over.
 */
export function runIsRunning(runId: RawBuilder<unknown>): RawBuilder<boolean> {
  return sql<boolean>`exists (select 1 from etl.runs r where r.id = ${runId} and r.status = 'running')`
}

export interface LastRun {
  stream: string
  /** Status and error code of the stream's last finished run. */
  lastStatus: RunStatus
  lastCode: string | null
  /** When its last successful run started. */
  lastSuccess: Date | null
}

/** The last finished run of each of `streams` of an account (streams that never ran are absent). */
export async function lastRuns(db: Db, source: string, account: string, streams: readonly string[]): Promise<LastRun[]> {
  const { rows } = await sql<{ stream: string; last_status: RunStatus; last_code: string | null; last_success: Date | string | null }>`
    select stream,
      (array_agg(status order by id desc))[1] as last_status,
      (array_agg(error_code order by id desc))[1] as last_code,
      max(started_at) filter (where status = 'succeeded') as last_success
    from etl.runs
    where source = ${source} and account = ${account} and status <> 'running' and stream = any(${[...streams]}::text[])
    group by stream`.execute(db)
  return rows.map((r) => ({
    stream: r.stream,
    lastStatus: r.last_status,
    lastCode: r.last_code,
    lastSuccess: r.last_success === null ? null : new Date(r.last_success),
  }))
}

/**
 * A stream that reads what an earlier stream of the same account stored in this run (GetCourse
 * group_members ← groups, KWIGA course_users ← courses, contact_products ← contacts) must not
 * succeed on an incomplete input: when that stream failed in this sync, this one fails too
 * ("skipped: …", the upstream's code) instead of recording a partial load as a success.
 */
export async function requireUpstream(db: Db, runId: string, upstream: StreamKey, why: string): Promise<void> {
  const { rows } = await sql<{ status: RunStatus; error_code: string | null }>`
    select u.status, u.error_code from etl.runs me
    join etl.runs u on u.invocation = me.invocation and u.source = ${upstream.source} and u.account = ${upstream.account} and u.stream = ${upstream.stream}
    where me.id = ${runId}::bigint
    order by u.id desc limit 1`.execute(db)
  const up = rows[0]
  // A deferred upstream (budget, busy slot) is not an error: the account waits, and what it has is current.
  if (!up || (up.status !== 'failed' && up.status !== 'aborted')) return
  throw new EtlError(
    (up.error_code ?? 'ABORTED') as ErrorCode,
    `skipped: the ${upstream.stream} stream ${up.status} in this run (${up.error_code ?? 'no code'}); ${why}`,
  )
}

/**
 * Requests spent by each stream's last successful run of an account (a run that spent some, when
 * there is one): what a source without a budget expects its next run to cost (`plan`).
 */
export async function lastSuccessRequests(db: Db, source: string, account: string): Promise<Map<string, number>> {
  const { rows } = await sql<{ stream: string; requests: number | string }>`
    select distinct on (stream) stream, requests from etl.runs
    where source = ${source} and account = ${account} and status = 'succeeded'
    order by stream, (requests > 0) desc, id desc`.execute(db)
  return new Map(rows.map((r) => [r.stream, Number(r.requests)]))
}
