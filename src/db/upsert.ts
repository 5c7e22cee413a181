import { CompiledQuery, sql, type Kysely } from 'kysely'
import { EtlError } from '../errors.js'
import type { TableWrite } from '../contract.js'
import { AUTO_COLUMNS, type CopySource, encodedSource, isJsonType, rowsSource, subsetEncoded, toPgJson, uniqueRows } from './copy-text.js'
import type { CopyIn } from './index.js'

export { toPgJson } from './copy-text.js'

export type { TableWrite } from '../contract.js'

export interface WriteCounts {
  inserted: number
  updated: number
  unchanged: number
  /** Child rows removed with their parent (`replace`, mode delete). */
  deleted: number
  /** Rows given `deleted_at` (`replace`, mode mark). */
  markedDeleted: number
  /** Rows with `deleted_at` read again: present upstream once more. */
  undeleted: number
}

interface Column {
  name: string
  type: string
}

const IDENT = /^[a-z_][a-z0-9_]*$/
const columnCache = new Map<string, Map<string, Column>>()

/** `schema.table` as a quoted identifier; anything else is refused. */
export function quoteTable(table: string): string {
  const parts = table.split('.')
  if (parts.length !== 2 || !parts.every((p) => IDENT.test(p))) throw new EtlError('USAGE', `Not a schema-qualified table name: ${table}`)
  return parts.map((p) => `"${p}"`).join('.')
}

/** A column name as a quoted identifier; anything else is refused. */
export const q = (ident: string) => {
  if (!IDENT.test(ident)) throw new EtlError('USAGE', `Not a valid column name: ${ident}`)
  return `"${ident}"`
}

/** Column names and SQL types of a table, read once from the catalog. */
export async function tableColumns(db: Kysely<any>, table: string): Promise<Map<string, Column>> {
  const cached = columnCache.get(table)
  if (cached) return cached
  const { rows } = await sql<Column>`
    select a.attname as name, format_type(a.atttypid, a.atttypmod) as type
    from pg_attribute a
    where a.attrelid = ${quoteTable(table)}::regclass and a.attnum > 0 and not a.attisdropped
    order by a.attnum`.execute(db)
  if (!rows.length) throw new EtlError('USAGE', `Table ${table} has no columns (is it migrated?)`)
  const map = new Map(rows.map((r) => [r.name, r]))
  columnCache.set(table, map)
  return map
}

/** Keep the last row per key: one INSERT … ON CONFLICT may not touch the same row twice. */
function dedupe(rows: Record<string, unknown>[], key: readonly string[]): Record<string, unknown>[] {
  const seen = new Map<string, Record<string, unknown>>()
  for (const row of rows) seen.set(key.map((k) => String(row[k])).join('\u0001'), row)
  return seen.size === rows.length ? rows : [...seen.values()]
}

/** Rows per statement on the jsonb parameter path (embedded, and small batches on a server). */
const JSON_CHUNK = 1000
/** Below this, the parameter path is cheaper than creating / filling the staging table. */
const COPY_MIN_ROWS = 200

/**
 * Idempotent upsert of one batch. On a server, rows with keys not stored yet are COPY'd straight
 * into the table; the rest are COPY'd into a session staging table, rewritten by `UPDATE … FROM`
 * where they differ, and whatever that did not find is merged by `INSERT … SELECT … ON CONFLICT`.
 * Embedded (PGlite, no COPY), all rows travel as a single jsonb
 * parameter expanded by jsonb_to_recordset, so the statement has two parameters whatever the batch
 * size. Rows equal to what is stored are left alone (no write, `synced_at` kept), so a re-load of
 * unchanged data writes nothing. Rows given encoded (`TableWrite.encoded`) always take the COPY path.
 */
