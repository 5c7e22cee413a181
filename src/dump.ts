import { createWriteStream, rmSync } from 'node:fs'
import { mkdir, rename, rm } from 'node:fs/promises'
import path from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGzip } from 'node:zlib'
import { CopyCsvFramer, PLAIN, encodeCsv, excelFormat, type CsvFormat, type Locale } from './csv.js'
import { CompiledQuery, sql } from 'kysely'
import { sourceAccounts, type Config } from './config.js'
import pg from 'pg'
import { to as copyTo } from 'pg-copy-streams'
import type { Db, Warehouse } from './db/index.js'
import { EtlError } from './errors.js'
import { allSources } from './sources/index.js'
import type { CellKind } from './xlsx.js'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** Schemas whose tables and views may be dumped: each source's and `analytics`; `etl` only for run history and rejects. */
const dumpableSchemas = () => [...new Set([...allSources.flatMap((s) => s.schemas ?? [s.name]), 'analytics'])]
const DUMPABLE_ETL = ['etl.runs', 'etl.rejects']
/** Columns holding our account name, as the sources name it (`account`, `cabinet`). */
const accountColumns = () => [...new Set(allSources.map((s) => s.accountColumn ?? 'account'))]

export interface DumpOptions {
  table: string
  out: string
  columns?: readonly string[]
  /** Rows whose `created_at` (else `synced_at`) is on or after this day. */
  since?: string
  account?: string
  /** UTF-8 BOM, `;`, CRLF, local `YYYY-MM-DD HH:MM:SS` dates: what Excel/LibreOffice in Russian locales expect. */
  excel?: boolean
  /** With `excel`: `ru` (default) `;` and decimal commas; `en` `,` and decimal points. */
  locale?: Locale
  /** A real workbook instead of CSV: typed cells, frozen header, autofilter (src/xlsx.ts). */
  xlsx?: boolean
  gzip?: boolean
  /** Rows fetched from the cursor at a time (embedded). @default adaptive: ~200,000 characters a fetch */
  fetchSize?: number
  /** How rows leave Postgres: `copy` (server default) or `cursor` (embedded; tests compare the two). */
  strategy?: 'copy' | 'cursor'
  /** Skip `account` / `since` filters on tables that lack the column instead of failing (`--all`). */
  lenient?: boolean
  /** Stops the dump (Ctrl-C, SIGTERM): the temporary file is removed and the dump fails with ABORTED. */
  signal?: AbortSignal
}

export interface DumpResult {
  table: string
  file: string
  rows: number
  bytes?: number
  /** xlsx: text cells cut to Excel's 32,767 characters. */
  truncated?: number
}

/** What a dump writes: plain CSV, spreadsheet CSV for a locale, or a workbook. */
type Mode = { kind: 'plain' } | { kind: 'excel'; locale: Locale } | { kind: 'xlsx' }

interface ColumnInfo {
  name: string
  type: string
}

/** Tables and views that `dump` accepts, from the catalog (an allow-list: nothing else is reachable). */
export async function dumpableTables(db: Db): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select table_schema || '.' || table_name as name from information_schema.tables
    where table_schema in (${sql.join(dumpableSchemas())}) order by 1`.execute(db)
  return [...rows.map((r) => r.name), ...DUMPABLE_ETL]
}

async function describe(db: Db, table: string): Promise<ColumnInfo[]> {
  const [schema, name] = table.split('.')
  const { rows } = await sql<ColumnInfo>`
    select a.attname as name, format_type(a.atttypid, a.atttypmod) as type
    from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = ${schema} and c.relname = ${name} and a.attnum > 0 and not a.attisdropped order by a.attnum`.execute(db)
  return rows
}

const ident = (s: string) => pg.escapeIdentifier(s)
const NUMBER = /^-?\d+(?:[.,]\d+)?(?:e[-+]?\d+)?$/i
const FORMULA_START = /^[=+\-@\t\r]/

/** OWASP CSV injection: a text cell that a spreadsheet would evaluate gets a leading apostrophe. Numbers stay numbers. */
export function neutralizeCell(value: string): string {
  return FORMULA_START.test(value) && !NUMBER.test(value) ? `'${value}` : value
}

