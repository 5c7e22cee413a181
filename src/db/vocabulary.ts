import { sql } from 'kysely'
import type { Db } from './index.js'

/** A status value the vocabulary does not know, as `etl.unknown_statuses` lists it. */
export interface UnknownStatus {
  source: string
  account: string
  /** e.g. `kwiga.payments` */
  table: string
  /** e.g. `status` */
  column: string
  /** The value as the source sent it. */
  value: string
  rows: number
  lastSyncedAt: Date
}

/**
 * Status values kept raw because the vocabulary does not know them (their `*_code` is NULL), from the
 * view `etl.unknown_statuses`. `sinceRun` keeps those written since that run (`etl.runs.id`) started
 * (both on the database's clock), `source` / `account` narrow it. For `status` and the runner's warning.
 */
export async function unknownStatuses(db: Db, filter: { source?: string; account?: string; sinceRun?: string } = {}): Promise<UnknownStatus[]> {
  const { rows } = await sql<{ source: string; account: string; table_name: string; column_name: string; value: string; rows: string; last_synced_at: Date }>`
    select source, account, table_name, column_name, value, rows, last_synced_at from etl.unknown_statuses
    where (${filter.source ?? null}::text is null or source = ${filter.source ?? null})
      and (${filter.account ?? null}::text is null or account = ${filter.account ?? null})
      and (${filter.sinceRun ?? null}::bigint is null or last_synced_at >= (select started_at from etl.runs where id = ${filter.sinceRun ?? null}::bigint))
    order by source, account, table_name, column_name, value`.execute(db)
  return rows.map((r) => ({
    source: r.source,
    account: r.account,
    table: r.table_name,
    column: r.column_name,
    value: r.value,
    rows: Number(r.rows),
    lastSyncedAt: new Date(r.last_synced_at),
  }))
}

/** One line for a run's message and log: `unknown status values kept raw: kwiga.payments.status "7" (2 rows)`. */
export function describeUnknownStatuses(list: readonly UnknownStatus[]): string {
  const items = list.slice(0, 5).map((u) => `${u.table}.${u.column} ${JSON.stringify(u.value)} (${u.rows} row${u.rows === 1 ? '' : 's'})`)
  return `unknown status values kept raw: ${items.join(', ')}${list.length > 5 ? `, and ${list.length - 5} more` : ''}`
}