export async function upsertRows(db: Kysely<any>, write: TableWrite, copy?: CopyIn): Promise<WriteCounts> {
  const counts: WriteCounts = { inserted: 0, updated: 0, unchanged: 0, deleted: 0, markedDeleted: 0, undeleted: 0 }
  const columns = await tableColumns(db, write.table)
  const table = quoteTable(write.table)
  for (const k of write.key) if (!columns.has(k)) throw new EtlError('USAGE', `${write.table} has no key column ${k}`)

  if (write.replace?.keys.length) {
    if (write.encoded) throw new EtlError('USAGE', `${write.table}: encoded rows cannot replace child sets`)
    if (write.replace.mode === 'mark') counts.markedDeleted = await markReplaced(db, write, columns)
    else counts.deleted = await deleteReplaced(db, write, columns)
  }
  let rows: Record<string, unknown>[] = []
  let cols: string[]
  let source: CopySource
  if (write.encoded) {
    if (!copy) throw new EtlError('USAGE', `${write.table}: encoded rows need a warehouse that takes COPY`)
    if (write.rows.length) throw new EtlError('USAGE', `${write.table}: a write has rows or encoded rows, not both`)
    const keep = uniqueRows(write.encoded, write.key.length)
    const encoded = keep ? subsetEncoded(write.encoded, keep, write.key.length) : write.encoded
    if (!encoded.count) return counts
    cols = encoded.columns
    for (const name of cols) if (!columns.has(name) || AUTO_COLUMNS.has(name)) throw new EtlError('USAGE', `${write.table} has no column ${name} to write`)
    for (const k of write.key) if (!cols.includes(k)) throw new EtlError('USAGE', `${write.table}: encoded rows lack key column ${k}`)
    source = encodedSource(encoded, write.key.length)
  } else {
    rows = dedupe(write.rows, write.key)
    if (!rows.length) return counts
    const present = new Set<string>()
    for (const row of rows) for (const k of Object.keys(row)) present.add(k)
    for (const name of present) {
      if (!columns.has(name)) throw new EtlError('USAGE', `${write.table} has no column ${name}`)
    }
    cols = [...present].filter((c) => !AUTO_COLUMNS.has(c))
    source = rowsSource(
      rows,
      write.key,
      cols,
      cols.map((c) => isJsonType(columns.get(c)!.type)),
    )
  }
  if (columns.has('deleted_at')) counts.undeleted = await undelete(db, table, write.key, columns, source)

  const keySet = new Set(write.key)
  const nonKey = cols.filter((c) => !keySet.has(c))
  const recordDef = cols.map((c) => `${q(c)} ${columns.get(c)!.type}`).join(', ')
  const colList = cols.map(q).join(', ')
  const touch = columns.has('synced_at') ? ', synced_at = now()' : ''
  const conflict = nonKey.length
    ? `do update set ${nonKey.map((c) => `${q(c)} = excluded.${q(c)}`).join(', ')}${touch}
       where ${distinct('t', 'excluded', nonKey)}`
    : 'do nothing'
  const onConflict = `on conflict (${write.key.map(q).join(', ')}) ${conflict} returning (xmax = 0) as inserted`
  const countSql = (insert: string) =>
    `with up as (${insert}) select count(*) filter (where inserted)::int as inserted, count(*) filter (where not inserted)::int as updated from up`
  let res: { rows: { inserted: number; updated: number }[] }
  const n = source.count
  if (copy && (write.encoded || n >= COPY_MIN_ROWS)) {
    // Server. Rows whose key is not stored yet are COPY'd straight into the table (what raw COPY
    // costs); only the others go through a staging table and the conflict path.
    let conflicting: number[] | null = null
    // While a table's batches hold no stored key at all, as in a first load, the probe is skipped
    // too: the whole batch is COPY'd straight in, and a key stored meanwhile (a unique violation)
    // only sends this batch back through the probe.
    if (allFresh.get(write.table) && (await copyFresh(db, copy, `copy ${table} (${colList}) from stdin`, source.chunks(null)))) {
      counts.inserted = n
      return counts
    }
    // While a table's batches come back (almost) all stored, as in a nightly re-read, the probe is
    // skipped: every row takes the staging path, which inserts new keys too.
    const probe = !mostlyStored.get(write.table)
    const stored = probe ? await storedKeys(db, table, write.key, columns, source) : null
    if (stored) mostlyStored.set(write.table, stored.size >= n * STORED_SHARE)
    allFresh.set(write.table, stored?.size === 0)
    if (stored && stored.size < n) {
      const fresh: number[] = []
      const old: number[] = []
      for (let i = 0; i < n; i++) (stored.has(i) ? old : fresh).push(i)
      conflicting = old
      // A concurrent writer may insert one of these keys between the probe and the COPY: then the
      // COPY fails on the primary key, is rolled back to the savepoint, and every row takes the
      // conflict path as before.
      if (await copyFresh(db, copy, `copy ${table} (${colList}) from stdin`, source.chunks(old.length ? fresh : null))) counts.inserted += fresh.length
      else conflicting = null
    }
    if (conflicting && !conflicting.length) return counts
    // COPY into a session temp table (created once per connection, emptied at commit). Stored rows
    // that differ are rewritten by one UPDATE … FROM (an index probe per row, no speculative
    // insertion or row lock as ON CONFLICT takes: about half the Postgres time). Whatever the UPDATE
    // did not find, e.g. a row another writer deleted or inserted meanwhile, then goes through
    // INSERT … ON CONFLICT, so no row is lost whatever happened since the probe.
    const staging = `"stg_${write.table.replace('.', '__')}"`
    await db.executeQuery(CompiledQuery.raw(`create temp table if not exists ${staging} (like ${table} including defaults) on commit delete rows`))
    await copy(`copy ${staging} (${colList}) from stdin`, source.chunks(conflicting && conflicting.length < n ? conflicting : null))
    const match = (a: string, b: string) => write.key.map((k) => `${a}.${q(k)} = ${b}.${q(k)}`).join(' and ')
    let rest = ''
    if (nonKey.length) {
      const up = await db.executeQuery<{ updated: number }>(
        CompiledQuery.raw(`with up as (update ${table} as t set ${nonKey.map((c) => `${q(c)} = s.${q(c)}`).join(', ')}${touch}
          from ${staging} as s where ${match('t', 's')} and ${distinct('t', 's', nonKey)} returning 1) select count(*)::int as updated from up`),
      )
      counts.updated = Number(up.rows[0]!.updated)
      rest = ` as s where not exists (select 1 from ${table} as x where ${match('x', 's')})`
    }
    res = await db.executeQuery<{ inserted: number; updated: number }>(
      CompiledQuery.raw(countSql(`insert into ${table} as t (${colList}) select ${colList} from ${staging}${rest} ${onConflict}`)),
    )
  } else {
    // Embedded: the batch travels in pieces of JSON_CHUNK rows. The jsonb text, its parsed value and
    // the result all sit in PGlite's WebAssembly heap, which never shrinks: its high-water mark follows
    // the largest statement, so a piece rather than a whole batch (bench/RESULTS.md, 2026-12-03).
    const text = `insert into ${table} as t (${colList}) select ${colList} from jsonb_to_recordset($1::jsonb) as x(${recordDef}) ${onConflict}`
    const total = { inserted: 0, updated: 0 }
    for (let i = 0; i < rows.length; i += JSON_CHUNK) {
      const piece = await db.executeQuery<{ inserted: number; updated: number }>(
        CompiledQuery.raw(countSql(text), [toPgJson(i === 0 && rows.length <= JSON_CHUNK ? rows : rows.slice(i, i + JSON_CHUNK))]),
      )
      total.inserted += Number(piece.rows[0]!.inserted)
      total.updated += Number(piece.rows[0]!.updated)
    }
    res = { rows: [total] }
  }
  const r = res.rows[0]!
  counts.inserted += Number(r.inserted)
  counts.updated += Number(r.updated)
  counts.unchanged = n - counts.inserted - counts.updated
  if (copy && mostlyStored.get(write.table)) mostlyStored.set(write.table, counts.inserted <= n * (1 - STORED_SHARE))
  return counts
}