/**
 * COPY cannot take bind parameters, so on the COPY path a value becomes a literal escaped by the
 * driver: `E'…'` with backslashes doubled whenever there is one, which reads the same whatever
 * `standard_conforming_strings` says. Doubling `'` alone does not: with it off, `x\'` closes the
 * literal and the rest of the value is SQL (issue 15). A NUL cannot be in a Postgres text at all.
 */
function literal(value: string): string {
  if (value.includes('\u0000')) throw new EtlError('DUMP_INVALID', 'A dump filter value cannot contain a NUL character')
  return `${pg.escapeLiteral(value)}::text`
}

/** Batches of records → CSV text, header first (with a BOM for Excel). */
function csvWriter(columns: string[], format: CsvFormat, counted: (n: number) => void): Transform {
  const header = (format === PLAIN ? '' : '\ufeff') + encodeCsv([columns], format)
  let first = true
  return new Transform({
    writableObjectMode: true,
    writableHighWaterMark: 4,
    transform(batch: (string | null)[][], _enc, done) {
      counted(batch.length)
      const text = encodeCsv(batch, format)
      done(null, first ? header + text : text)
      first = false
    },
    flush(done) {
      done(null, first ? header : undefined)
    },
  })
}

/** SQL twin of neutralizeCell for the COPY path, applied to text-like columns only (others cannot start with a formula character, except negative numbers). */
function neutralizeSql(expr: string): string {
  return `(case when ${expr} ~ '^[-=+@\t\r]' and ${expr} !~* '^-?[0-9]+([.,][0-9]+)?(e[-+]?[0-9]+)?$' then '''' || ${expr} else ${expr} end)`
}

// Arrays are not here: their JSON form always starts with "[", never a formula character.
const TEXT_LIKE = /^(text|character|character varying|name|citext)\b/

const NUMERIC = /^(smallint|integer|bigint|numeric|real|double precision)\b/

/** The xlsx cell type of a Postgres type; arrays and json are text (their JSON). */
export function cellKind(type: string): CellKind {
  if (type.endsWith('[]')) return 'text'
  if (NUMERIC.test(type)) return 'number'
  if (type.startsWith('timestamp')) return 'datetime'
  if (type === 'date') return 'date'
  if (type === 'boolean') return 'boolean'
  return 'text'
}

function selectExpression(c: ColumnInfo, mode: Mode, tzCase: () => string, inSql: boolean): string {
  const expr = baseExpression(c, mode, tzCase)
  return inSql && mode.kind !== 'xlsx' && TEXT_LIKE.test(c.type) ? neutralizeSql(expr) : expr
}

function baseExpression(c: ColumnInfo, mode: Mode, tzCase: () => string): string {
  const col = ident(c.name)
  if (mode.kind === 'xlsx' && cellKind(c.type) === 'datetime') {
    const at = c.type.startsWith('timestamp with time zone') ? `${col} at time zone ${tzCase()}` : col
    return `to_char(${at}, 'YYYY-MM-DD"T"HH24:MI:SS.MS')`
  }
  if (mode.kind === 'excel' && mode.locale === 'ru' && NUMERIC.test(c.type) && !c.type.endsWith('[]')) return `replace(${col}::text, '.', ',')`
  if (c.type.startsWith('timestamp with time zone')) {
    return mode.kind === 'excel'
      ? `to_char(${col} at time zone ${tzCase()}, 'YYYY-MM-DD HH24:MI:SS')`
      : `to_char(${col} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`
  }
  if (c.type.startsWith('timestamp')) return `to_char(${col}, 'YYYY-MM-DD HH24:MI:SS')`
  if (c.type === 'date') return `to_char(${col}, 'YYYY-MM-DD')`
  // One unambiguous form for arrays: the JSON array (`["скидка, 10%","из «Телеграма»"]`, `[]`); joining
  // with ", " could not be split back. json/jsonb cells are their JSON text already.
  if (c.type.endsWith('[]')) return `array_to_json(${col})::text`
  return `${col}::text`
}

