import { sql } from 'kysely'
import type { Db } from '../../db/index.js'
import { runIsRunning } from '../../db/runs.js'
import { toPgJson } from '../../db/upsert.js'
import { ROWS_HISTORY, type ReadinessSample } from './poll-schedule.js'
import type { ExportStatus } from './tables.js'
import type { ExportWindow, FilterField } from './windows.js'

/**
 * `etl.getcourse_exports`: every export we started. There is no endpoint that lists exports
 * (reference §3.2), so an id not written here is lost; a pending one is collected by a later run.
 */
export interface ExportRecord {
  account: string
  exportId: string
  stream: string
  window: ExportWindow
  filters: Record<string, string>
  startedAt: number
  status: ExportStatus
  firstWaitMs: number | null
  lastPendingAt: number | null
}

interface ExportRow {
  account: string
  export_id: string
  stream: string
  group_id: string | null
  filters: unknown
  filter_field: string
  window_from: string | null
  window_to: string | null
  started_at: Date | string
  status: ExportStatus
  first_wait_ms: number | null
  last_pending_at: Date | string | null
}

const time = (v: Date | string | null) => (v === null ? null : new Date(v).getTime())

function toRecord(r: ExportRow): ExportRecord {
  const window: ExportWindow = { field: r.filter_field as FilterField, from: r.window_from ?? '', to: r.window_to ?? '' }
  if (r.group_id !== null) window.groupId = String(r.group_id)
  return {
    account: r.account,
    exportId: String(r.export_id),
    stream: r.stream,
    window,
    filters: (typeof r.filters === 'string' ? JSON.parse(r.filters) : r.filters) as Record<string, string>,
    startedAt: time(r.started_at)!,
    status: r.status,
    firstWaitMs: r.first_wait_ms,
    lastPendingAt: time(r.last_pending_at),
  }
}

const SELECT = sql`account, export_id::text as export_id, stream, group_id::text as group_id, filters, filter_field,
  window_from::text as window_from, window_to::text as window_to, started_at, status, first_wait_ms, last_pending_at`

export interface StartedExport {
  account: string
  exportId: string
  stream: string
  window: ExportWindow
  filters: Record<string, string>
  startedAt: number
  firstWaitMs: number
  requests: number
  runId: string
}

/** Written right after the start answer, before anything else can fail. */
export async function recordStarted(db: Db, e: StartedExport): Promise<ExportRecord> {
  await db
    .insertInto('etl.getcourse_exports')
    .values({
      account: e.account,
      export_id: e.exportId,
      stream: e.stream,
      group_id: e.window.groupId ?? null,
      filters: toPgJson(e.filters),
      filter_field: e.window.field,
      window_from: e.window.from,
      window_to: e.window.to,
      started_at: new Date(e.startedAt),
      first_wait_ms: Math.round(e.firstWaitMs),
      requests: e.requests,
      run_id: e.runId,
    })
    .execute()
  return {
    account: e.account,
    exportId: e.exportId,
    stream: e.stream,
    window: e.window,
    filters: e.filters,
    startedAt: e.startedAt,
    status: 'pending',
    firstWaitMs: e.firstWaitMs,
    lastPendingAt: null,
  }
}

/**
 * Exports not yet loaded (pending or ready), oldest first; optionally of one stream only, and
 * optionally only those whose run is gone (a running run collects its own).
 */
export async function openExports(db: Db, account: string, options: { stream?: string; orphaned?: boolean } = {}): Promise<ExportRecord[]> {
  const { stream, orphaned } = options
  const { rows } = await sql<ExportRow>`
    select ${SELECT} from etl.getcourse_exports e
    where account = ${account} and status in ('pending', 'ready') ${stream ? sql`and stream = ${stream}` : sql``}
      ${orphaned ? sql`and not ${runIsRunning(sql.ref('e.run_id'))}` : sql``}
    order by started_at, export_id`.execute(db)
  return rows.map(toRecord)
}

/** A check spent on this export (start attempts are counted when it is recorded). */
export async function countCheck(db: Db, account: string, exportId: string, pendingAt: number | null): Promise<void> {
  await db
    .updateTable('etl.getcourse_exports')
    .set((eb) => ({ requests: eb('requests', '+', 1), ...(pendingAt !== null ? { last_pending_at: new Date(pendingAt) } : {}) }))
    .where('account', '=', account)
    .where('export_id', '=', exportId)
    .execute()
}

