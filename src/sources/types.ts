import type { ZodType } from 'zod'
import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import type { Db, Warehouse } from '../db/index.js'
import type { ListingOps, RejectInput, TableWrite } from '../contract.js'
import type { SeenFields } from '../db/schema-changes.js'
import type { Logger } from '../log.js'
import type { OperatorFacts } from './operator.js'

/** What the user asked `sync` for. Dates are whole days `YYYY-MM-DD`, `to` inclusive. */
export interface SyncOptions {
  source?: string
  accounts?: readonly string[]
  streams?: readonly string[]
  from?: string
  to?: string
  full?: boolean
  /** GetCourse: keep every downloaded export as gzip (config `archiveExports`, `--no-archive`). */
  archive?: boolean
}

/** A stream's saved cursor: whatever its `stateSchema` describes. */
export type { RejectInput } from '../contract.js'

export type StreamState = Record<string, unknown>

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

export interface StreamContext<S = StreamState> {
  readonly warehouse: Warehouse
  readonly db: Db
  readonly config: Config
  readonly log: Logger
  readonly signal: AbortSignal
  readonly clock: Clock
  readonly options: SyncOptions
  /** This stream's row in `etl.runs`. */
  readonly runId: string
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

/** A source folder's `index.ts` exports one of these. */
export interface SourceModule {
  readonly name: string
  /** All stream names, in the order they run within one account. */
  readonly streamNames: readonly string[]
  /** Streams for every configured account, honouring `options.accounts` / `options.streams`. */
  // Each stream has its own state type; the runner handles them alike.
  streams(config: Config, options: SyncOptions, deps: SourceDeps): Stream<any>[]
  /** Extra facts for `status`, per configured account (e.g. GetCourse budget and pending exports). */
  accountStatus?(db: Db, config: Config, now: number): Promise<Record<string, Record<string, unknown>>>
  /** Facts for the operator commands (status --check, check, plan): sources/<name>/operator.ts. */
  readonly operator?: OperatorFacts
}
