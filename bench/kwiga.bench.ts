/**
 * Issue 6 item 4: KWIGA throughput on a simulated clock. A 20,000-contact crawl (contacts, then one
 * `/contacts/:id/products` call per contact) against the simulator at 200 requests / 60 s: achieved
 * requests per minute against the limit, 429s, and rows lost. Then the same token shared with a
 * second consumer, two ways: another integration spending part of every window (`spend`), and a
 * second process crawling another cabinet on the same token with its own limiter.
 */
import { sql } from 'kysely'
import type { Clock } from '../src/clock.js'
import { parseConfig, type Config } from '../src/config.js'
import type { Warehouse } from '../src/db/index.js'
import { startKwigaSimulator, type KwigaSim, type SimRequest } from '../src/simulators/kwiga/server.js'
import { createKwigaSource } from '../src/sources/kwiga/index.js'
import { runSync } from '../src/sync.js'
import { expectedCounts } from '../test/kwiga/expected.js'
import { benchLog, type Bench, type Figure } from './support.js'
import { BenchClock, clockedWarehouse } from './virtual-time.js'

const LIMIT = { requests: 200, windowSeconds: 60 }
const STREAMS = ['contacts', 'contact_products']
const TABLES = ['kwiga.contacts', 'kwiga.orders', 'kwiga.payments', 'kwiga.contact_products', 'kwiga.product_subscriptions']

interface Cabinet {
  name: string
  token: string
  cabinetHash: string
}

/** Requests per full window from the first request (the last, partial window left out), as the rate-limit test measures. */
function perMinute(requests: readonly SimRequest[]): number {
  const window = LIMIT.windowSeconds * 1000
  const first = requests[0]!.at
  const full = Math.floor((requests.at(-1)!.at - first) / window)
  if (full < 1) return (requests.length / Math.max(1, requests.at(-1)!.at - first)) * 60_000
  return (requests.filter((r) => r.at < first + full * window).length / full) * (60_000 / window)
}

/** Missing rows per table, and the pages they sat on (contacts list pages of 100, one products page per contact). */
async function lost(wh: Warehouse, sim: KwigaSim, c: Cabinet): Promise<{ rows: number; pages: number; detail: string }> {
  const ds = sim.dataset(c.cabinetHash)
  const expected = expectedCounts(ds)
  let rows = 0
  const detail: string[] = []
  for (const table of TABLES) {
    const { rows: r } = await sql<{ n: number }>`select count(*)::int as n from ${sql.raw(table)} where cabinet = ${c.name}`.execute(wh.db)
    const missing = expected[table]! - r[0]!.n
    rows += Math.abs(missing)
    if (missing) detail.push(`${table} ${missing > 0 ? '−' : '+'}${Math.abs(missing)}`)
  }
  const { rows: ids } = await sql<{ id: string }>`select contact_id::text as id from kwiga.contacts where cabinet = ${c.name}`.execute(wh.db)
  const have = new Set(ids.map((r) => r.id))
  const sorted = ds.contacts
    .filter((x) => x.broken === null)
    .map((x) => x.id)
    .sort((a, b) => a - b)
  const lostListPages = new Set(sorted.flatMap((id, i) => (have.has(String(id)) ? [] : [Math.floor(i / 100)])))
  const { rows: unchecked } = await sql<{
    n: number
  }>`select count(*)::int as n from kwiga.contact_product_checks where cabinet = ${c.name} and checked_hash is distinct from contact_hash`.execute(wh.db)
  return { rows, pages: lostListPages.size + unchecked[0]!.n, detail: detail.join(', ') || 'all tables complete' }
}

/** A clock object of its own over the same virtual time: `limiterFor` keys limiters by clock, so this is a second process. */
function otherProcess(clock: Clock): Clock {
  return { now: () => clock.now(), sleep: (ms, signal) => clock.sleep(ms, signal), busy: (work) => clock.busy(work) }
}

async function scenario(
  base: Warehouse,
  cabinets: { cabinet: Cabinet; contacts: number }[],
  run: (kit: {
    sim: KwigaSim
    clock: BenchClock
    wh: Warehouse
    config: Config
    sync: (c: Cabinet, clock?: Clock) => ReturnType<typeof runSync>
  }) => Promise<void>,
) {
  const clock = new BenchClock(Date.UTC(2026, 0, 15, 9), true)
  const wh = clockedWarehouse(base, clock)
  const sim = await startKwigaSimulator({
    cabinets: cabinets.map(({ cabinet, contacts }) => ({
      token: cabinet.token,
      cabinetHash: cabinet.cabinetHash,
      contacts,
      courses: 2,
      usersPerCourse: 20,
      seed: 11,
    })),
    clock,
    rateLimit: LIMIT,
  })
  const config = parseConfig({ kwiga: cabinets.map(({ cabinet }) => ({ ...cabinet, baseUrl: sim.url, rateLimit: LIMIT })) })
  const source = createKwigaSource()
  const sync = (c: Cabinet, useClock: Clock = clock) =>
    runSync({ warehouse: wh, config, log: benchLog, clock: useClock, sources: [source] }, { streams: STREAMS, accounts: [c.name] })
  try {
    await run({ sim, clock, wh, config, sync })
    return { sim, wh }
  } finally {
    await sim.close()
  }
}