export async function markReady(db: Db, account: string, exportId: string, at: number): Promise<void> {
  await db
    .updateTable('etl.getcourse_exports')
    .set({ status: 'ready', ready_at: sql`coalesce(ready_at, ${new Date(at).toISOString()}::timestamptz)` })
    .where('account', '=', account)
    .where('export_id', '=', exportId)
    .where('status', 'in', ['pending', 'ready'])
    .execute()
}

export async function markFailed(db: Db, account: string, exportId: string, error: string): Promise<void> {
  await db
    .updateTable('etl.getcourse_exports')
    .set({ status: 'failed', error: error.slice(0, 2000) })
    .where('account', '=', account)
    .where('export_id', '=', exportId)
    .execute()
}

/** Runs in the transaction of the export's last batch, with its rows and the stream state. */
export async function markLoaded(trx: Db, account: string, exportId: string, rows: number, at: number): Promise<void> {
  await trx
    .updateTable('etl.getcourse_exports')
    .set({ status: 'loaded', rows, loaded_at: new Date(at), error: null })
    .where('account', '=', account)
    .where('export_id', '=', exportId)
    .execute()
}

/** A loaded export of the same filters since `since`: another process just did this window. */
export async function loadedSince(
  db: Db,
  account: string,
  stream: string,
  window: ExportWindow,
  filters: Record<string, string>,
  since: number,
): Promise<boolean> {
  const row = await db
    .selectFrom('etl.getcourse_exports')
    .select('export_id')
    .where('account', '=', account)
    .where('stream', '=', stream)
    .where('status', '=', 'loaded')
    .where('loaded_at', '>=', new Date(since))
    .where(sql<boolean>`filters = ${toPgJson(filters)}::jsonb`)
    .where(sql<boolean>`group_id is not distinct from ${window.groupId ?? null}::bigint`)
    .executeTakeFirst()
  return Boolean(row)
}

/** Readiness of the account's recent exports, newest first, for timing the first check. */
export async function readinessHistory(db: Db, account: string, limit = ROWS_HISTORY): Promise<ReadinessSample[]> {
  const { rows } = await sql<{
    stream: string
    ready_ms: number
    pending_ms: number | null
    rows: number
    days: number | null
    field: string
    from: string | null
    to: string | null
    group_id: string | null
  }>`
    select stream,
      (extract(epoch from ready_at - started_at) * 1000)::float8 as ready_ms,
      (extract(epoch from last_pending_at - started_at) * 1000)::float8 as pending_ms,
      rows,
      (window_to - window_from + 1) as days,
      filter_field as field, to_char(window_from, 'YYYY-MM-DD') as "from", to_char(window_to, 'YYYY-MM-DD') as "to", group_id::text as group_id
    from etl.getcourse_exports
    where account = ${account} and status = 'loaded' and ready_at is not null and rows is not null
    order by ready_at desc
    limit ${limit}`.execute(db)
  return rows.map((r) => ({
    stream: r.stream,
    readyMs: Number(r.ready_ms),
    pendingMs: r.pending_ms === null ? null : Number(r.pending_ms),
    rows: Number(r.rows),
    days: r.days === null ? null : Number(r.days),
    ...(r.from !== null && r.to !== null ? { window: { field: r.field, from: r.from, to: r.to, groupId: r.group_id } } : {}),
  }))
}

/**
 * Mean requests per loaded export (start + checks; the ready check is the download) over the
 * account's last `recent` loaded exports, for the `status` command. Null when nothing was loaded.
 */
export async function averageRequestsPerExport(db: Db, account: string, recent = 200): Promise<number | null> {
  const { rows } = await sql<{ avg: number | string | null }>`
    select avg(requests)::float8 as avg from (
      select requests from etl.getcourse_exports
      where account = ${account} and status = 'loaded'
      order by loaded_at desc limit ${recent}) recent`.execute(db)
  const avg = rows[0]?.avg
  return avg === null || avg === undefined ? null : Number(avg)
}
