/**
 * The bottom layer: what a source hands the runner and the warehouse writes. It imports nothing of
 * the project, so the database layer (`db/`) and every source depend on it and never on each other.
 *
 * `SourceTables` is filled by the sources (a module augmentation in `sources/index.ts`): the
 * warehouse's `Database` type is the etl tables plus these, composed in that one place.
 */

// biome-ignore lint/suspicious/noEmptyInterface: filled in by the sources through declaration merging
export interface SourceTables {}

/** Rows for one table, written by the runner in one statement per chunk. */
export interface TableWrite {
  /** Schema-qualified table, e.g. `getcourse.users`. */
  table: string
  /** Conflict key (the primary key), e.g. `['account', 'id']`. */
  key: readonly string[]
  rows: Record<string, unknown>[]
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
 * One unit of loading. The runner writes every table of a batch, its rejects and the new stream
 * state in ONE transaction: a crash either keeps all of it or none of it.
 */