/** By table: its last batch had at least STORED_SHARE of its keys stored already. */
const mostlyStored = new Map<string, boolean>()
const STORED_SHARE = 0.9
/** By table: its last probe found none of the batch's keys stored (a first load): the next batch is COPY'd without one. */
const allFresh = new Map<string, boolean>()

/**
 * COPY of rows whose keys should not be stored, straight into the table, inside a savepoint: false
 * (and nothing written) when a key was stored after all, e.g. by a concurrent writer between the
 * probe and the COPY, or since the last batch when no probe was made.
 */
async function copyFresh(db: Kysely<any>, copy: CopyIn, copySql: string, chunks: Iterable<string | Uint8Array>): Promise<boolean> {
  await db.executeQuery(CompiledQuery.raw('savepoint course_etl_copy'))
  try {
    await copy(copySql, chunks)
  } catch (err) {
    if (!RACE_CODES.has((err as { code?: string }).code ?? '')) throw err
    await db.executeQuery(CompiledQuery.raw('rollback to savepoint course_etl_copy'))
    return false
  }
  await db.executeQuery(CompiledQuery.raw('release savepoint course_etl_copy'))
  return true
}

/** `(a.x, a.y) is distinct from (b.x, b.y)` over `cols` (a one-column row gets a null partner: `(x)` is no row constructor). */
const distinct = (a: string, b: string, cols: readonly string[]) => {
  const pad = cols.length === 1 ? ', null' : ''
  return `(${cols.map((c) => `${a}.${q(c)}`).join(', ')}${pad}) is distinct from (${cols.map((c) => `${b}.${q(c)}`).join(', ')}${pad})`
}

