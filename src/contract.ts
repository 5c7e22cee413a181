/**
 * The bottom layer: what a source hands the runner, what the runner hands a stream, and what the
 * warehouse writes. It imports nothing of the project (only types of kysely, zod and pino), so the
 * database layer (`db/`), the core (config, sync, status, dump, cli) and every source depend on it
 * and never on each other.
 *
 * Three interfaces are filled by declaration merging, each in one place: `EtlTables` by
 * `db/schema.ts`, `SourceTables` and `SourceSections` by `sources/index.ts`. The warehouse's
 * `Database` type is the etl tables plus the sources' tables; `Config` holds one section per source.
 */
import type { Kysely } from 'kysely'
import type { Logger } from 'pino'
import type { ZodType } from 'zod'

// biome-ignore lint/suspicious/noEmptyInterface: filled in by the sources through declaration merging
export interface SourceTables {}

// biome-ignore lint/suspicious/noEmptyInterface: filled in by db/schema.ts through declaration merging
export interface EtlTables {}

/** Every table of the warehouse: the etl bookkeeping and each source's tables. */
export interface Database extends EtlTables, SourceTables {}

/** The warehouse handle a stream queries with (a transaction inside `onCommit`). */
export type Db = Kysely<Database>

/** Each source's config section (`config[source.name]`, a list of accounts); filled by sources/index.ts. */
// biome-ignore lint/suspicious/noEmptyInterface: filled in by the sources through declaration merging
export interface SourceSections {}

/** Rows for one table, written by the runner in one statement per chunk. */
export interface TableWrite {
  /** Schema-qualified table, e.g. `getcourse.users`. */
  table: string
  /** Conflict key (the primary key), e.g. `['account', 'id']`. */
  key: readonly string[]
  rows: Record<string, unknown>[]
  /**
   * The rows already encoded for COPY, instead of `rows` (which is then empty): what a stream that
   * normalizes in a worker thread hands over, so that the main thread only streams bytes. Only when
   * `StreamContext.copyIn` says the warehouse takes COPY; not with `replace`.
   */
  encoded?: EncodedRows
  /**
   * Replace whole child sets: rows of `table` whose `columns` equal one of `keys` and that are not in
   * `rows` are deleted (a tag removed from a contact disappears). `keys` lists every parent re-read,
   * including parents that now have no children.
   */
  replace?: {
    columns: readonly string[]
    keys: unknown[][]
    /**
     * `mark`: rows of the parents that are not in `rows` get `deleted_at` instead of being deleted
     * (tables that follow the deletion convention, README "Deletions"). @default 'delete'
     */
    mode?: 'delete' | 'mark'
  }
  /**
   * These rows belong to a complete listing in progress (`etl.listings`): their keys are recorded
   * so that the listing, once complete, can tell which stored rows it did not contain.
   */
  listing?: string
}

/** Rows as COPY text (`db/copy-text.ts` `encodeRows`), for `TableWrite.encoded`. */
export interface EncodedRows {
  /** The columns of every line, in order (no `synced_at` / `deleted_at`: the upsert sets those). */
  columns: string[]
  count: number
  /** UTF-8 COPY text (text format), one line per row, in row order. */
  text: Uint8Array
  /** Key values as text, row by row: `keys[i * key.length + j]` is key column j of row i. */
  keys: (string | null)[]
}

/** Key rows read without writing them (e.g. a record rejected after its key was read). */
export interface ListingSeen {
  listing: string
  table: string
  key: readonly string[]
  keys: unknown[][]
}

/** Records of a listing that could not be keyed: the listing then marks nothing. */
export interface ListingUnkeyed {
  listing: string
  table: string
  key: readonly string[]
  count: number
}

/** The listing read all of `scope` (column → value) in `table`. */
export interface ListingComplete {
  listing: string
  table: string
  key: readonly string[]
  scope: Record<string, unknown>
}

export interface ListingOps {
  seen?: ListingSeen[]
  unkeyed?: ListingUnkeyed[]
  complete?: ListingComplete[]
  /** Listings given up (a plan replaced, a window split): their keys are dropped, nothing is marked. */
  abandon?: string[]
}

/** A record that could not be normalized: quarantined in `etl.rejects` with its reason. */
export interface RejectInput {
  reason: string
  raw: unknown
  /** The record's id when one could be read, for searching. */
  recordKey?: string | null
}

/**
 * The one way a normalizer answers for a record, in both sources: the row, or the reject the
 * runner quarantines (`Batch.rejects`). A record that cannot be read is a value handed on, never
 * smuggled among rows nor left to escape as an exception.
 */
export type Normalized<T, R = unknown> = { ok: true; row: T } | Rejected<R>

