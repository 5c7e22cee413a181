import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import ts from 'typescript'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestWarehouse, type TestWarehouse } from '../support/database.js'

/**
 * The Kysely table interfaces (`src/db/schema.ts`, `src/sources/<source>/tables.ts`) are written by hand next to
 * the migrations. This test reads them with the TypeScript compiler — the composed `Database` type, each
 * column as Kysely itself sees it (`SelectType<…>` / `InsertType<…>`) — and compares them with the
 * catalog of a freshly migrated database: the tables, the columns of each, nullability, defaults and
 * the type of every column. On drift it fails with one line per difference.
 */

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** Schemas whose every table must have an interface (analytics holds views only, read by analysts). */
const SCHEMAS = ['etl', 'getcourse', 'kwiga']

/**
 * Tables deliberately left without an interface, with the reason. Empty: every table of SCHEMAS is
 * typed, the ones the code reaches by raw SQL only (etl.listings, etl.listing_keys) included.
 */
const UNTYPED = new Map<string, string>([])

/**
 * What a column of each catalog type selects as through this project's drivers, as the interface's
 * `SelectType` must say it (null aside): bigint and numeric stay strings (src/db/index.ts), jsonb is
 * `unknown` (Json), timestamptz a Date. `date` columns are written as 'YYYY-MM-DD' strings and read
 * back with `::text` (getcourse/exports.ts), so the interfaces say string.
 */
const SELECTS_AS: Record<string, string> = {
  bigint: 'string',
  integer: 'number',
  smallint: 'number',
  numeric: 'string',
  text: 'string',
  'character varying': 'string',
  boolean: 'boolean',
  'timestamp with time zone': 'Date',
  date: 'string',
  jsonb: 'unknown',
  'text[]': 'string[]',
  'bigint[]': 'string[]',
  'integer[]': 'number[]',
}

interface CatalogColumn {
  table: string
  column: string
  type: string
  nullable: boolean
  default: string | null
}

interface InterfaceColumn {
  /** SelectType without null, described (string, number, Date, string[], …). */
  select: string
  nullable: boolean
  /** InsertType admits undefined (Generated<…>) or nothing at all (GeneratedAlways<…>). */
  generated: boolean
}

async function readCatalog(wh: TestWarehouse): Promise<CatalogColumn[]> {
  const res = await sql<CatalogColumn>`
    select n.nspname || '.' || c.relname as "table", a.attname as "column",
           regexp_replace(format_type(a.atttypid, a.atttypmod), '\\(.*\\)', '') as "type",
           not a.attnotnull as nullable,
           case when a.attidentity <> '' then 'identity' when a.attgenerated <> '' then 'generated'
                else pg_get_expr(d.adbin, d.adrelid) end as "default"
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
    left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
    where n.nspname in (${sql.join(SCHEMAS)}) and c.relkind in ('r', 'p')
    order by 1, a.attnum`.execute(wh.db)
  return res.rows
}

/**
 * The interfaces as the compiler sees them: a probe module (in memory, next to this file) maps the
 * composed `Database` through Kysely's own SelectType / InsertType, and the checker resolves it.
 */
