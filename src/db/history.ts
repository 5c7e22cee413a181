import { sql } from 'kysely'
import type { Db } from './index.js'
import type { Selectable } from 'kysely'
import type { RunsTable } from './schema.js'
import { quoteTable } from './upsert.js'

/** Queries behind the operator commands: run history, rejects, stream state, table sizes, check marks. */

export interface RunRecord {
  id: string
  source: string
  account: string
  stream: string
  status: string
  startedAt: string
  finishedAt: string | null
  seconds: number | null
  read: number
  inserted: number
  updated: number
  unchanged: number
  rejected: number
  markedDeleted: number
  undeleted: number
  requests: number
  errorCode: string | null
  message: string | null
}

export async function listRuns(db: Db, filter: { account?: string; stream?: string; source?: string; limit: number }): Promise<RunRecord[]> {
  let q = db.selectFrom('etl.runs').selectAll().orderBy('id', 'desc').limit(filter.limit)
  if (filter.account) q = q.where('account', '=', filter.account)
  if (filter.stream) q = q.where('stream', '=', filter.stream)
  if (filter.source) q = q.where('source', '=', filter.source)
  return (await q.execute()).map(toRunRecord)
}

/** The last finished run of every stream, with its counts (status: rows changed by the last run). */
export async function lastRunCounts(db: Db): Promise<Map<string, RunRecord>> {
  const { rows } = await sql<RunsRow>`
    select distinct on (source, account, stream) * from etl.runs where status <> 'running' order by source, account, stream, id desc`.execute(db)
  return new Map(rows.map((r) => [streamKey(r.source, r.account, r.stream), toRunRecord(r)]))
}

type RunsRow = Selectable<RunsTable>

function toRunRecord(r: RunsRow): RunRecord {
  const started = new Date(r.started_at)
  const finished = r.finished_at ? new Date(r.finished_at) : null
  return {
    id: String(r.id),
    source: r.source,
    account: r.account,
    stream: r.stream,
    status: r.status,
    startedAt: started.toISOString(),
    finishedAt: finished?.toISOString() ?? null,
    seconds: finished ? Math.round((finished.getTime() - started.getTime()) / 100) / 10 : null,
    read: Number(r.rows_read),
    inserted: Number(r.rows_inserted),
    updated: Number(r.rows_updated),
    unchanged: Number(r.rows_unchanged),
    rejected: Number(r.rows_rejected),
    markedDeleted: Number(r.rows_marked_deleted),
    undeleted: Number(r.rows_undeleted),
    requests: Number(r.requests),
    errorCode: r.error_code,
    message: r.message,
  }
}

export const streamKey = (source: string, account: string, stream: string) => `${source}\u0000${account}\u0000${stream}`

export interface RejectRecord {
  id: string
  source: string
  account: string
  stream: string
  runId: string | null
  createdAt: string
  recordKey: string | null
  reason: string
}

export async function listRejects(db: Db, filter: { since?: string; account?: string; stream?: string; limit: number }): Promise<RejectRecord[]> {
  let q = db
    .selectFrom('etl.rejects')
    .select(['id', 'source', 'account', 'stream', 'run_id', 'created_at', 'record_key', 'reason'])
    .orderBy('id', 'desc')
    .limit(filter.limit)
  if (filter.since) q = q.where('created_at', '>=', sql<Date>`${filter.since}::date`)
  if (filter.account) q = q.where('account', '=', filter.account)
  if (filter.stream) q = q.where('stream', '=', filter.stream)
  const rows = await q.execute()
  return rows.map((r) => ({
    id: String(r.id),
    source: r.source,
    account: r.account,
    stream: r.stream,
    runId: r.run_id === null ? null : String(r.run_id),
    createdAt: new Date(r.created_at).toISOString(),
    recordKey: r.record_key,
    reason: r.reason,
  }))
}

export interface StateRecord {
  source: string
  account: string
  stream: string
  state: unknown
  runId: string | null
  updatedAt: string
}

export async function listStates(db: Db, filter: { account?: string; stream?: string }): Promise<StateRecord[]> {
  let q = db.selectFrom('etl.stream_state').selectAll().orderBy('source').orderBy('account').orderBy('stream')
  if (filter.account) q = q.where('account', '=', filter.account)
  if (filter.stream) q = q.where('stream', '=', filter.stream)
  const rows = await q.execute()
  return rows.map((r) => ({
    source: r.source,
    account: r.account,
    stream: r.stream,
    state: typeof r.state === 'string' ? JSON.parse(r.state) : r.state,
    runId: r.run_id === null ? null : String(r.run_id),
    updatedAt: new Date(r.updated_at).toISOString(),
  }))
}

/** Forgets a stream's cursor: its next run reads it completely, as on its first run. */
export async function resetState(db: Db, key: { source: string; account: string; stream: string }): Promise<boolean> {
  const res = await db
    .deleteFrom('etl.stream_state')
    .where('source', '=', key.source)
    .where('account', '=', key.account)
    .where('stream', '=', key.stream)
    .executeTakeFirst()
  return Number(res.numDeletedRows) > 0
}

/** Rows of `table` that belong to `account` and are present upstream (`deleted_at is null` where the table has it). */
export async function countAccountRows(db: Db, table: string, accountColumn: string, account: string): Promise<number | null> {
  const [schema, name] = table.split('.') as [string, string]
  const { rows: cols } = await sql<{ column_name: string }>`
    select column_name from information_schema.columns where table_schema = ${schema} and table_name = ${name} and column_name in (${accountColumn}, 'deleted_at')`.execute(
    db,
  )
  if (!cols.some((c) => c.column_name === accountColumn)) return null
  const present = cols.some((c) => c.column_name === 'deleted_at') ? sql` and deleted_at is null` : sql``
  const { rows } = await sql<{ n: number }>`
    select count(*)::int as n from ${sql.raw(quoteTable(table))} where ${sql.ref(accountColumn)} = ${account}${present}`.execute(db)
  return rows[0]?.n ?? 0
}

/** Rejects that arrived after the mark `name` (and the new mark: the highest reject id now), per stream. */
export async function rejectsSinceMark(
  db: Db,
  name: string,
): Promise<{ mark: string | null; top: string; grew: { source: string; account: string; stream: string; n: number }[] }> {
  const mark = await db.selectFrom('etl.check_marks').select('last_reject_id').where('name', '=', name).executeTakeFirst()
  const { rows: top } = await sql<{ top: string }>`select coalesce(max(id), 0)::text as top from etl.rejects`.execute(db)
  const since = mark ? String(mark.last_reject_id) : null
  const grew =
    since === null
      ? []
      : (
          await sql<{ source: string; account: string; stream: string; n: number }>`
          select source, account, stream, count(*)::int as n from etl.rejects where id > ${since}::bigint group by 1, 2, 3 order by 1, 2, 3`.execute(db)
        ).rows
  return { mark: since, top: top[0]!.top, grew }
}

export async function saveMark(db: Db, name: string, lastRejectId: string): Promise<void> {
  await sql`
    insert into etl.check_marks (name, checked_at, last_reject_id) values (${name}, now(), ${lastRejectId}::bigint)
    on conflict (name) do update set checked_at = now(), last_reject_id = excluded.last_reject_id`.execute(db)
}