export const bench: Bench = {
  name: 'kwiga',
  order: 21,
  async run({ warehouse, scale }) {
    const figures: Figure[] = []
    const contacts = Math.round(20_000 * scale)

    // 1. One crawl alone on its token.
    const solo: Cabinet = { name: 'kw-solo', token: 'tok-bench-solo-4e1f0a', cabinetHash: 'hash-solo-77ab' }
    let soloStats = { rejected429: 0, maxRequestsInWindow: 0 }
    let soloRate = 0
    let soloLost = { rows: 0, pages: 0, detail: '' }
    let soloRequests = 0
    let soloVirtual = 0
    const t0 = performance.now()
    await scenario(warehouse, [{ cabinet: solo, contacts }], async ({ sim, wh, sync }) => {
      const res = await sync(solo)
      if (!res.ok) throw new Error(`solo crawl failed: ${res.results.map((r) => r.message).join('; ')}`)
      soloStats = sim.stats(solo.token)
      soloRate = perMinute(sim.requests)
      soloRequests = sim.requests.length
      soloVirtual = sim.requests.at(-1)!.at - sim.requests[0]!.at
      soloLost = await lost(wh, sim, solo)
    })
    const soloWall = (performance.now() - t0) / 1000
    figures.push(
      {
        name: `crawl of ${contacts.toLocaleString('en-US')} contacts: requests per minute`,
        value: soloRate,
        unit: 'req/min',
        baseline: { name: 'token limit', value: LIMIT.requests },
        target: { op: '>=', value: 0.95, of: 'ratio' },
        note: `${soloRequests.toLocaleString('en-US')} requests in ${(soloVirtual / 60_000).toFixed(1)} virtual min (${soloWall.toFixed(0)} s real); busiest fixed window ${soloStats.maxRequestsInWindow}`,
      },
      { name: 'crawl alone: 429 answers', value: soloStats.rejected429, unit: '429s', target: { op: '<=', value: 0, of: 'value' } },
      { name: 'crawl alone: lost pages', value: soloLost.pages, unit: 'pages', target: { op: '<=', value: 0, of: 'value' }, note: soloLost.detail },
    )

    // 2. Another integration on the same token spends 60 requests every 30 s (120 of the 200 per minute).
    const shared: Cabinet = { name: 'kw-spent', token: 'tok-bench-spent-9c2d71', cabinetHash: 'hash-spent-1f3e' }
    const spentContacts = Math.round(3_000 * scale)
    await scenario(warehouse, [{ cabinet: shared, contacts: spentContacts }], async ({ sim, clock, wh, sync }) => {
      let done = false
      let spent = 0
      const other = (async () => {
        while (!done) {
          sim.spend(shared.token, 60)
          spent += 60
          await clock.sleep(30_000)
        }
      })()
      const res = await sync(shared)
      done = true
      await other
      const stats = sim.stats(shared.token)
      const l = await lost(wh, sim, shared)
      const ours = sim.requests.filter((r) => r.status !== 429)
      figures.push(
        {
          name: `with another consumer spending 120 req/min (${spentContacts.toLocaleString('en-US')} contacts): lost pages`,
          value: l.pages,
          unit: 'pages',
          target: { op: '<=', value: 0, of: 'value' },
          note: `${res.ok ? 'sync ok' : 'SYNC FAILED'}; ${l.detail}`,
        },
        {
          name: 'with another consumer spending: 429 answers',
          value: stats.rejected429,
          unit: '429s',
          note: `${ours.length} of our requests accepted in ${((ours.at(-1)!.at - ours[0]!.at) / 60_000).toFixed(1)} virtual min (${perMinute(ours).toFixed(0)} req/min; the other spends 60 at the start of every 30 s, so we burst into what is left of each window); ${spent} spent by the other`,
        },
      )
    })

    // 3. A second process crawls another cabinet on the same token, with its own limiter.
    const a: Cabinet = { name: 'kw-proc-a', token: 'tok-bench-shared-3b8e55', cabinetHash: 'hash-proc-a-20c1' }
    const b: Cabinet = { name: 'kw-proc-b', token: a.token, cabinetHash: 'hash-proc-b-8d4f' }
    const each = Math.round(3_000 * scale)
    await scenario(
      warehouse,
      [
        { cabinet: a, contacts: each },
        { cabinet: b, contacts: each },
      ],
      async ({ sim, clock, wh, sync }) => {
        const [ra, rb] = await Promise.all([sync(a), sync(b, otherProcess(clock))])
        const stats = sim.stats(a.token)
        const la = await lost(wh, sim, a)
        const lb = await lost(wh, sim, b)
        const accepted = sim.requests.filter((r) => r.status !== 429)
        figures.push(
          {
            name: `two processes on one token (${each.toLocaleString('en-US')} contacts each): lost pages`,
            value: la.pages + lb.pages,
            unit: 'pages',
            target: { op: '<=', value: 0, of: 'value' },
            note: `${ra.ok && rb.ok ? 'both syncs ok' : 'A SYNC FAILED'}; A: ${la.detail}; B: ${lb.detail}`,
          },
          {
            name: 'two processes on one token: 429 answers',
            value: stats.rejected429,
            unit: '429s',
            note: `${sim.requests.length} requests; accepted ${perMinute(accepted).toFixed(0)} req/min together; busiest window ${stats.maxRequestsInWindow}`,
          },
        )
      },
    )
    return figures
  },
}
