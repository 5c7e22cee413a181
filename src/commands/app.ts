import { existsSync, statSync } from 'node:fs'
import path from 'node:path'
import { InvalidArgumentError } from 'commander'
import { DEFAULT_CONFIG_PATH, loadConfig, type Config } from '../config.js'
import { openWarehouse, type Warehouse } from '../db/index.js'
import { migrateToLatest } from '../db/migrate.js'
import { ConfigError, EtlError } from '../errors.js'
import { createLogger, type Logger } from '../log.js'
import { systemClock } from '../clock.js'
import type { SourceModule } from '../sources/types.js'

export interface GlobalOptions {
  config?: string
  logLevel?: string
  /** `--debug`: debug logs and the stack trace of a failure. */
  debug?: boolean
}

export interface OpenOptions {
  /** Apply pending migrations first. @default true */
  migrate?: boolean
  /** The command does nothing useful without a config file (accounts): refuse when there is none. */
  requireConfig?: boolean
  /** The command loads rows (sync, load-file, schedule): an embedded warehouse gets optimized code. */
  loads?: boolean
}

/** The log level the global options ask for (`--debug` wins), else LOG_LEVEL, else info. */
export const logLevelOf = (global: GlobalOptions): string | undefined => (global.debug ? 'debug' : global.logLevel)

/** Refuses a command that needs accounts when neither --config, $ETL_CONFIG nor ./etl.config.yaml exists. */
export function requireConfigFile(global: GlobalOptions, env: NodeJS.ProcessEnv = process.env): void {
  if (global.config || env.ETL_CONFIG) return // an explicit path that is missing fails in loadConfig, naming it
  const file = path.resolve(DEFAULT_CONFIG_PATH)
  if (!existsSync(file))
    throw new ConfigError(`No config file: ${file} does not exist (write one with \`course-etl init\`, or pass --config PATH / set ETL_CONFIG)`)
}

/** Everything a command needs, opened once: config → logger → warehouse (migrated). */
export async function openApp(global: GlobalOptions, options: OpenOptions = {}): Promise<{ config: Config; log: Logger; warehouse: Warehouse }> {
  if (options.requireConfig) requireConfigFile(global)
  const config = loadConfig({ path: global.config })
  const log = createLogger({ level: logLevelOf(global) })
  const warehouse = await openWarehouse({ database: config.database, dataDir: config.dataDir, log, optimizeWasm: options.loads })
  try {
    if (options.migrate ?? true) await migrateToLatest(warehouse, log)
  } catch (err) {
    await warehouse.close()
    throw err
  }
  return { config, log, warehouse }
}

/** Runs `fn` with an opened app and always closes the warehouse. */
export async function withApp<T>(
  global: GlobalOptions,
  options: OpenOptions,
  fn: (app: { config: Config; log: Logger; warehouse: Warehouse }) => Promise<T>,
): Promise<T> {
  const app = await openApp(global, options)
  try {
    return await fn(app)
  } finally {
    await app.warehouse.close()
  }
}

/** Account / cabinet names every source configures, per source (the sources read the config themselves). */
export function configuredAccounts(config: Config, sources: readonly SourceModule[], log: Logger): Map<string, string[]> {
  const out = new Map<string, string[]>()
  for (const m of sources) out.set(m.name, [...new Set(m.streams(config, {}, { clock: systemClock, log }).map((s) => s.account))])
  return out
}

/** Refuses an account name no source configures. */
export function requireAccount(name: string, config: Config, sources: readonly SourceModule[], log: Logger): void {
  const all = [...configuredAccounts(config, sources, log).values()].flat()
  if (!all.includes(name)) throw new EtlError('USAGE', `No configured account named "${name}"; configured: ${all.join(', ') || 'none'}`)
}

/** `dump --out` must name a file: a directory is refused before anything is written (a missing folder is created by the dump). */
export function requireFileTarget(out: string): void {
  const file = path.resolve(out)
  if (existsSync(file) && statSync(file).isDirectory())
    throw new EtlError('USAGE', `--out ${out} is a directory; give a file name (or use --all --out-dir DIR)`)
}

/** A calendar day `YYYY-MM-DD` that exists (2025-02-30 does not). */
export function day(value: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value)
  const d = m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) : null
  if (!m || !d || d.toISOString().slice(0, 10) !== value) throw new InvalidArgumentError(`expected a date YYYY-MM-DD that exists, got "${value}"`)
  return value
}

/** A whole number ≥ 1 (`--limit`, `--concurrency`). */
export function positiveInt(value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new InvalidArgumentError(`expected a whole number ≥ 1, got "${value}"`)
  return Number(value)
}

/** `26h`, `90m`, `2d`, `3600s` (or plain seconds) → seconds. */
export function duration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/.exec(value.trim())
  if (!m || Number(m[1]) <= 0) throw new InvalidArgumentError(`expected a duration such as 26h, 90m, 2d, got "${value}"`)
  return Math.round(Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'])
}