/** A record quarantined with its reason: a `RejectInput` marked as the failed side of `Normalized`. */
export interface Rejected<R = unknown> extends RejectInput {
  ok: false
  raw: R
  recordKey: string | null
}

/** A rejected record: why, the record as read, and its id when one could be read. */
export function rejected<R>(reason: string, raw: R, recordKey: string | null = null): Rejected<R> {
  return { ok: false, reason, raw, recordKey }
}

/** What the user asked `sync` for. Dates are whole days `YYYY-MM-DD`, `to` inclusive. */
export interface SyncOptions {
  source?: string
  accounts?: readonly string[]
  streams?: readonly string[]
  from?: string
  to?: string
  full?: boolean
  /** Keep every downloaded export file (config `archiveExports`, `--no-archive`). */
  archive?: boolean
}

/** A stream's saved cursor: whatever its `stateSchema` describes. */
export type StreamState = Record<string, unknown>

/**
 * One unit of loading. The runner writes every table of a batch, its rejects and the new stream
 * state in ONE transaction: a crash either keeps all of it or none of it.
 */
export interface Batch<S = StreamState> {
  writes: TableWrite[]
  rejects?: RejectInput[]
  /** Records read from the source for this batch (rows of an export, items of a page). */
  read: number
  /** The stream's cursor after this batch; saved only when the batch commits. */
  state?: S
  /** Deletion detection: keys seen without a write, unkeyed records, listings completed or given up (README "Deletions"). */
  listings?: ListingOps
  /** Column titles / item fields the source sent, per scope: names new to a scope are recorded in etl.schema_changes and logged once. */
  fields?: SeenFields[]
  /** Runs inside the batch transaction after the writes (e.g. mark an export id as loaded). */
  onCommit?: (trx: Db) => Promise<void>
}

export interface Progress {
  /** Short phrase: `export 123 forming`, `page 4/20`. */
  phase?: string
  done?: number
  total?: number
}

/** Time for everything that waits: the system clock in production, a virtual one in tests and benches. */
export interface Clock {
  now(): number
  sleep(ms: number, signal?: AbortSignal): Promise<void>
  /** Mark work in flight (an HTTP request, a query): a virtual clock does not advance meanwhile. */
  busy<T>(work: Promise<T>): Promise<T>
}

export type { Logger }

/** The settings of the config every source may read (its own section aside). */
export interface RunSettings {
  /** Rows per load transaction. */
  readonly batchSize: number
  /** Where scratch files and archives live. */
  readonly dataDir: string
  /** Keep downloaded export files under `dataDir/exports`. */
  readonly archiveExports: boolean
  /** The default IANA zone (accounts without one of their own). */
  readonly timezone: string
  readonly http: { readonly headersTimeoutSeconds: number; readonly idleTimeoutSeconds: number }
}

export interface StreamContext<S = StreamState> {
  /** The warehouse, for what a stream reads or keeps beside its batches (ledgers, leases, ids loaded). */
  readonly db: Db
  readonly config: RunSettings
  readonly log: Logger
  readonly signal: AbortSignal
  readonly clock: Clock
  readonly options: SyncOptions
  /** This stream's row in `etl.runs` (run bookkeeping goes through `db/runs.ts`). */
  readonly runId: string
  /** The warehouse takes COPY (a server): a stream may hand over `TableWrite.encoded` rows. */
  readonly copyIn: boolean
  /**
   * The state saved by the last committed batch of this stream, checked against its `stateSchema`;
   * null on the first run, or when the saved state does not fit (an older version: the stream then
   * starts fresh, and the runner says so in the log).
   */
  readonly state: S | null
  /**
   * Wait for `work` without holding a load slot: while a stream only sleeps (an export forming,
   * budget, the export slot), other accounts may load in its place. Resolves as `work` does, once a
   * slot is free again.
   */
  idle<T>(work: Promise<T>): Promise<T>
  /** Count API requests spent (reported in `etl.runs.requests`). */
  countRequests(n?: number): void
  progress(p: Progress): void
}

export interface Stream<S = StreamState> {
  readonly source: string
  /** Our account / cabinet name (config `name`). */
  readonly account: string
  readonly name: string
  /** What the stream's saved state looks like; the runner validates it before `run` sees it. */
  readonly stateSchema?: ZodType<S>
  run(ctx: StreamContext<S>): AsyncIterable<Batch<S>>
}

export interface SourceDeps {
  clock: Clock
  log: Logger
}

/** One account of a source's config section: `name` is ours, stored in every row. */
export interface SourceAccount {
  readonly name: string
}

