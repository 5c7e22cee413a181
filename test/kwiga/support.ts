import { PassThrough } from 'node:stream'
import { sql } from 'kysely'
import type { Clock } from '../../src/clock.js'
import { parseConfig, type Config } from '../../src/config.js'
import { createLogger, type Logger } from '../../src/log.js'
import type { KwigaSim } from '../../src/simulators/kwiga/server.js'
import { createKwigaSource, type KwigaSourceOptions } from '../../src/sources/kwiga/index.js'
import type { SyncOptions } from '../../src/contract.js'
import { runSync, type SyncDeps } from '../../src/sync.js'
import { quietLog, type TestWarehouse } from '../support/database.js'

export interface TestCabinet {
  name: string
  token: string
  cabinetHash: string
}

export const CABINETS: TestCabinet[] = [
  { name: 'alpha', token: 'tok-alpha-7f3a9c1e55', cabinetHash: 'hash-alpha-0b9d2e' },
  { name: 'beta', token: 'tok-beta-2c6e8a4d91', cabinetHash: 'hash-beta-51f7aa' },
]

export function kwigaConfig(sim: KwigaSim, cabinets: TestCabinet[], rateLimit = { requests: 200, windowSeconds: 60 }): Config {
  return parseConfig({ kwiga: cabinets.map((c) => ({ ...c, baseUrl: sim.url, rateLimit })) })
}

export interface SyncKit {
  wh: TestWarehouse
  config: Config
  clock: Clock
  log?: Logger
  source?: KwigaSourceOptions
  onProgress?: SyncDeps['onProgress']
}

export function syncKwiga(kit: SyncKit, options: SyncOptions = {}) {
  return runSync(
    { warehouse: kit.wh, config: kit.config, log: kit.log ?? quietLog, clock: kit.clock, sources: [createKwigaSource(kit.source)], onProgress: kit.onProgress },
    options,
  )
}

export async function count(wh: TestWarehouse, table: string, cabinet?: string): Promise<number> {
  const where = cabinet ? sql` where cabinet = ${cabinet}` : sql``
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.raw(table)}${where}`.execute(wh.db)
  return rows[0]!.n
}

/** A logger writing JSON lines into memory, to search for leaked secrets. */
export function captureLog(): { log: Logger; text: () => string } {
  const out = new PassThrough()
  const chunks: Buffer[] = []
  out.on('data', (c: Buffer) => chunks.push(c))
  return { log: createLogger({ destination: out, level: 'debug', pretty: false }), text: () => Buffer.concat(chunks).toString('utf8') }
}
