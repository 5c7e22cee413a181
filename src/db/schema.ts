import type { ColumnType, Generated as KyselyGenerated } from 'kysely'

/** kysely's Generated<ColumnType<S, I, U>> selects as the ColumnType object itself; this one unwraps it. */
type Generated<T> = [T] extends [ColumnType<infer S, infer I, infer U>] ? ColumnType<S, I | undefined, U> : KyselyGenerated<T>
type Timestamp = ColumnType<Date, Date | string, Date | string>
type Json = ColumnType<unknown, string, string>
/** bigint columns arrive from `pg` as strings; we insert numbers or strings. */
type Int8 = ColumnType<string, number | string | bigint, number | string | bigint>

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'deferred' | 'aborted'

export interface RunsTable {
  id: Generated<string>
  invocation: string
  source: string
  account: string
  stream: string
  status: RunStatus
  started_at: Generated<Timestamp>
  heartbeat_at: Generated<Timestamp>
  finished_at: Timestamp | null
  rows_read: Generated<Int8>
  rows_inserted: Generated<Int8>
  rows_updated: Generated<Int8>
  rows_unchanged: Generated<Int8>
  rows_deleted: Generated<Int8>
  rows_marked_deleted: Generated<Int8>
  rows_undeleted: Generated<Int8>
  rows_rejected: Generated<Int8>
  requests: Generated<number>
  message: string | null
  error_code: string | null
  resume_at: Timestamp | null
  details: Json | null
  pid: number | null
  host: string | null
}

export interface StreamStateTable {
  source: string
  account: string
  stream: string
  state: Json
  run_id: Int8 | null
  updated_at: Generated<Timestamp>
}

export interface RejectsTable {
  id: Generated<Int8>
  run_id: Int8 | null
  source: string
  account: string
  stream: string
  reason: string
  record_key: string | null
  raw: Json | null
  created_at: Generated<Timestamp>
}

export interface SchemaMigrationsTable {
  id: number
  name: string
  applied_at: Generated<Timestamp>
}

/** A complete read of a scope in progress (src/db/listings.ts, migrations/0005_fidelity.sql). */
export interface ListingsTable {
  id: string
  tbl: string
  source: string
  account: string
  stream: string
  key_columns: string[]
  started_at: Generated<Timestamp>
  unkeyed: Generated<number>
  closed_at: Timestamp | null
}

/** Keys a listing has read so far. */
export interface ListingKeysTable {
  listing: string
  tbl: string
  key: string
}

/** A scheduler replica (migrations/0008_replicas.sql, src/db/replicas.ts). */
export interface ReplicasTable {
  id: string
  host: string
  pid: number
  started_at: Generated<Timestamp>
  heartbeat_at: Generated<Timestamp>
  http: string | null
  doing: Generated<Json>
}

/** Configured accounts with their zones (src/db/accounts.ts, migrations/0006_analyst.sql). */
export interface AccountsTable {
  source: string
  account: string
  time_zone: string
  currency: string | null
  configured: Generated<boolean>
  first_sync_at: Timestamp | null
  last_sync_at: Timestamp | null
  last_success_at: Timestamp | null
  updated_at: Generated<Timestamp>
}

/** Column titles and item fields as first seen (migrations/0007_operator.sql). */
export interface SchemaChangesTable {
  id: Generated<Int8>
  source: string
  account: string
  stream: string
  scope: string
  name: string
  baseline: Generated<boolean>
  first_seen_at: Generated<Timestamp>
  run_id: Int8 | null
}

/** What `status --check` saw last time. */
export interface CheckMarksTable {
  name: string
  checked_at: Generated<Timestamp>
  last_reject_id: Generated<Int8>
}

/** The etl bookkeeping tables; they join `Database` (contract.ts) by declaration merging. */
declare module '../contract.js' {
  interface EtlTables {
    'etl.accounts': AccountsTable
    'etl.runs': RunsTable
    'etl.stream_state': StreamStateTable
    'etl.rejects': RejectsTable
    'etl.schema_migrations': SchemaMigrationsTable
    'etl.listings': ListingsTable
    'etl.listing_keys': ListingKeysTable
    'etl.replicas': ReplicasTable
    'etl.schema_changes': SchemaChangesTable
    'etl.check_marks': CheckMarksTable
  }
}

/** Every table of the warehouse: the etl bookkeeping and each source's tables (see contract.ts). */
export type { Database, EtlTables } from '../contract.js'