/** unique_violation, deadlock_detected: another writer got to one of the keys first. */
const RACE_CODES = new Set(['23505', '40P01'])

/** Positions (0-based) of the `rows` whose key is already stored: one index probe per row. */
async function storedKeys(db: Kysely<any>, table: string, key: readonly string[], columns: Map<string, Column>, rows: CopySource): Promise<Set<number>> {
  const res = await db.executeQuery<{ i: number }>(CompiledQuery.raw(storedKeysSql(table, key, columns), keyParams(key, rows)))
  return new Set(res.rows.map((r) => r.i))
}

/**
 * The probe for stored keys (and `also` true of the stored row): parameters are one array per key
 * column. A LATERAL … LIMIT 1 per key, not `where exists (…)`: on a table growing under a load (no
 * ANALYZE since), `exists` was planned as a hash join over the whole table, 1.7 ms for the first
 * batch and 105 ms at 250k rows (quadratic, bench/RESULTS.md finding 12); this shape can only be an
 * index probe per key.
 */
export function storedKeysSql(table: string, key: readonly string[], columns: Map<string, { type: string }>, also?: string): string {
  const u = unnestKeys(key, columns)
  return `
    select (u.ord - 1)::int as i
    from ${u.from} with ordinality as u(${u.names}, ord)
    cross join lateral (select 1 from ${table} t where ${u.match('t', 'u')}${also ? ` and ${also}` : ''} limit 1) x`
}

/**
 * Rows read again after they were marked deleted are present upstream once more: `deleted_at` is
 * cleared (whatever read them, complete or not). The partial index on deleted rows keeps this an
 * index probe per key, and nothing at all while no row of the table is deleted.
 */
async function undelete(db: Kysely<any>, table: string, key: readonly string[], columns: Map<string, Column>, rows: CopySource): Promise<number> {
  // One probe of the (small) partial index first: while nothing of the table is deleted, the keys
  // are not even sent. Written as ORDER BY the key … LIMIT 1 so that the planner reads the partial
  // index even without statistics: `exists (select 1 … where deleted_at is not null)` on a table
  // loaded since its last ANALYZE was planned as a sequential scan of the whole table, once per
  // batch (205 ms per batch at 300k rows; a 1M-row load spent most of its time there).
  const any = await db.executeQuery(CompiledQuery.raw(deletedProbe(table, key)))
  if (!any.rows.length) return 0
  // Then which of this batch's keys are deleted: an index probe per key (LATERAL … LIMIT 1, as in
  // `storedKeysSql`; a join here was free to scan the whole table per batch), and only those rows
  // are updated, usually none.
  const found = await db.executeQuery<{ i: number }>(CompiledQuery.raw(storedKeysSql(table, key, columns, 't.deleted_at is not null'), keyParams(key, rows)))
  if (!found.rows.length) return 0
  const keys = unnestKeys(key, columns)
  const text = `
    with back as (
      update ${table} t set deleted_at = null${columns.has('synced_at') ? ', synced_at = now()' : ''}
      from ${keys.from} as u(${keys.names})
      where ${keys.match('t', 'u')} and t.deleted_at is not null
      returning 1)
    select count(*)::int as n from back`
  const res = await db.executeQuery<{ n: number }>(
    CompiledQuery.raw(
      text,
      keyParams(
        key,
        rows,
        found.rows.map((r) => r.i),
      ),
    ),
  )
  return Number(res.rows[0]!.n)
}