function readInterfaces(): Map<string, Map<string, InterfaceColumn>> {
  const configPath = path.join(root, 'tsconfig.json')
  const config = ts.readConfigFile(configPath, ts.sys.readFile)
  if (config.error) throw new Error(ts.flattenDiagnosticMessageText(config.error.messageText, '\n'))
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root)
  const probePath = path.join(root, 'test/integration/__tables-catalog-probe__.ts').split(path.sep).join('/')
  const probeText = [
    `import type { InsertType, SelectType } from 'kysely'`,
    `import type { Database } from '../../src/sources/index.js'`,
    `export type Probe = { [T in keyof Database]: { [C in keyof Database[T]]: { declared: Database[T][C]; select: SelectType<Database[T][C]>; insert: InsertType<Database[T][C]> } } }`,
  ].join('\n')
  const host = ts.createCompilerHost(options, true)
  const { fileExists, readFile, getSourceFile } = host
  host.fileExists = (f) => f === probePath || fileExists.call(host, f)
  host.readFile = (f) => (f === probePath ? probeText : readFile.call(host, f))
  host.getSourceFile = (f, lang, ...rest) => (f === probePath ? ts.createSourceFile(f, probeText, lang, true) : getSourceFile.call(host, f, lang, ...rest))
  const program = ts.createProgram({ rootNames: [probePath], options: { ...options, noEmit: true }, host })
  const probe = program.getSourceFile(probePath)!
  const problems = [...program.getSyntacticDiagnostics(probe), ...program.getSemanticDiagnostics(probe)]
  if (problems.length) throw new Error(`the Database type does not resolve: ${ts.formatDiagnostics(problems, host)}`)
  const checker = program.getTypeChecker()
  const probeType = checker.getDeclaredTypeOfSymbol(checker.getExportsOfModule(checker.getSymbolAtLocation(probe)!).find((s) => s.name === 'Probe')!)

  const describeType = (t: ts.Type): string => {
    if (t.flags & ts.TypeFlags.Unknown) return 'unknown'
    if (t.flags & ts.TypeFlags.Any) return 'any'
    if (t.flags & (ts.TypeFlags.String | ts.TypeFlags.StringLiteral | ts.TypeFlags.TemplateLiteral)) return 'string'
    if (t.flags & (ts.TypeFlags.Number | ts.TypeFlags.NumberLiteral)) return 'number'
    if (t.flags & (ts.TypeFlags.Boolean | ts.TypeFlags.BooleanLiteral)) return 'boolean'
    if (t.flags & (ts.TypeFlags.BigInt | ts.TypeFlags.BigIntLiteral)) return 'bigint'
    if (t.flags & ts.TypeFlags.Undefined) return 'undefined'
    if (t.isUnion()) return [...new Set(t.types.map(describeType))].sort().join(' | ')
    if (checker.isArrayType(t)) return `${describeType(checker.getTypeArguments(t as ts.TypeReference)[0]!)}[]`
    // Kysely unwraps one ColumnType only: Generated<ColumnType<…>> selects as the wrapper object.
    if (t.getProperty('__select__')) return `${checker.typeToString(t)} (a ColumnType inside a ColumnType, e.g. kysely's Generated<Timestamp>)`
    if (t.symbol?.name === 'Date') return 'Date'
    return checker.typeToString(t)
  }
  const membersOf = (t: ts.Type) => (t.isUnion() && !(t.flags & ts.TypeFlags.Boolean) ? t.types : [t])
  const propType = (owner: ts.Type, name: string) => checker.getTypeOfSymbol(owner.getProperty(name)!)

  const tables = new Map<string, Map<string, InterfaceColumn>>()
  for (const table of probeType.getProperties()) {
    const columns = new Map<string, InterfaceColumn>()
    const tableType = checker.getTypeOfSymbol(table)
    for (const column of tableType.getProperties()) {
      const pair = checker.getTypeOfSymbol(column)
      const declared = propType(pair, 'declared')
      const select = propType(pair, 'select')
      const insert = propType(pair, 'insert')
      const notNull = membersOf(select).filter((m) => !(m.flags & ts.TypeFlags.Null))
      const kinds = [...new Set(notNull.map(describeType))].sort()
      columns.set(column.name, {
        select: kinds.join(' | ') || 'never',
        // `Json | null` selects as `unknown | null`, which the compiler folds into `unknown`: the field as
        // declared still says `| null`.
        nullable: notNull.length < membersOf(select).length || membersOf(declared).some((m) => m.flags & ts.TypeFlags.Null),
        generated: Boolean(insert.flags & ts.TypeFlags.Never) || membersOf(insert).some((m) => m.flags & (ts.TypeFlags.Undefined | ts.TypeFlags.Void)),
      })
    }
    tables.set(table.name, columns)
  }
  return tables
}

