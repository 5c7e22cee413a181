import { CompiledQuery, type Kysely } from 'kysely'
import { EtlError } from '../errors.js'
import type { EncodedRows, ListingComplete, ListingOps } from '../contract.js'
import { q as quoteColumn, quoteTable, tableColumns } from './upsert.js'

/**
 * Deletion detection (README "Deletions"). A *listing* is one complete read of a scope — every row of
 * a table that the source has for an account, a group, a course. While it runs, the key of every row
 * it reads is recorded in `etl.listing_keys`, in the transaction of the batch the row came with. When
 * the source reports the listing complete, stored rows of the scope that it did not contain get
 * `deleted_at`. A listing that never completes marks nothing; a row read again is undeleted by the
 * upsert, whatever read it.
 */

export interface ListingOwner {
  source: string
  account: string
  stream: string
}

export type { ListingComplete, ListingOps, ListingSeen, ListingUnkeyed } from '../contract.js'

export interface CompleteResult {
  table: string
  marked: number
  /** Set when the listing marked nothing on purpose, with the reason. */
  skipped?: string
  /** Completed or abandoned already, by another run holding the same listing: nothing marked, nothing to warn about. */
  closedBefore?: boolean
}

/** Listings not completed within this long are dropped when another listing of the stream completes. */
const STALE_LISTING_DAYS = 30

const SEP = '\u001f'

/** A row's key as one text value: the key columns as text, joined by U+001F (the SQL side does the same). */
export function listingKey(row: Record<string, unknown>, key: readonly string[]): string {
  let out = ''
  for (let i = 0; i < key.length; i++) {
    const v = row[key[i]!]
    out += (i ? SEP : '') + (v instanceof Date ? v.toISOString() : String(v))
  }
  return out
}

const sqlKey = (alias: string, key: readonly string[]) => `concat_ws(E'\\x1f', ${key.map((k) => `${alias}.${quoteColumn(k)}::text`).join(', ')})`

async function open(db: Kysely<any>, owner: ListingOwner, listing: string, table: string, key: readonly string[]): Promise<void> {
  await db.executeQuery(
    CompiledQuery.raw(
      `insert into etl.listings (id, tbl, source, account, stream, key_columns) values ($1, $2, $3, $4, $5, $6::text[]) on conflict (id, tbl) do nothing`,
      [listing, table, owner.source, owner.account, owner.stream, [...key]],
    ),
  )
}

/** Records the keys of `rows` as read by `listing` (opening it on first use). */
export async function recordListingKeys(
  db: Kysely<any>,
  owner: ListingOwner,
  listing: string,
  table: string,
  key: readonly string[],
  rows: readonly Record<string, unknown>[],
  encoded?: EncodedRows,
): Promise<void> {
  await open(db, owner, listing, table, key)
  const keys = rows.map((r) => listingKey(r, key))
  if (encoded) {
    // Key values arrive as text already (`keyText`: what `listingKey` makes of them).
    for (let i = 0; i < encoded.count; i++) keys.push(encoded.keys.slice(i * key.length, (i + 1) * key.length).join(SEP))
  }
  if (!keys.length) return
  // A listing closed meanwhile (completed or abandoned by another run of the stream) takes no more keys.
  await db.executeQuery(
    CompiledQuery.raw(
      `insert into etl.listing_keys (listing, tbl, key) select $1, $2, unnest($3::text[]) where not exists (select 1 from etl.listings where id = $1 and tbl = $2 and closed_at is not null)`,
      [listing, table, keys],
    ),
  )
}

/** Applies a batch's listing operations, in the batch's transaction. */
export async function applyListingOps(db: Kysely<any>, owner: ListingOwner, ops: ListingOps): Promise<CompleteResult[]> {
  for (const s of ops.seen ?? []) {
    await recordListingKeys(
      db,
      owner,
      s.listing,
      s.table,
      s.key,
      s.keys.map((k) => Object.fromEntries(s.key.map((c, i) => [c, k[i]]))),
    )
  }
  for (const u of ops.unkeyed ?? []) {
    if (u.count <= 0) continue
    await open(db, owner, u.listing, u.table, u.key)
    await db.executeQuery(
      CompiledQuery.raw(`update etl.listings set unkeyed = unkeyed + $3 where id = $1 and tbl = $2 and closed_at is null`, [u.listing, u.table, u.count]),
    )
  }
  const results: CompleteResult[] = []
  for (const c of ops.complete ?? []) results.push(await complete(db, owner, c))
  for (const id of ops.abandon ?? []) await close(db, id)
  return results
}