/**
 * Temporary files of dumps in progress. An aborted or failed dump removes its own; this is the last
 * resort for an exit that does not unwind (a second Ctrl-C calls process.exit), so no `*.tmp-PID`
 * is ever left behind by a process that exits.
 */
const liveTemps = new Set<string>()
let exitHook = false
function trackTemp(temp: string): void {
  if (!exitHook) {
    exitHook = true
    process.on('exit', () => {
      for (const t of liveTemps) rmSync(t, { force: true })
    })
  }
  liveTemps.add(temp)
}

/** The dump's own stop reason when it was aborted, else the error as DUMP_INVALID. */
function dumpError(err: unknown, table: string, signal?: AbortSignal): EtlError {
  if (signal?.aborted) return signal.reason instanceof EtlError ? signal.reason : new EtlError('ABORTED', `Dump of ${table} stopped`, { cause: err })
  if (err instanceof EtlError) return err
  return new EtlError('DUMP_INVALID', `Cannot dump ${table}: ${(err as Error).message}`, { cause: err })
}

/**
 * Stream one table or view to a CSV file: a server-side cursor feeds csv-stringify through a
 * pipeline with backpressure, so memory stays flat for any table size. The file appears complete
 * (renamed from a temp name) or not at all.
 */
export async function dumpTable(warehouse: Warehouse, config: Config, options: DumpOptions): Promise<DumpResult> {
  const db = warehouse.db
  const allowed = await dumpableTables(db)
  if (!allowed.includes(options.table)) {
    throw new EtlError('DUMP_INVALID', `Table ${options.table} cannot be dumped; expected one of: ${allowed.join(', ')}`)
  }
  const all = await describe(db, options.table)
  let columns = all
  if (options.columns?.length) {
    const unknown = options.columns.filter((c) => !all.some((a) => a.name === c))
    if (unknown.length)
      throw new EtlError('DUMP_INVALID', `${options.table} has no column(s) ${unknown.join(', ')}; it has ${all.map((a) => a.name).join(', ')}`)
    columns = options.columns.map((c) => all.find((a) => a.name === c)!)
  }
  const has = (n: string) => all.some((a) => a.name === n)
  const accountCol = accountColumns().find(has) ?? null
  const viaCopy = Boolean(warehouse.pool) && options.strategy !== 'cursor' && !options.xlsx
  // Every value reaches SQL as a bind parameter (cursor) or a driver-escaped literal (COPY), never pasted.
  const params: string[] = []
  const param = (v: string) => {
    if (viaCopy) return literal(v)
    params.push(v)
    return `$${params.length}::text`
  }
  // Accounts of a source with its own zones (GetCourse) show their dates in their zone, by the
  // source's account column; other tables use the configured zone. Built on first use so that no
  // parameter goes unused (Postgres cannot type an unused parameter).
  let tz: string | undefined
  const tzCase = () => {
    if (tz) return tz
    tz = param(config.timezone)
    const zones = allSources
      .filter((m) => m.timeZone && (m.accountColumn ?? 'account') === accountCol)
      .flatMap((m) => sourceAccounts(config, m).map((a) => [a.name, m.timeZone!(a)] as const))
    if (accountCol && zones.length) {
      tz = `(case ${ident(accountCol)} ${zones.map(([name, zone]) => `when ${param(name)} then ${param(zone)}`).join(' ')} else ${tz} end)`
    }
    return tz
  }
  if (options.xlsx && (options.excel || options.gzip))
    throw new EtlError('USAGE', '--xlsx writes a workbook (already zip-compressed): use it without --excel and --gzip')
  const mode: Mode = options.xlsx ? { kind: 'xlsx' } : options.excel ? { kind: 'excel', locale: options.locale ?? 'ru' } : { kind: 'plain' }
  const format = mode.kind === 'excel' ? excelFormat(mode.locale) : PLAIN
  const selectList = columns.map((c) => `${selectExpression(c, mode, tzCase, viaCopy)} as ${ident(c.name)}`).join(', ')
  const where: string[] = []
  if (options.account && (accountCol || !options.lenient)) {
    if (!accountCol) throw new EtlError('DUMP_INVALID', `${options.table} has no account/cabinet column for --account`)
    where.push(`${ident(accountCol)} = ${param(options.account)}`)
  }
  const dateCol = has('created_at') ? 'created_at' : has('synced_at') ? 'synced_at' : null
  if (options.since && (dateCol || !options.lenient)) {
    if (!dateCol) throw new EtlError('DUMP_INVALID', `${options.table} has no created_at/synced_at column for --since`)
    where.push(`${ident(dateCol)} >= ${param(options.since)}::date`)
  }
  const [schema, name] = options.table.split('.') as [string, string]
  const orderBy = all.filter((c) => ['account', 'cabinet', 'id'].includes(c.name)).map((c) => ident(c.name))
  const query = `select ${selectList}
    from ${ident(schema)}.${ident(name)}${where.length ? ` where ${where.join(' and ')}` : ''}${orderBy.length ? ` order by ${orderBy.join(', ')}` : ''}`

  const file = options.gzip && !options.out.endsWith('.gz') ? `${options.out}.gz` : options.out
  await mkdir(path.dirname(path.resolve(file)), { recursive: true })
  const temp = `${file}.tmp-${process.pid}`
  const { signal } = options
  signal?.throwIfAborted()
  let rows = 0

  let truncated: number | undefined
  trackTemp(temp)
  const sink = (): NodeJS.WritableStream[] => (options.gzip ? [createGzip(), createWriteStream(temp)] : [createWriteStream(temp)])
  try {
    if (viaCopy) {
      // Server: Postgres writes the CSV itself (COPY … FORMAT csv: NULL bare, '' quoted), with formula
      // cells neutralized in SQL; we add the header, quote fields holding the other separator and, for Excel, CRLF.
      // The pg row protocol would be ~2× slower than COPY, and parsing rows back in JS slower still.
      const client = await warehouse.pool!.connect()
      let failed: Error | undefined
      try {
        const copySql = `copy (${query}) to stdout with (format csv, delimiter '${format.delimiter}')`
        const header = (mode.kind === 'excel' ? '\ufeff' : '') + encodeCsv([columns.map((c) => c.name)], format)
        await pipeline(client.query(copyTo(copySql)), new CopyCsvFramer(header, format, (n) => (rows += n)), ...(sink() as [Transform]), {
          signal,
        })
      } catch (err) {
        failed = err as Error
        throw err
      } finally {
        // A COPY cut off mid-stream leaves the session mid-protocol: discard it instead of pooling it.
        client.release(failed)
      }
    } else {
      // Embedded: a cursor in a transaction, fetched in batches.
      await warehouse.db.transaction().execute(async (trx) => {
        await trx.executeQuery(CompiledQuery.raw(`declare dump_cursor no scroll cursor for ${query}`, params))
        // xlsx cells hold the text as it is (a string cell is never a formula); CSV cells are neutralized.
        const cell = mode.kind === 'xlsx' ? (v: string) => v : neutralizeCell
        const collect = garbageCollector()
        const pglite = warehouse.pglite
        let fetchRows = options.fetchSize ?? FIRST_FETCH_ROWS
        async function* source() {
          for (;;) {
            // Rows as arrays in column order (no object per row); PGlite is one session, so this
            // query runs inside the transaction Kysely holds.
            const batch = pglite
              ? (await pglite.query<(string | null)[]>(`fetch ${fetchRows} from dump_cursor`, [], { rowMode: 'array' })).rows
              : (await sql.raw<Record<string, string | null>>(`fetch ${fetchRows} from dump_cursor`).execute(trx)).rows.map((r) =>
                  columns.map((c) => r[c.name] ?? null),
                )
            if (!batch.length) return
            let chars = 0
            for (const row of batch) {
              for (let i = 0; i < row.length; i++) {
                const v = row[i]
                if (v == null) continue
                chars += v.length
                row[i] = cell(v)
              }
            }
            // PGlite holds each answer whole, and V8 grows its young generation to the size of what
            // survives a scavenge: fetches of about FETCH_CHARS characters keep both small for wide
            // tables (2 KB deals) without a round trip per handful of narrow rows (finding 14).
            if (options.fetchSize === undefined) {
              fetchRows = Math.max(MIN_FETCH_ROWS, Math.min(MAX_FETCH_ROWS, Math.round((FETCH_CHARS * batch.length) / Math.max(chars, 1))))
            }
            // Every fetched row is garbage at once, but V8 (sized for the machine's memory) lets it
            // pile up across fetches and tables: a collection every few MB dumped keeps the peak
            // near one stretch's worth (finding 13).
            charsSinceCollection += chars + batch.length * columns.length
            if (charsSinceCollection >= GC_EVERY_CHARS) {
              charsSinceCollection = 0
              collect?.()
            }
            yield batch
          }
        }
        if (mode.kind === 'xlsx') {
          const sheet = columns.map((c) => ({ name: c.name, kind: cellKind(c.type) }))
          // exceljs (~28 MB) loads only for an xlsx dump.
          const { writeWorkbook } = await import('./xlsx.js')
          ;({ rows, truncated } = await writeWorkbook(temp, options.table, sheet, source(), signal))
          return
        }
        const csv = csvWriter(
          columns.map((c) => c.name),
          format,
          (n) => (rows += n),
        )
        await pipeline(Readable.from(source()), csv, ...(sink() as [Transform]), { signal })
      })
    }
    await rename(temp, file)
  } catch (err) {
    await rm(temp, { force: true })
    throw dumpError(err, options.table, signal)
  } finally {
    liveTemps.delete(temp)
  }
  return { table: options.table, file, rows, ...(truncated ? { truncated } : {}) }
}