/** A row when some row of `table` (quoted) is marked deleted, none otherwise: reads the partial index `<table>_deleted_idx` on the key. */
export const deletedProbe = (table: string, key: readonly string[]) =>
  `select true as yes from ${table} where deleted_at is not null order by ${key.map(q).join(', ')} limit 1`

/** `unnest($1::type[], …)` over the key columns (alias columns k0, k1, …), and the join condition on them. */
function unnestKeys(key: readonly string[], columns: Map<string, { type: string }>) {
  const names = key.map((_, i) => `k${i}`)
  return {
    from: `unnest(${key.map((k, i) => `$${i + 1}::${columns.get(k)!.type}[]`).join(', ')})`,
    names: names.join(', '),
    match: (table: string, u: string) => key.map((k, i) => `${table}.${q(k)} = ${u}.${names[i]}`).join(' and '),
  }
}

/** The parameters of `unnestKeys`: one array per key column, of all rows or of those at `positions`. */
function keyParams(key: readonly string[], rows: CopySource, positions?: readonly number[]): (string | null)[][] {
  return key.map((_, j) => {
    const n = positions ? positions.length : rows.count
    const out: (string | null)[] = new Array(n)
    for (let i = 0; i < n; i++) out[i] = rows.key(positions ? positions[i]! : i, j)
    return out
  })
}

async function deleteReplaced(db: Kysely<any>, write: TableWrite, columns: Map<string, Column>): Promise<number> {
  return replaceMissing(db, write, columns, 'delete')
}

/** Like `deleteReplaced`, but the rows the parents no longer have get `deleted_at` (README "Deletions"). */
async function markReplaced(db: Kysely<any>, write: TableWrite, columns: Map<string, Column>): Promise<number> {
  if (!columns.has('deleted_at')) throw new EtlError('USAGE', `${write.table} has no deleted_at column to mark`)
  return replaceMissing(db, write, columns, 'mark')
}

async function replaceMissing(db: Kysely<any>, write: TableWrite, columns: Map<string, Column>, mode: 'delete' | 'mark'): Promise<number> {
  const scope = write.replace!
  const scopeDef = scope.columns.map((c) => {
    const col = columns.get(c)
    if (!col) throw new EtlError('USAGE', `${write.table} has no column ${c}`)
    return `${q(c)} ${col.type}`
  })
  const keyDef = write.key.map((c) => `${q(c)} ${columns.get(c)!.type}`)
  const scopeRows = scope.keys.map((k) => Object.fromEntries(scope.columns.map((c, i) => [c, k[i]])))
  const keepRows = write.rows.map((r) => Object.fromEntries(write.key.map((c) => [c, r[c]])))
  const head =
    mode === 'delete'
      ? `delete from ${quoteTable(write.table)} as t using jsonb_to_recordset($1::jsonb) as s(${scopeDef.join(', ')})`
      : `update ${quoteTable(write.table)} as t set deleted_at = now()${columns.has('synced_at') ? ', synced_at = now()' : ''} from jsonb_to_recordset($1::jsonb) as s(${scopeDef.join(', ')})`
  const text = `
    ${head}
    where ${scope.columns.map((c) => `t.${q(c)} = s.${q(c)}`).join(' and ')}${mode === 'mark' ? ' and t.deleted_at is null' : ''}
      and not exists (
        select 1 from jsonb_to_recordset($2::jsonb) as k(${keyDef.join(', ')})
        where ${write.key.map((c) => `k.${q(c)} = t.${q(c)}`).join(' and ')})`
  const res = await db.executeQuery(CompiledQuery.raw(text, [toPgJson(scopeRows), toPgJson(keepRows)]))
  return Number(res.numAffectedRows ?? 0)
}
