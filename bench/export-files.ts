import { once } from 'node:events'
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs'
import path from 'node:path'
import { finished } from 'node:stream/promises'
import { generateExportFile } from '../src/simulators/getcourse/export-file.js'
import { phpJson, rowJson } from '../src/simulators/getcourse/php-json.js'
import type { Cell } from '../src/simulators/getcourse/columns.js'
import { ExportScanner, UnreadableRow } from '../src/sources/getcourse/export-scanner.js'

/** Scratch directory for generated exports; reused across runs (gitignored under .data/). */
export const BENCH_DATA = path.resolve(process.env.BENCH_DATA_DIR ?? '.data/bench')

export type BenchStream = 'users' | 'deals'

export interface CachedExport {
  path: string
  rows: number
  bytes: number
}

/**
 * The cell a "full update" changes in every row: users get a new last activity (a typed column),
 * deals a new «Дата изменения» (kept in `extra` jsonb). Every row then differs from what is stored.
 */
export const UPDATED_CELL: Record<BenchStream, { title: string; value: string }> = {
  users: { title: 'Последняя активность', value: '2026-01-02 12:00:00' },
  deals: { title: 'Дата изменения', value: '2026-01-02 12:00:00' },
}

async function writeAtomically(file: string, write: (temp: string) => Promise<void>): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true })
  const temp = `${file}.${process.pid}.partial`
  await write(temp)
  renameSync(temp, file)
}

const result = (file: string, rows: number): CachedExport => ({ path: file, rows, bytes: statSync(file).size })

/**
 * A realistic GetCourse export body (what the API returns) with `rows` rows, generated once by the
 * simulator and cached: the name carries stream, rows and seed, so a cached file is the same data.
 */
export async function cachedExport(stream: BenchStream, rows: number, seed = 11): Promise<CachedExport> {
  const file = path.join(BENCH_DATA, `getcourse-${stream}-${rows}-s${seed}.json`)
  if (!existsSync(file)) await writeAtomically(file, async (temp) => void (await generateExportFile(temp, { stream, rows, seed })))
  return result(file, rows)
}

/** The same export with `UPDATED_CELL` changed in every row (cached next to it). */
export async function cachedUpdatedExport(stream: BenchStream, rows: number, seed = 11): Promise<CachedExport> {
  const source = await cachedExport(stream, rows, seed)
  const file = source.path.replace(/\.json$/, '-updated.json')
  if (existsSync(file)) return result(file, rows)
  await writeAtomically(file, async (temp) => {
    const out = createWriteStream(temp)
    const scanner = new ExportScanner()
    let column = -1
    let written = 0
    const { title, value } = UPDATED_CELL[stream]
    const write = async (text: string) => {
      if (!out.write(text, 'latin1')) await once(out, 'drain')
    }
    for await (const chunk of createReadStream(source.path)) {
      scanner.push(chunk as Buffer)
      if (column < 0 && scanner.fields !== undefined) {
        const fields = scanner.fields as string[]
        column = fields.indexOf(title)
        if (column < 0) throw new Error(`${source.path} has no column ${title}`)
        await write(`{"success":true,"info":{"fields":${phpJson(fields)},"items":[`)
      }
      let text = ''
      for (const row of scanner.take()) {
        if (row instanceof UnreadableRow) throw new Error(`${source.path}: ${row.reason}`)
        row[column] = value
        text += (written++ ? ',' : '') + rowJson(row as Cell[])
      }
      if (text) await write(text)
    }
    scanner.end()
    await write(']}}')
    out.end()
    await finished(out)
  })
  return result(file, rows)
}

// `tsx bench/export-files.ts users 1000000`: pre-generate a file and its updated twin.
if (import.meta.url === `file://${process.argv[1]}`) {
  const [stream, rows] = process.argv.slice(2)
  const a = await cachedExport(stream as BenchStream, Number(rows))
  const b = await cachedUpdatedExport(stream as BenchStream, Number(rows))
  for (const r of [a, b]) console.log(r.path, (r.bytes / 1e6).toFixed(0), 'MB')
}
