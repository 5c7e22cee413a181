/**
 * Issue 7.3 — faults. Both simulators inject HTTP 500/502/503, connection resets, hangs, truncated
 * bodies, HTML pages with status 200, GetCourse 903/905/909/910, KWIGA 429 storms and shifting
 * pages, at random places and in random numbers (sometimes more than the retries allow). Every
 * stream ends as a success whose tables equal the dataset, or as a clear error (code + message) in
 * etl.runs — never as a partial load recorded as success — and later runs complete the load.
 *
 * In-process (runSync) with a virtual clock, so backoffs, budget windows and Retry-After cost no
 * real time; the simulators still answer over loopback HTTP and the warehouse is the real Postgres.
 * Hangs are real time: the GetCourse client's timeout (120 s) and KWIGA's (60 s) are not
 * configurable, so a hang stays below them (GetCourse drops the socket after it, KWIGA answers late).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VirtualClock } from '../../src/clock.js'
import { parseConfig, type Config } from '../../src/config.js'
import { startGetcourseSimulator, type Fault as GcFault, type GetcourseSim } from '../../src/simulators/getcourse/server.js'
import { startKwigaSimulator, type Fault as KwFault, type KwigaSim } from '../../src/simulators/kwiga/server.js'
import { createGetcourseSource } from '../../src/sources/getcourse/index.js'
import { createKwigaSource } from '../../src/sources/kwiga/index.js'
import { runSync, type SyncSummary } from '../../src/sync.js'
import { createTestWarehouse, quietLog, type TestWarehouse } from '../support/database.js'
import { GC_ACCOUNT, KW_CABINET, SECRETS, dataTables, digestDiff, partialSuccesses, prng, stableRows, tableDigests } from './harness.js'

const SEED = Number(process.env.RELIABILITY_SEED ?? Math.floor(Math.random() * 2 ** 31))
const T0 = Date.UTC(2026, 0, 15, 9, 0, 0)

type Injection = { label: string; gc?: GcFault; kw?: KwFault; repeat: [number, number] }

/** The catalogue: each entry is injected `repeat` times (a random count in the range). */
const CATALOGUE: Injection[] = [
  { label: 'GC 500 on a start', gc: { kind: 'http', status: 500, path: /\/users$/ }, repeat: [1, 5] },
  { label: 'GC 502 on a poll', gc: { kind: 'http', status: 502, path: /\/exports\// }, repeat: [1, 5] },
  { label: 'GC 503 on groups', gc: { kind: 'http', status: 503, path: /\/groups$/ }, repeat: [1, 5] },
  { label: 'GC reset on a deals start', gc: { kind: 'reset', path: /\/deals$/ }, repeat: [1, 5] },
  { label: 'GC reset on a poll', gc: { kind: 'reset', path: /\/exports\// }, repeat: [1, 3] },
  { label: 'GC hang on a poll', gc: { kind: 'hang', ms: 700, path: /\/exports\// }, repeat: [1, 2] },
  { label: 'GC HTML page with 200 on fields', gc: { kind: 'html200', path: /\/fields$/ }, repeat: [1, 4] },
  { label: 'GC HTML page with 200 on a poll', gc: { kind: 'html200', path: /\/exports\// }, repeat: [1, 3] },
  { label: 'GC body cut off mid-row', gc: { kind: 'truncate' }, repeat: [1, 2] },
  { label: 'GC body cut off, socket dropped', gc: { kind: 'truncate', abort: true }, repeat: [1, 2] },
  { label: 'GC 903 on a poll', gc: { kind: 'code', code: 903, path: /\/exports\// }, repeat: [1, 2] },
  { label: 'GC 905 on a payments start', gc: { kind: 'code', code: 905, path: /\/payments$/ }, repeat: [1, 4] },
  { label: 'GC 909 on a poll', gc: { kind: 'code', code: 909, path: /\/exports\// }, repeat: [1, 4] },
  { label: 'GC 910 on a poll', gc: { kind: 'code', code: 910, path: /\/exports\// }, repeat: [1, 2] },
  { label: 'KW 500 on contacts', kw: { kind: 'http', status: 500, path: /^\/contacts$/ }, repeat: [1, 7] },
  { label: 'KW 502 on products', kw: { kind: 'http', status: 502, path: /^\/products$/ }, repeat: [1, 7] },
  { label: 'KW 503 on course users', kw: { kind: 'http', status: 503, path: /^\/courses\/\d+\/users$/ }, repeat: [1, 7] },
  { label: 'KW reset on offers', kw: { kind: 'reset', path: /^\/offers$/ }, repeat: [1, 7] },
  { label: 'KW hang on coupons', kw: { kind: 'hang', ms: 700, path: /^\/coupons$/ }, repeat: [1, 2] },
  { label: 'KW truncated contacts page', kw: { kind: 'truncate', path: /^\/contacts$/ }, repeat: [1, 5] },
  { label: 'KW HTML page with 200 on contact lists', kw: { kind: 'html200', path: /^\/mailing\/contact-lists$/ }, repeat: [1, 5] },
  { label: 'KW HTML page with 200 on a contact’s products', kw: { kind: 'html200', path: /^\/contacts\/\d+\/products$/ }, repeat: [1, 5] },
  { label: 'KW 429 storm', kw: { kind: '429', retryAfter: 20 }, repeat: [5, 25] },
  { label: 'KW shifted contacts page', kw: { kind: 'shift', path: /^\/contacts\?.*page=2/ }, repeat: [1, 1] },
]

interface World {
  clock: VirtualClock
  gc: GetcourseSim
  kw: KwigaSim
  config: Config
  sync(): Promise<SyncSummary>
  close(): Promise<void>
}

let wh: TestWarehouse
const dataDir = mkdtempSync(path.join(tmpdir(), 'rel-faults-'))

/** Fresh simulators on a fresh virtual clock at T0: every round sees the same data at the same time. */
async function world(): Promise<World> {
  const clock = new VirtualClock(T0)
  const gc = await startGetcourseSimulator({
    accounts: [{ account: GC_ACCOUNT, key: SECRETS.gcKey, users: 40, deals: 50, payments: 35, groups: 3, seed: 7 }],
    budget: { requests: 100, windowSeconds: 600 },
    readyAfterMs: ({ rows }) => 2000 + rows * 20,
    clock,
  })
  const kw = await startKwigaSimulator({
    cabinets: [{ token: SECRETS.kwToken, cabinetHash: SECRETS.kwHash, contacts: 120, courses: 2, usersPerCourse: 8, coupons: 6, contactLists: 2, seed: 11 }],
    rateLimit: { requests: 200, windowSeconds: 60 },
    clock,
  })
  const config = parseConfig({
    dataDir,
    batchSize: 10,
    getcourse: [
      {
        name: GC_ACCOUNT,
        account: GC_ACCOUNT,
        key: SECRETS.gcKey,
        baseUrl: gc.urlFor(GC_ACCOUNT),
        budget: { requests: 100, windowSeconds: 600, reserve: 10 },
        poll: { firstCheckSeconds: 2, maxIntervalSeconds: 30, timeoutSeconds: 900 },
      },
    ],
    kwiga: [{ name: KW_CABINET, token: SECRETS.kwToken, cabinetHash: SECRETS.kwHash, baseUrl: kw.url, rateLimit: { requests: 200, windowSeconds: 60 } }],
  })
  const sources = [createGetcourseSource({ budgetWaitMs: 20 * 60_000 }), createKwigaSource({ maxRateLimitWaitMs: 5 * 60_000 })]
  return {
    clock,
    gc,
    kw,
    config,
    sync: () => runSync({ warehouse: wh, config, log: quietLog, clock, sources }),
    async close() {
      await gc.close()
      await kw.close()
    },
  }
}

async function resetAll(): Promise<void> {
  const tables = await dataTables(wh)
  await sql
    .raw(
      `truncate ${[...tables, 'etl.runs', 'etl.stream_state', 'etl.rejects', 'etl.getcourse_exports', 'etl.getcourse_leases', 'etl.getcourse_requests', 'etl.getcourse_budget'].join(', ')} restart identity cascade`,
    )
    .execute(wh.db)
}

let reference: Record<string, string>
const referenceRows: Record<string, string[]> = {}

beforeAll(async () => {
  wh = await createTestWarehouse()
  const w = await world()
  try {
    const clean = await w.sync()
    expect(clean.results.filter((r) => r.status !== 'succeeded')).toEqual([])
    reference = await tableDigests(wh)
    for (const t of await dataTables(wh)) referenceRows[t] = await stableRows(wh, t)
  } finally {
    await w.close()
  }
})
afterAll(async () => {
  await wh?.dispose()
  rmSync(dataDir, { recursive: true, force: true })
})

describe('faults: retried to success or a clear per-account error, never a partial success', () => {
  it(`random fault rounds over the whole catalogue (seed ${SEED})`, { timeout: 240_000 }, async () => {
    const random = prng(SEED)
    const order = [...CATALOGUE].sort(() => random() - 0.5)
    const rounds: Injection[][] = []
    for (let i = 0; i < order.length; i += 3) rounds.push(order.slice(i, i + 3))
    const outcomes: string[] = []
    for (const [n, round] of rounds.entries()) {
      await resetAll()
      const w = await world()
      try {
        const labels: string[] = []
        for (const inj of round) {
          const times = inj.repeat[0] + Math.floor(random() * (inj.repeat[1] - inj.repeat[0] + 1))
          labels.push(`${inj.label} ×${times}`)
          for (let i = 0; i < times; i++) {
            if (inj.gc) w.gc.injectFault(GC_ACCOUNT, inj.gc)
            if (inj.kw) w.kw.injectFault(inj.kw)
          }
        }
        const where = `round ${n + 1} (seed ${SEED}): ${labels.join(', ')}`
        // Faults left over (a stream that failed never asked again) hit the next run: each run must hold the rule.
        // A non-retried fault (e.g. an HTML page on fields) costs one run per injection: up to 5 injections + 1.
        let complete = false
        const statuses: string[] = []
        for (let attempt = 1; attempt <= 6 && !complete; attempt++) {
          const res = await w.sync()
          statuses.push(
            res.results
              .filter((r) => r.status !== 'succeeded')
              .map((r) => `${r.stream}:${r.status}:${r.errorCode}`)
              .join(' ') || 'all succeeded',
          )
          for (const r of res.results) {
            expect(['succeeded', 'failed', 'deferred'], `${where}: ${JSON.stringify(r)}`).toContain(r.status)
            if (r.status !== 'succeeded') {
              expect(r.errorCode, `${where}: ${JSON.stringify(r)}`).toMatch(/^[A-Z_]+$/)
              expect(r.message, `${where}: ${JSON.stringify(r)}`).toBeTruthy()
            }
          }
          const { rows: runs } = await sql<{ status: string; error_code: string | null; message: string | null }>`
            select status, error_code, message from etl.runs where invocation = ${res.invocation}`.execute(wh.db)
          for (const r of runs.filter((x) => x.status !== 'succeeded')) expect(r.error_code && r.message, `${where}: ${JSON.stringify(r)}`).toBeTruthy()
          const latestIds = await sql<{ id: string }>`select min(id)::text as id from etl.runs where invocation = ${res.invocation}`.execute(wh.db)
          expect(await partialSuccesses(wh, reference, Number(latestIds.rows[0]!.id) - 1, referenceRows), where).toEqual([])
          complete = res.results.every((r) => r.status === 'succeeded')
          // A deferred stream (budget, busy slot) resumes later: let virtual time pass.
          if (!complete) await w.clock.sleep(15 * 60_000)
        }
        outcomes.push(`${labels.join(', ')} → ${statuses.join(' | ')}`)
        expect(complete, `${where}: ${statuses.join(' | ')}`).toBe(true)
        expect(digestDiff(await tableDigests(wh), reference), where).toEqual({})
        expect(w.gc.stats(GC_ACCOUNT).maxConcurrentForming).toBeLessThanOrEqual(1)
      } finally {
        await w.close()
      }
    }
    console.info(`fault rounds:\n  ${outcomes.join('\n  ')}`)
  })
})
