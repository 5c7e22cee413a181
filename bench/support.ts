import { execFileSync, spawnSync } from 'node:child_process'
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { openWarehouse, type Warehouse } from '../src/db/index.js'
import { migrateToLatest } from '../src/db/migrate.js'
import { createLogger } from '../src/log.js'

export const benchLog = createLogger({ level: process.env.BENCH_LOG_LEVEL ?? 'silent', pretty: false })
export const RESULTS = path.resolve('bench/RESULTS.md')

export interface Figure {
  name: string
  value: number
  unit: string
  /** Baseline measured in the same run, and the target on value/baseline (or on value itself). */
  baseline?: { name: string; value: number }
  target?: { op: '>=' | '<='; value: number; of: 'ratio' | 'value' }
  note?: string
}

export interface BenchContext {
  /** A fresh, migrated database on the benchmark server, dropped after the bench. */
  warehouse: Warehouse
  url: string
  /** `--scale`: multiply the default sizes (1 = the sizes the targets are defined for). */
  scale: number
}

/** A `bench/<name>.bench.ts` file exports `bench`. */
export interface Bench {
  name: string
  /** Lower runs first. @default 50 */
  order?: number
  run(ctx: BenchContext): Promise<Figure[]>
}

export function ratio(f: Figure): number | undefined {
  return f.baseline ? f.value / f.baseline.value : undefined
}

export function verdict(f: Figure): string {
  if (!f.target) return ''
  const v = f.target.of === 'ratio' ? ratio(f)! : f.value
  const ok = f.target.op === '>=' ? v >= f.target.value : v <= f.target.value
  return `${ok ? 'met' : 'MISSED'} (${f.target.of === 'ratio' ? 'ratio ' : ''}${f.target.op} ${f.target.value})`
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(2))

export function formatFigure(f: Figure): string {
  const r = ratio(f)
  return `| ${f.name} | ${fmt(f.value)} ${f.unit} | ${f.baseline ? `${f.baseline.name}: ${fmt(f.baseline.value)} ${f.unit}` : ''} | ${r === undefined ? '' : `${r.toFixed(2)}×`} | ${verdict(f)} | ${f.note ?? ''} |`
}

export function machine(serverVersion: string): string {
  const cpu = os.cpus()
  return `${cpu.length} cores (${cpu[0]?.model.trim() ?? '?'}), Node ${process.version}, ${serverVersion}, load avg ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join('/')}`
}

export function appendResults(title: string, machineLine: string, figures: Figure[]): void {
  // Exploratory runs (BENCH_NO_RECORD=1) print their figures but leave the record alone.
  if (process.env.BENCH_NO_RECORD === '1') return
  if (!existsSync(RESULTS))
    writeFileSync(RESULTS, '# Benchmark results\n\nAppended by `npm run bench`; newest last. Ratios are against a baseline measured in the same run.\n')
  const rows = figures.map(formatFigure).join('\n')
  appendFileSync(
    RESULTS,
    `\n## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — ${title}\n\n${machineLine}\n\n| figure | value | baseline | ratio | target | note |\n|---|---|---|---|---|---|\n${rows}\n`,
  )
}

/** A fresh, migrated database on the benchmark server (BENCH_DATABASE_URL, else TEST_DATABASE_URL, else local). */
export async function benchWarehouse(): Promise<{ warehouse: Warehouse; url: string; drop: () => Promise<void>; serverVersion: string }> {
  const base = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
  const name = `course_etl_bench_${randomBytes(4).toString('hex')}`
  const admin = new pg.Client({ connectionString: base })
  await admin.connect()
  await admin.query(`create database ${name}`)
  const { rows } = await admin.query<{ v: string }>(`select split_part(version(), ' on ', 1) as v`)
  await admin.end()
  const u = new URL(base)
  u.pathname = `/${name}`
  const warehouse = await openWarehouse({ database: u.toString(), log: benchLog })
  await migrateToLatest(warehouse, benchLog)
  return {
    warehouse,
    url: u.toString(),
    serverVersion: rows[0]!.v,
    drop: async () => {
      await warehouse.close()
      const c = new pg.Client({ connectionString: base })
      await c.connect()
      await c.query(`drop database if exists ${name} with (force)`)
      await c.end()
    },
  }
}

export function peakRssOfChild(script: string, args: string[], env: NodeJS.ProcessEnv = {}): { rssMb: number; output: string } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', script, ...args], { env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 1 << 24 })
  const m = /PEAK_RSS_KB=(\d+)/.exec(out)
  if (!m) throw new Error(`child did not report its peak RSS:\n${out}`)
  return { rssMb: Number(m[1]) / 1024, output: out }
}

/**
 * `course-etl load-file` as users run it: `bin/course-etl.js` in a child process with its own config
 * pointing at the bench database, timed from spawn to exit (startup included). `bench/peak-rss.mjs`
 * reports the child's peak RSS and CPU time (every thread).
 */
export function loadFileCommand(url: string, stream: string, file: string): { ms: number; cpuMs: number; peakMb: number; stdout: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-load-file-'))
  const configFile = path.join(dir, 'etl.config.json')
  writeFileSync(
    configFile,
    JSON.stringify({ database: url, dataDir: path.join(dir, 'data'), getcourse: [{ name: 'bench', account: 'bench', key: 'bench-key-0000' }] }),
  )
  try {
    const started = performance.now()
    const res = spawnSync(
      process.execPath,
      ['--import', './bench/peak-rss.mjs', 'bin/course-etl.js', '--config', configFile, 'load-file', '--account', 'bench', '--stream', stream, '--file', file],
      { encoding: 'utf8', maxBuffer: 1 << 24, env: { ...process.env, LOG_LEVEL: 'warn' } },
    )
    const ms = performance.now() - started
    const peak = /PEAK_RSS_KB=(\d+)/.exec(res.stdout)
    const cpu = /CPU_US=(\d+)/.exec(res.stdout)
    if (res.status !== 0 || !peak || !cpu) throw new Error(`load-file ${file} exited ${res.status}:\n${res.stdout}\n${res.stderr}`)
    return { ms, cpuMs: Number(cpu[1]) / 1000, peakMb: Number(peak[1]) / 1024, stdout: res.stdout }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export async function time<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = performance.now()
  const result = await fn()
  return { ms: performance.now() - t0, result }
}
