import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { VirtualClock } from '../../src/clock.js'
import { startKwigaSimulator, type KwigaSim, type SimRequest } from '../../src/simulators/kwiga/server.js'
import { createTestWarehouse, type TestWarehouse } from '../support/database.js'
import { CONTACT_TABLES, expectedCounts } from './expected.js'
import { CABINETS, count, kwigaConfig, syncKwiga, type SyncKit, type TestCabinet } from './support.js'

const BUDGET = { requests: 200, windowSeconds: 60 }
let sim: KwigaSim | undefined
let wh: TestWarehouse
let cabinet: TestCabinet
let cabinets = 0

// One warehouse for the file; every test gets its own simulator (fresh rate-limit windows) and cabinet.
beforeAll(async () => {
  wh = await createTestWarehouse()
})
afterAll(async () => wh?.dispose())
afterEach(async () => {
  await sim?.close()
  sim = undefined
})

async function setUp(contacts: number) {
  const clock = new VirtualClock()
  cabinet = { ...CABINETS[0]!, name: `limit${++cabinets}` }
  sim = await startKwigaSimulator({ cabinets: [{ ...cabinet, contacts, courses: 2, usersPerCourse: 20, seed: 5 }], clock, rateLimit: BUDGET })
  return { sim, wh, clock, config: kwigaConfig(sim, [cabinet], BUDGET) }
}

/** Most requests sent in any window of `ms` (sliding), from the simulator's arrival times. */
function maxInSlidingWindow(requests: readonly SimRequest[], ms: number): number {
  let max = 0
  for (let i = 0, j = 0; j < requests.length; j++) {
    while (requests[j]!.at - requests[i]!.at >= ms) i++
    max = Math.max(max, j - i + 1)
  }
  return max
}

async function expectComplete(sim: KwigaSim, wh: TestWarehouse, tables: string[]) {
  const expected = expectedCounts(sim.dataset(cabinet.cabinetHash))
  for (const table of tables) expect([table, await count(wh, table, cabinet.name)]).toEqual([table, expected[table]])
}

describe('kwiga rate limiting', () => {
  it('never exceeds the budget on a long crawl and sustains at least 90% of it', async () => {
    const { sim, wh, clock, config } = await setUp(2100)
    const started = performance.now()
    const res = await syncKwiga({ wh, clock, config }, { streams: ['contacts', 'contact_products'] })
    const wallMs = performance.now() - started
    expect(res.ok).toBe(true)
    const stats = sim.stats(cabinet.token)
    expect(stats.rejected429).toBe(0)
    expect(stats.maxRequestsInWindow).toBeLessThanOrEqual(BUDGET.requests)
    expect(maxInSlidingWindow(sim.requests, BUDGET.windowSeconds * 1000)).toBeLessThanOrEqual(BUDGET.requests)
    // Sustained rate over the whole windows of the crawl (the last, partial window is left out).
    const window = BUDGET.windowSeconds * 1000
    const first = sim.requests[0]!.at
    const fullWindows = Math.floor((sim.requests[sim.requests.length - 1]!.at - first) / window)
    expect(fullWindows).toBeGreaterThanOrEqual(10)
    const perWindow = sim.requests.filter((r) => r.at < first + fullWindows * window).length / fullWindows
    expect(perWindow).toBeGreaterThanOrEqual(0.9 * BUDGET.requests)
    const rows = res.results.reduce((n, r) => n + r.counts.read, 0)
    console.info(
      `long crawl: ${sim.requests.length} requests over ${fullWindows}+ windows: ${perWindow.toFixed(1)} req per ${BUDGET.windowSeconds} s window; ${rows} rows in ${(wallMs / 1000).toFixed(1)} s wall = ${Math.round(rows / (wallMs / 1000))} rows/s`,
    )
    await expectComplete(sim, wh, [...CONTACT_TABLES, 'kwiga.contact_products', 'kwiga.product_subscriptions'])
  })

  it('a 429 storm and a second consumer on the same token lose nothing', async () => {
    const { sim, wh, clock, config } = await setUp(600)
    for (let i = 0; i < 6; i++) sim.injectFault({ kind: '429', retryAfter: 20 })
    let spent = 0
    const onProgress: SyncKit['onProgress'] = (key, p) => {
      // Another process on the same token spends most of a window, twice, while we crawl.
      if (key.stream === 'contact_products' && (p.done ?? 0) >= 100 * (spent + 1) && spent < 2) {
        spent++
        sim.spend(cabinet.token, 150)
      }
    }
    const res = await syncKwiga({ wh, clock, config, onProgress }, { streams: ['contacts', 'contact_products'] })
    expect(res.ok).toBe(true)
    expect(spent).toBe(2)
    await expectComplete(sim, wh, [...CONTACT_TABLES, 'kwiga.contact_products', 'kwiga.product_subscriptions'])
    const stats = sim.stats(cabinet.token)
    console.info(`429 storm + second consumer: ${sim.requests.length} requests, ${stats.rejected429} rejected by the server beyond the 6 injected`)
  })

  it("reads up to four contacts' products at once, within the budget, every contact's rows in place", async () => {
    // Real latency on every answer: one request at a time would leave the budget idle while waiting.
    const clock = new VirtualClock()
    cabinet = { ...CABINETS[0]!, name: `limit${++cabinets}` }
    sim = await startKwigaSimulator({
      cabinets: [{ ...cabinet, contacts: 150, courses: 2, usersPerCourse: 20, seed: 9 }],
      clock,
      rateLimit: BUDGET,
      latencyMs: 15,
    })
    const config = kwigaConfig(sim, [cabinet], BUDGET)
    const res = await syncKwiga({ wh, clock, config }, { streams: ['contacts', 'contact_products'] })
    expect(res.ok).toBe(true)
    const productCalls = sim.requests.filter((r) => /^\/contacts\/\d+\/products$/.test(r.path)).length
    // One call per stored contact (the dataset holds a malformed contact or two, quarantined).
    expect(productCalls).toBe(await count(wh, 'kwiga.contacts', cabinet.name))
    expect(productCalls).toBeGreaterThan(140)
    expect(sim.maxInFlight()).toBeGreaterThanOrEqual(2)
    expect(sim.maxInFlight()).toBeLessThanOrEqual(4)
    expect(sim.stats(cabinet.token).rejected429).toBe(0)
    expect(maxInSlidingWindow(sim.requests, BUDGET.windowSeconds * 1000)).toBeLessThanOrEqual(BUDGET.requests)
    await expectComplete(sim, wh, [...CONTACT_TABLES, 'kwiga.contact_products', 'kwiga.product_subscriptions'])
  })

  it('fails the stream clearly when 429s outlast the bounded wait', async () => {
    const { sim, wh, clock, config } = await setUp(50)
    for (let i = 0; i < 60; i++) sim.injectFault({ kind: '429', path: /^\/timezones/, retryAfter: 30 })
    const res = await syncKwiga({ wh, clock, config }, { streams: ['timezones', 'products'] })
    const [timezones, products] = res.results
    expect(timezones).toMatchObject({ status: 'failed', errorCode: 'RATE_LIMITED' })
    expect(timezones!.message).toMatch(/still rate limited \(429\) after waiting \d+ s/)
    expect(products!.status).toBe('succeeded')
  })
})
