import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { PassThrough } from 'node:stream'
import { VirtualClock, type Clock } from '../../src/clock.js'
import { parseConfig, type Config } from '../../src/config.js'
import { createLogger, type Logger } from '../../src/log.js'
import { startGetcourseSimulator, type GetcourseSim, type GetcourseSimOptions, type SimAccountOptions } from '../../src/simulators/getcourse/server.js'
import { createGetcourseSource, type GetcourseSourceOptions } from '../../src/sources/getcourse/index.js'
import type { SyncOptions } from '../../src/contract.js'
import { runSync, type SyncSummary } from '../../src/sync.js'
import { createTestWarehouse, type TestWarehouse } from '../support/database.js'

export const KEY = 'gc-test-key-7f3a9c1e5b'

export interface Harness {
  sim: GetcourseSim
  wh: TestWarehouse
  clock: Clock
  config: Config
  log: Logger
  /** Everything logged, as text (to assert that the key never appears). */
  logs(): string
  dataDir: string
  sync(options?: SyncOptions, extra?: { warehouse?: TestWarehouse; signal?: AbortSignal; source?: GetcourseSourceOptions }): Promise<SyncSummary>
  close(): Promise<void>
}

export interface HarnessOptions {
  accounts?: Partial<SimAccountOptions>[]
  sim?: Omit<GetcourseSimOptions, 'accounts' | 'clock'>
  budget?: { requests: number; windowSeconds: number; reserve: number }
  poll?: { firstCheckSeconds: number; maxIntervalSeconds: number; timeoutSeconds: number; maxPendingSeconds?: number }
  clock?: Clock
  batchSize?: number
  source?: GetcourseSourceOptions
  /** The key our config sends (default: the one the simulator accepts). */
  configKey?: string
  /** Load an embedded (PGlite) warehouse even when a server is available. */
  embedded?: boolean
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = options.clock ?? new VirtualClock(Date.UTC(2026, 0, 15, 9, 0, 0))
  const budget = options.budget ?? { requests: 100, windowSeconds: 7200, reserve: 10 }
  const accounts = (options.accounts ?? [{}]).map((a, i) => ({ account: `school${i || ''}`, key: KEY, users: 60, deals: 90, payments: 60, groups: 3, ...a }))
  const sim = await startGetcourseSimulator({ accounts, clock, budget: { requests: budget.requests, windowSeconds: budget.windowSeconds }, ...options.sim })
  const wh = await createTestWarehouse({ embedded: options.embedded })
  const dataDir = mkdtempSync(path.join(tmpdir(), 'gc-test-'))
  const config = parseConfig({
    dataDir,
    batchSize: options.batchSize ?? 25,
    archiveExports: true,
    getcourse: accounts.map((a) => ({
      name: a.account,
      account: a.account,
      key: options.configKey ?? a.key,
      baseUrl: sim.urlFor(a.account),
      timezone: a.timezone ?? 'Europe/Moscow',
      budget,
      poll: options.poll ?? { firstCheckSeconds: 1, maxIntervalSeconds: 60, timeoutSeconds: 3600 },
    })),
  })
  const sink = new PassThrough()
  const chunks: Buffer[] = []
  sink.on('data', (c: Buffer) => chunks.push(c))
  const log = createLogger({ level: 'debug', destination: sink, pretty: false })
  return {
    sim,
    wh,
    clock,
    config,
    log,
    dataDir,
    logs: () => Buffer.concat(chunks).toString('utf8'),
    sync: (sync = {}, extra = {}) =>
      runSync(
        {
          warehouse: extra.warehouse ?? wh,
          config,
          log,
          clock,
          signal: extra.signal,
          sources: [createGetcourseSource({ ...options.source, ...extra.source })],
        },
        sync,
      ),
    async close() {
      await sim.close()
      await wh.dispose()
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}

/** Requests the simulator received for one account, by route kind. */
export function requestKinds(sim: GetcourseSim, account = 'school') {
  const mine = sim.requests.filter((r) => r.account === account)
  return {
    all: mine,
    starts: mine.filter((r) => /^\/pl\/api\/account\/(users|deals|payments|groups\/\d+\/users)$/.test(r.path)),
    polls: mine.filter((r) => r.path.includes('/exports/')),
  }
}