/**
 * Closes an abandoned listing (every table of it): its keys go, its row stays with `closed_at` so that a
 * run still holding the id cannot re-open it (README "Deletions").
 */
async function close(db: Kysely<any>, listing: string): Promise<void> {
  await db.executeQuery(CompiledQuery.raw(`update etl.listings set closed_at = now() where id = $1 and closed_at is null`, [listing]))
  await db.executeQuery(CompiledQuery.raw(`delete from etl.listing_keys where listing = $1`, [listing]))
}

/**
 * Marks the rows of the scope that the listing did not read. Only rows last written before the
 * listing opened can be marked: a row written meanwhile (by anything) was present upstream then.
 */
async function complete(db: Kysely<any>, owner: ListingOwner, c: ListingComplete): Promise<CompleteResult> {
  const columns = await tableColumns(db, c.table)
  if (!columns.has('deleted_at')) throw new EtlError('USAGE', `${c.table} has no deleted_at column`)
  await open(db, owner, c.listing, c.table, c.key)
  // Claims the completion: of two runs completing one listing, the second waits for the first's row
  // lock, then finds it closed and marks nothing (its keys may be a part only).
  const info = await db.executeQuery<{ unkeyed: number }>(
    CompiledQuery.raw(`update etl.listings set closed_at = now() where id = $1 and tbl = $2 and closed_at is null returning unkeyed`, [c.listing, c.table]),
  )
  let result: CompleteResult
  if (!info.rows.length) {
    result = { table: c.table, marked: 0, closedBefore: true }
  } else if (Number(info.rows[0]!.unkeyed) > 0) {
    const unkeyed = Number(info.rows[0]!.unkeyed)
    result = { table: c.table, marked: 0, skipped: `${unkeyed} record(s) of the listing had no readable key; nothing marked deleted` }
  } else {
    const scope = Object.entries(c.scope)
    for (const [col] of scope) if (!columns.has(col)) throw new EtlError('USAGE', `${c.table} has no column ${col}`)
    const params: unknown[] = [c.listing, c.table]
    const filters = scope.map(([col, value]) => {
      params.push(value === null || value === undefined ? null : String(value))
      return `t.${quoteColumn(col)} = $${params.length}::${columns.get(col)!.type}`
    })
    const touch = columns.has('synced_at') ? ', synced_at = now()' : ''
    const guard = columns.has('synced_at') ? ' and t.synced_at < l.started_at' : ''
    const text = `
      with gone as (
        update ${quoteTable(c.table)} as t set deleted_at = now()${touch}
        from etl.listings l
        where l.id = $1 and l.tbl = $2 and ${filters.length ? `${filters.join(' and ')} and ` : ''}t.deleted_at is null${guard}
          and not exists (select 1 from etl.listing_keys k where k.listing = $1 and k.tbl = $2 and k.key = ${sqlKey('t', c.key)})
        returning 1)
      select count(*)::int as n from gone`
    const res = await db.executeQuery<{ n: number }>(CompiledQuery.raw(text, params))
    result = { table: c.table, marked: Number(res.rows[0]!.n) }
  }
  await db.executeQuery(CompiledQuery.raw(`delete from etl.listing_keys where listing = $1 and tbl = $2`, [c.listing, c.table]))
  await db.executeQuery(
    CompiledQuery.raw(
      `delete from etl.listing_keys k using etl.listings l where l.id = k.listing and l.tbl = k.tbl and l.source = $1 and l.account = $2 and l.stream = $3 and l.started_at < now() - make_interval(days => $4)`,
      [owner.source, owner.account, owner.stream, STALE_LISTING_DAYS],
    ),
  )
  await db.executeQuery(
    CompiledQuery.raw(`delete from etl.listings where source = $1 and account = $2 and stream = $3 and started_at < now() - make_interval(days => $4)`, [
      owner.source,
      owner.account,
      owner.stream,
      STALE_LISTING_DAYS,
    ]),
  )
  return result
}