/** What `load-file` asks a source's file loader for. */
export interface FileRequest {
  /** Configured account name. */
  account: string
  stream: string
  file: string
  /** Values of the loader's own flags (`options`), by commander's camel-case name. */
  options: Record<string, unknown>
}

/** An extra `load-file` flag a loader takes, e.g. `--group-id <n>`. */
export interface FileOption {
  flags: string
  description: string
  /** Checks and converts the value; throw an Error with a one-line message to refuse it. */
  parse?(value: string): unknown
}

/** Loads a saved export file through the sync's parser and normalizer (`load-file`). */
export interface FileLoader {
  /** What a saved file may hold (`load-file --stream`). */
  readonly streams: readonly string[]
  readonly options?: readonly FileOption[]
  /** A source of one stream that reads the file; the runner runs it like a sync. */
  source(request: FileRequest): SourceModule
}

/**
 * A source folder's `index.ts` exports one of these, and `sources/index.ts` lists it: everything the
 * core knows of a source comes from here. `A` is one account of its config section, `C` the part of
 * the config its hooks read (the runner passes the whole config, which holds every section).
 */
export interface SourceModule<A extends SourceAccount = any, C = any> {
  /** `--source`, `etl.runs.source`, and the name of its config section. */
  readonly name: string
  /** As people write it (`--help`). */
  readonly title?: string
  /** All stream names, in the order they run within one account. */
  readonly streamNames: readonly string[]
  /** One account of the config section `name` (a list); absent: the source has no section. */
  readonly accountSchema?: ZodType<A>
  /** Values of an account never to be logged (keys, tokens): redacted everywhere. */
  secrets?(account: A): readonly (string | undefined)[]
  /** The zone of an account's local dates (`dump --excel` of rows with its name). */
  timeZone?(account: A): string
  /**
   * The zone the analytics views cut an account's days in (`etl.accounts.time_zone`).
   * @default timeZone, else the config's `timezone`
   */
  accountZone?(account: A): string
  /** The column holding our account name in its tables. @default 'account' */
  readonly accountColumn?: string
  /** Warehouse schemas holding its tables (`dump` may read them). @default [name] */
  readonly schemas?: readonly string[]
  /** Streams for every configured account, honouring `options.accounts` / `options.streams`. */
  // Each stream has its own state type; the runner handles them alike.
  streams(config: C, options: SyncOptions, deps: SourceDeps): Stream<any>[]
  /** Facts for `status`, per configured account (e.g. GetCourse budget and pending exports). */
  accountStatus?(db: Db, config: C, now: number): Promise<Record<string, Record<string, unknown>>>
  /** Saved export files it can load (`load-file`). */
  readonly files?: FileLoader
  /** Facts for the operator commands (status --check, check, plan): sources/<name>/operator.ts. */
  readonly operator?: OperatorFacts<C>
}

/** Names a source sent in one scope (an export's column titles, an endpoint's item fields). */
export interface SeenFields {
  scope: string
  names: readonly string[]
}

/**
 * What the operator commands (`status --check`, `check`, `plan`) need to know of a source, told by
 * the source itself (its folder's `operator.ts`), so the commands never name a source.
 */
export interface OperatorFacts<C = any> {
  /** The table a stream fills and the column holding our account name: "rows in the table now". */
  streamTable(stream: string): { table: string; accountColumn: string } | null
  /** Problems beyond run history for `status --check` (e.g. a GetCourse export pending too long), one line each. */
  problems?(db: Db, config: C, now: number): Promise<string[]>
  /** Is every configured credential accepted? As cheap as the API allows; each result says what it cost. */
  checkAccess?(db: Db, config: C, deps: { clock: Clock; log: Logger; signal: AbortSignal }): Promise<AccessCheck[]>
  /** What a sync with `options` would do per account, spending nothing. */
  plan?(db: Db, config: C, options: SyncOptions, now: number): Promise<AccountPlan[]>
}

export interface AccessCheck {
  account: string
  ok: boolean
  /** What was asked: `POST /pl/api/account/groups`. */
  what: string
  /** Requests it cost (budget / rate limit), retries included. */
  requests: number
  detail: string
}

export interface AccountPlan {
  account: string
  /** Per stream: exports or pages it would ask for (null when the API gives no way to know in advance). */
  streams: { stream: string; exports: number | null; requests: number | null; note?: string }[]
  exports: number | null
  requests: number | null
  /** Budget windows needed (GetCourse: 100 requests / 2 h); null for a source without a budget. */
  budgetWindows: number | null
  windowSeconds: number | null
  /** Expected finish (ISO), from the budget and the readiness of recent exports; null when unknown. */
  expectedFinish: string | null
  notes: string[]
}