/** Every difference, one line each: `table.column: interface says X, catalog says Y`. */
function differences(catalog: CatalogColumn[], interfaces: Map<string, Map<string, InterfaceColumn>>): string[] {
  const out: string[] = []
  const byTable = new Map<string, CatalogColumn[]>()
  for (const c of catalog) byTable.set(c.table, [...(byTable.get(c.table) ?? []), c])

  for (const table of byTable.keys()) {
    if (!interfaces.has(table) && !UNTYPED.has(table)) out.push(`${table}: no interface in the Database type, catalog has the table`)
    if (interfaces.has(table) && UNTYPED.has(table)) out.push(`${table}: listed as untyped but has an interface`)
  }
  for (const table of interfaces.keys()) {
    if (!byTable.has(table)) out.push(`${table}: interface in the Database type, catalog has no such table`)
  }

  for (const [table, columns] of byTable) {
    const typed = interfaces.get(table)
    if (!typed) continue
    for (const c of columns) {
      const at = `${table}.${c.column}`
      const t = typed.get(c.column)
      if (!t) {
        out.push(`${at}: interface has no such column, catalog says ${c.type}${c.nullable ? '' : ' not null'}`)
        continue
      }
      const expected = SELECTS_AS[c.type]
      if (!expected) out.push(`${at}: catalog type ${c.type} has no mapping in this test (add it to SELECTS_AS)`)
      else if (t.select !== expected) out.push(`${at}: interface says ${t.select}, catalog says ${c.type} (selects as ${expected})`)
      if (t.nullable !== c.nullable)
        out.push(`${at}: interface says ${t.nullable ? '… | null' : 'not null'}, catalog says ${c.nullable ? 'nullable' : 'not null'}`)
      if (t.generated !== (c.default !== null)) {
        out.push(
          `${at}: interface says ${t.generated ? 'Generated<> (insert may omit it)' : 'no default (not Generated<>)'}, catalog says ${c.default === null ? 'no default' : `default ${c.default}`}`,
        )
      }
    }
    const inCatalog = new Set(columns.map((c) => c.column))
    for (const column of typed.keys()) {
      if (!inCatalog.has(column)) out.push(`${table}.${column}: interface has the column, catalog has no such column`)
    }
  }
  return out
}

describe('Kysely table interfaces match the migrated catalog', () => {
  let wh: TestWarehouse
  let catalog: CatalogColumn[]
  let interfaces: Map<string, Map<string, InterfaceColumn>>
  beforeAll(async () => {
    wh = await createTestWarehouse()
    catalog = await readCatalog(wh)
    interfaces = readInterfaces()
  })
  afterAll(async () => wh?.dispose())

  it('reads both sides', () => {
    // Guards against a vacuous pass (a probe that resolved to nothing, a catalog query that matched nothing).
    expect(interfaces.size).toBeGreaterThan(30)
    expect(new Set(catalog.map((c) => c.table)).size).toBeGreaterThan(30)
    expect(interfaces.get('etl.runs')?.get('started_at')).toBeDefined()
  })

  it('has the same tables, columns, nullability, defaults and types', () => {
    const diff = differences(catalog, interfaces)
    expect(diff, `The table interfaces and the migrations disagree:\n  ${diff.join('\n  ')}\n`).toEqual([])
  })

  it('reports drift one line per column', () => {
    // A catalog that drifted from the interfaces in each way the test knows (real drift, if any, is the
    // previous test's to report).
    const real = new Set(differences(catalog, interfaces))
    const drifted = catalog
      .filter((c) => c.table !== 'etl.schema_migrations')
      .map((c) => (c.table === 'etl.runs' && c.column === 'requests' ? { ...c, type: 'bigint' } : c))
      .map((c) => (c.table === 'etl.runs' && c.column === 'host' ? { ...c, nullable: false } : c))
      .map((c) => (c.table === 'etl.runs' && c.column === 'message' ? { ...c, default: "''::text" } : c))
      .filter((c) => !(c.table === 'etl.runs' && c.column === 'pid'))
      .concat({ table: 'etl.runs', column: 'added', type: 'text', nullable: true, default: null })
    expect(differences(drifted, interfaces).filter((d) => !real.has(d))).toEqual([
      'etl.schema_migrations: interface in the Database type, catalog has no such table',
      'etl.runs.requests: interface says number, catalog says bigint (selects as string)',
      `etl.runs.message: interface says no default (not Generated<>), catalog says default ''::text`,
      'etl.runs.host: interface says … | null, catalog says not null',
      'etl.runs.added: interface has no such column, catalog says text',
      'etl.runs.pid: interface has the column, catalog has no such column',
    ])
  })
})