/** Embedded dumps: rows of the first fetch of a table, then as many as make about FETCH_CHARS characters. */
const FIRST_FETCH_ROWS = 100
const FETCH_CHARS = 200_000
const MIN_FETCH_ROWS = 20
const MAX_FETCH_ROWS = 2000
/** Embedded dumps collect garbage every this many characters fetched (a cell counts one more), across tables. */
const GC_EVERY_CHARS = 8_000_000
let charsSinceCollection = 0

/** `dump --all`: one file per dumpable table, named `<schema>.<table>.csv`. */
export async function dumpAll(
  warehouse: Warehouse,
  config: Config,
  outDir: string,
  options: Omit<DumpOptions, 'table' | 'out' | 'columns'>,
): Promise<DumpResult[]> {
  const results: DumpResult[] = []
  for (const table of await dumpableTables(warehouse.db)) {
    results.push(await dumpTable(warehouse, config, { ...options, lenient: true, table, out: path.join(outDir, `${table}.${options.xlsx ? 'xlsx' : 'csv'}`) }))
  }
  return results
}

let gcFunction: (() => void) | null | undefined

/** V8's collector without `--expose-gc` on the command line (null where the flag cannot be set). */
function garbageCollector(): (() => void) | null {
  if (gcFunction === undefined) {
    try {
      setFlagsFromString('--expose-gc')
      gcFunction = runInNewContext('gc') as () => void
    } catch {
      gcFunction = null
    }
  }
  return gcFunction
}
