import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { sql } from 'kysely'
import { from as copyFrom, to as copyTo } from 'pg-copy-streams'
import { parseConfig } from '../src/config.js'
import type { Warehouse } from '../src/db/index.js'
import { TABLES } from '../src/sources/getcourse/columns.js'
import { readExport } from '../src/sources/getcourse/export-reader.js'
import type { ExportRow } from '../src/sources/getcourse/export-scanner.js'
import { createNormalizer } from '../src/sources/getcourse/normalize.js'
import { cachedExport, cachedUpdatedExport, UPDATED_CELL, type BenchStream, type CachedExport } from './export-files.js'
import { cachedRealisticExport, REALISTIC_UPDATED } from './realistic-export.js'
import { loadFileCommand, time, type Bench, type Figure } from './support.js'

/** BENCH_LOAD_DATA=synthetic: the simulator's default exports (the figures before 2026-12-03), for comparison only. */
const SYNTHETIC = process.env.BENCH_LOAD_DATA === 'synthetic'
const exportsFor = async (stream: BenchStream, rows: number): Promise<{ original: CachedExport; updated: CachedExport; cell: string }> =>
  SYNTHETIC
    ? { original: await cachedExport(stream, rows), updated: await cachedUpdatedExport(stream, rows), cell: UPDATED_CELL[stream].title }
    : {
        original: await cachedRealisticExport(stream, rows),
        updated: await cachedRealisticExport(stream, rows, 'updated'),
        cell: REALISTIC_UPDATED[stream].title,
      }

/**
 * `course-etl load-file`, the whole command in a child process (startup included), on the server
 * warehouse, on realistic exports (bench/realistic-export.ts; BENCH_LOAD_DATA=synthetic for the
 * simulator's default ones), against raw `COPY … FROM STDIN` of the rows exactly as the load stored
 * them, in the same run:
 *
 * - insert: the export into an empty table;
 * - full update: the same export with one cell changed in every row (REALISTIC_UPDATED), so every
 *   row is rewritten. The table is vacuumed (untimed) first, as a table loaded for a while would be.
 * - baselines: the loaded table exported with `COPY … TO` (untimed), then COPY'd into a table with
 *   the primary key only and into `LIKE … INCLUDING ALL` (same indexes); `synced_at` is left to its
 *   default as in the load.
 * - Node CPU per row of each pass (the CLI's own `resourceUsage`, every thread).
 */
export const bench: Bench = {
  name: 'load',
  order: 10,
  async run({ warehouse, url, scale }) {
    const rows = Math.max(1000, Math.round(1_000_000 * scale))
    const figures: Figure[] = []
    for (const stream of ['users', 'deals'] as const) figures.push(...(await benchStream(warehouse, url, stream, rows)))
    return figures
  },
}

const config = parseConfig({ getcourse: [{ name: 'bench', account: 'bench', key: 'bench-key-0000' }] })
const fmt = (n: number) => n.toLocaleString('en-US')

/** The whole `load-file` command on `file`, and what it said it inserted and updated. */
function loadFile(url: string, stream: BenchStream, file: string): { ms: number; cpuMs: number; counts: { inserted: number; updated: number } } {
  const run = loadFileCommand(url, stream, file)
  const summary = /(\d+) read, (\d+) inserted, (\d+) updated/.exec(run.stdout)
  if (!summary) throw new Error(`load-file ${file} printed no summary:\n${run.stdout}`)
  return { ms: run.ms, cpuMs: run.cpuMs, counts: { inserted: Number(summary[2]), updated: Number(summary[3]) } }
}

async function query(warehouse: Warehouse, text: string): Promise<void> {
  await sql.raw(text).execute(warehouse.db)
}

async function benchStream(warehouse: Warehouse, url: string, stream: BenchStream, rows: number): Promise<Figure[]> {
  const { original, updated, cell } = await exportsFor(stream, rows)
  const { table } = TABLES[stream]
  const mb = (original.bytes / 1e6).toFixed(0)
  const data = SYNTHETIC ? 'synthetic' : 'realistic'

  await query(warehouse, 'checkpoint')
  const insert = loadFile(url, stream, original.path)
  if (insert.counts.inserted !== rows) throw new Error(`${stream}: expected ${rows} inserted, got ${JSON.stringify(insert.counts)}`)

  const copy = await copyBaselines(warehouse, table)

  await query(warehouse, `vacuum analyze ${table}`)
  await query(warehouse, 'checkpoint')
  const update = loadFile(url, stream, updated.path)
  if (update.counts.updated !== rows) throw new Error(`${stream}: expected ${rows} updated, got ${JSON.stringify(update.counts)}`)

  const parse = await parseOnly(original.path)
  const normalize = await normalizeOnly(stream, original.path, Math.min(rows, 50_000))

  const sameIndex = { name: 'COPY FROM STDIN, same indexes', value: copy.sameIndex }
  const pkOnly = { name: 'COPY FROM STDIN, primary key only', value: copy.pkOnly }
  const rate = (ms: number) => rows / (ms / 1000)
  const us = (ms: number) => `${((ms * 1000) / rows).toFixed(1)} µs/row of Node CPU`
  return [
    {
      name: `${stream} insert (${fmt(rows)} ${data} rows, ${mb} MB)`,
      value: rate(insert.ms),
      unit: 'rows/s',
      baseline: sameIndex,
      target: { op: '>=', value: 0.8, of: 'ratio' },
      note: `the whole \`course-etl load-file\` command (startup included), ${config.batchSize}-row batches, into an empty table; ${us(insert.cpuMs)}; COPY rows ${copy.bytesPerRow.toFixed(0)} B`,
    },
    { name: `${stream} insert vs PK-only COPY`, value: rate(insert.ms), unit: 'rows/s', baseline: pkOnly, target: { op: '>=', value: 0.5, of: 'ratio' } },
    {
      name: `${stream} full update`,
      value: rate(update.ms),
      unit: 'rows/s',
      baseline: sameIndex,
      target: { op: '>=', value: 0.5, of: 'ratio' },
      note: `same rows, «${cell}» changed in every row: all ${fmt(rows)} updated; ${us(update.cpuMs)}`,
    },
    { name: `${stream} parse only`, value: parse, unit: 'rows/s', note: 'readExport of the file (scan + JSON.parse), no normalize, no database' },
    { name: `${stream} normalize only`, value: normalize, unit: 'rows/s', note: 'createNormalizer().normalize on parsed rows in memory' },
  ]
}

/**
 * COPY rates of the rows exactly as the load stored them (`COPY … TO` of the loaded table, untimed),
 * into a fresh table with the primary key only and into one with the same indexes (`LIKE … INCLUDING
 * ALL`); `synced_at` is left to its default as in the load. PK-only first, then same-index, in the same run.
 */
async function copyBaselines(warehouse: Warehouse, table: string): Promise<{ pkOnly: number; sameIndex: number; bytesPerRow: number }> {
  const { rows: cols } = await sql<{ name: string }>`
    select attname as name from pg_attribute where attrelid = ${table}::regclass and attnum > 0 and not attisdropped and attgenerated = '' and attname <> 'synced_at' order by attnum`.execute(
    warehouse.db,
  )
  const { rows: pk } = await sql<{ def: string }>`
    select pg_get_constraintdef(oid) as def from pg_constraint where conrelid = ${table}::regclass and contype = 'p'`.execute(warehouse.db)
  const list = cols.map((c) => `"${c.name}"`).join(', ')
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-load-'))
  const file = path.join(dir, 'rows.copy')
  const target = `bench_copy_${table.replace('.', '_')}`
  const client = await warehouse.pool!.connect()
  try {
    await pipeline(client.query(copyTo(`copy ${table} (${list}) to stdout`)), createWriteStream(file))
    const { rows } = await client.query<{ n: number }>(`select count(*)::int as n from ${table}`)
    const n = rows[0]!.n
    const copyInto = async (create: string) => {
      await client.query(`drop table if exists ${target}; ${create}; checkpoint`)
      const t = await time(() => pipeline(createReadStream(file, { highWaterMark: 1 << 16 }), client.query(copyFrom(`copy ${target} (${list}) from stdin`))))
      await client.query(`drop table ${target}; checkpoint`)
      return n / (t.ms / 1000)
    }
    const pkOnly = await copyInto(`create table ${target} (like ${table} including defaults, ${pk[0]!.def})`)
    const sameIndex = await copyInto(`create table ${target} (like ${table} including all)`)
    return { pkOnly, sameIndex, bytesPerRow: statSync(file).size / n }
  } finally {
    client.release()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function parseOnly(file: string, archive = false): Promise<number> {
  const dir = archive ? mkdtempSync(path.join(tmpdir(), 'bench-archive-')) : null
  try {
    const t = await time(async () => {
      let n = 0
      const archivePath = dir ? path.join(dir, 'export.json.gz') : undefined
      for await (const event of readExport(createReadStream(file), { batchSize: config.batchSize, label: 'bench', archivePath })) n += event.rows.length
      return n
    })
    return t.result / (t.ms / 1000)
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true })
  }
}

async function normalizeOnly(stream: BenchStream, file: string, rows: number): Promise<number> {
  let fields: string[] = []
  const parsed: ExportRow[] = []
  const input = createReadStream(file)
  for await (const event of readExport(input, { batchSize: config.batchSize, label: 'bench' })) {
    if (event.fields) fields = event.fields
    parsed.push(...event.rows.slice(0, rows - parsed.length))
    if (parsed.length >= rows) break
  }
  input.destroy()
  const normalizer = createNormalizer(stream, fields, { account: 'bench', timeZone: 'Europe/Moscow' })
  let best = 0
  for (let round = 0; round < 3; round++) {
    const t = await time(async () => {
      for (const cells of parsed) if (!normalizer.normalize(cells as never).ok) throw new Error('reject in bench data')
    })
    best = Math.max(best, parsed.length / (t.ms / 1000))
  }
  return best
}
