/**
 * Issue 19.3 / 19.4 — `schedule --http`: /metrics, /healthz and the status page, against a warehouse
 * synced from the simulators by this process; the page is checked in headless Chromium (Debian's
 * `chromium`, driven by playwright-core) at a phone's width, and its screenshot kept in docs/.
 */
import path from 'node:path'
import { sql } from 'kysely'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemClock } from '../../src/clock.js'
import { parseConfig, type Config } from '../../src/config.js'
import { startObserveServer, type ObserveServer } from '../../src/observe/server.js'
import { Replica } from '../../src/replicas/replica.js'
import { startGetcourseSimulator, type GetcourseSim } from '../../src/simulators/getcourse/server.js'
import { startKwigaSimulator, type KwigaSim } from '../../src/simulators/kwiga/server.js'
import { allSources } from '../../src/sources/index.js'
import { runSync } from '../../src/sync.js'
import { ROOT, serverAvailable } from '../reliability/harness.js'
import { createTestWarehouse, quietLog, type TestWarehouse } from '../support/database.js'

const server = await serverAvailable()
const GC_KEY = 'gc-secret-key-5f1e2d3c'
const KW_TOKEN = 'kw-secret-token-9a8b7c6d'
const KW_HASH = 'cabhash-4d3c2b1a'
const TOKEN = 'page-token-0123456789abcdef'

/** `name{labels} value` lines of a Prometheus text answer. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(\{[^}]*\})? (\S+)$/.exec(line)
    if (!m || m[1] !== name) continue
    if (want.every((w) => (m[2] ?? '').includes(w))) return Number(m[3])
  }
  return undefined
}

describe.skipIf(!server)('metrics, health and the status page', () => {
  let wh: TestWarehouse
  let gc: GetcourseSim
  let kw: KwigaSim
  let config: Config
  let open: ObserveServer
  let guarded: ObserveServer
  let replica: Replica
  let badIds: string[] = []

  beforeAll(async () => {
    wh = await createTestWarehouse()
    gc = await startGetcourseSimulator({
      accounts: [{ account: 'acme', key: GC_KEY, users: 80, deals: 120, payments: 90, groups: 3, seed: 5 }],
      budget: { requests: 1000, windowSeconds: 7200 },
      readyAfterMs: () => 200,
    })
    kw = await startKwigaSimulator({
      cabinets: [{ token: KW_TOKEN, cabinetHash: KW_HASH, contacts: 80, courses: 1, usersPerCourse: 5, seed: 3 }],
      rateLimit: { requests: 100_000, windowSeconds: 60 },
    })
    config = parseConfig({
      database: wh.url,
      batchSize: 50,
      server: { host: '127.0.0.1', port: 0 },
      getcourse: [
        {
          name: 'acme',
          account: 'acme',
          baseUrl: gc.urlFor('acme'),
          key: GC_KEY,
          budget: { requests: 300, windowSeconds: 3600, reserve: 10 },
          poll: { firstCheckSeconds: 0.1, maxIntervalSeconds: 1, timeoutSeconds: 60 },
        },
      ],
      kwiga: [
        { name: 'main', token: KW_TOKEN, cabinetHash: KW_HASH, baseUrl: kw.url, rateLimit: { requests: 100_000, windowSeconds: 2 } },
        // A cabinet whose token KWIGA refuses: a failed run on the page.
        { name: 'old-cabinet', token: 'kw-revoked-token-00000000', cabinetHash: 'revoked-hash', baseUrl: kw.url },
      ],
    })
    // Two users GetCourse sends with an unreadable birthday: rejected, the rest loads.
    const bad = [
      gc.dataset('acme').addUser({ firstName: 'Анна "Аня"', lastName: "O'Брайен, мл.", birthday: '2024-05-01abc' }),
      gc.dataset('acme').addUser({ firstName: '', lastName: 'Шевченко', birthday: '31.02.1990' }),
    ]
    badIds = bad.map((u) => String(u.id))
    kw.injectFault({ kind: '429', retryAfter: 1 })
    const deps = { warehouse: wh, config, log: quietLog, clock: systemClock, sources: allSources }
    const summary = await runSync(deps)
    expect(summary.results.filter((r) => r.status === 'succeeded').length).toBeGreaterThan(5)
    replica = new Replica({ ...deps, jobs: [], http: '127.0.0.1:0' })
    await replica.start()
    open = await startObserveServer({ ...deps, replica, host: '127.0.0.1', port: 0 })
    guarded = await startObserveServer({ ...deps, replica, host: '127.0.0.1', port: 0, token: TOKEN })
  }, 180_000)

  afterAll(async () => {
    await open?.close()
    await guarded?.close()
    await replica?.stop(2000)
    await gc?.close()
    await kw?.close()
    await wh?.dispose()
  })

  it('/metrics reports this process’s runs, rows, rejects, requests, budget, freshness, export waits and 429s', async () => {
    const res = await fetch(`${open.url}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/plain')
    const text = await res.text()
    const db = wh.db
    const { rows: runs } = await sql<{ source: string; account: string; stream: string; status: string; n: number; loaded: number; rejected: number }>`
      select source, account, stream, status, count(*)::int as n, sum(rows_inserted + rows_updated + rows_unchanged)::int as loaded, sum(rows_rejected)::int as rejected
      from etl.runs group by 1, 2, 3, 4`.execute(db)
    expect(runs.length).toBeGreaterThan(10)
    for (const r of runs) {
      const labels = { source: r.source, account: r.account, stream: r.stream }
      expect(sample(text, 'course_etl_runs_total', { ...labels, status: r.status }), JSON.stringify(r)).toBe(r.n)
      expect(sample(text, 'course_etl_rows_loaded_total', labels)).toBe(r.loaded)
      expect(sample(text, 'course_etl_rows_rejected_total', labels)).toBe(r.rejected)
    }
    expect(runs.some((r) => r.status === 'failed' && r.account === 'old-cabinet')).toBe(true)
    const users = (await sql<{ n: number }>`select count(*)::int as n from getcourse.users where account = 'acme'`.execute(db)).rows[0]!.n
    expect(sample(text, 'course_etl_rows_loaded_total', { source: 'getcourse', account: 'acme', stream: 'users' })).toBe(users)
    // Requests: what the runs recorded; the GetCourse budget: what the ledger holds.
    const ledger = (await sql<{ n: number }>`select count(*)::int as n from etl.getcourse_requests`.execute(db)).rows[0]!.n
    expect(sample(text, 'course_etl_api_requests_total', { source: 'getcourse', account: 'acme' })).toBe(ledger)
    expect(sample(text, 'course_etl_getcourse_budget_used', { account: 'acme' })).toBe(ledger)
    expect(sample(text, 'course_etl_getcourse_budget_remaining', { account: 'acme' })).toBe(290 - ledger)
    const last = sample(text, 'course_etl_last_success_timestamp_seconds', { source: 'kwiga', account: 'main', stream: 'contacts' })!
    expect(Math.abs(last - Date.now() / 1000)).toBeLessThan(300)
    expect(sample(text, 'course_etl_last_success_age_seconds', { source: 'getcourse', account: 'acme', stream: 'deals' })).toBeGreaterThanOrEqual(0)
    const exports = (await sql<{ n: number }>`select count(*)::int as n from etl.getcourse_exports where ready_at is not null`.execute(db)).rows[0]!.n
    expect(exports).toBeGreaterThan(3)
    expect(sample(text, 'course_etl_getcourse_export_wait_seconds_count', { account: 'acme' })).toBe(exports)
    expect(sample(text, 'course_etl_kwiga_rate_limited_total', { cabinet: 'main' })).toBeGreaterThanOrEqual(1)
    // Prometheus naming: every metric of ours starts with course_etl_; no secret anywhere.
    const names = new Set(text.split('\n').flatMap((l) => /^# TYPE (\S+)/.exec(l)?.[1] ?? []))
    expect([...names].filter((n) => !n.startsWith('course_etl_'))).toEqual([])
    for (const secret of [GC_KEY, KW_TOKEN, KW_HASH, 'kw-revoked-token-00000000', 'revoked-hash']) expect(text).not.toContain(secret)
  })

  it('/healthz answers 200 while the replica holds its session; the server is read-only; a token guards all but /healthz', async () => {
    const health = await fetch(`${open.url}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.text()).toBe('ok\n')
    expect((await fetch(`${open.url}/`, { method: 'POST' })).status).toBe(405)
    expect((await fetch(`${open.url}/nope`)).status).toBe(404)
    expect((await fetch(`${guarded.url}/healthz`)).status).toBe(200)
    expect((await fetch(`${guarded.url}/metrics`)).status).toBe(401)
    expect((await fetch(`${guarded.url}/`, { headers: { authorization: 'Bearer wrong-token-0000000000' } })).status).toBe(401)
    expect((await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200)
    expect((await fetch(`${guarded.url}/?token=${TOKEN}`)).status).toBe(200)
    expect(() => parseConfig({ server: { host: '0.0.0.0', port: 9464 } })).toThrow(/`server`: expected server.token when server.host is not loopback/)
  })

  it('the status page shows freshness, budget chart, failed runs, rejects and live replicas in headless Chromium at phone width', {
    timeout: 120_000,
  }, async () => {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    })
    try {
      const page = await browser.newPage({ viewport: { width: 390, height: 844 } })
      const res = await page.goto(`${guarded.url}/?token=${TOKEN}`)
      expect(res?.status()).toBe(200)
      expect(await page.title()).toBe('course-etl status')
      const headings = await page.locator('h2').allTextContents()
      expect(headings).toEqual([
        'Live replicas',
        'Freshness per account and stream',
        'GetCourse budget, current window',
        'Recent runs with errors',
        'Recent rejects',
      ])
      // Live replicas: this process, named by host and pid.
      const replicaRows = page.locator('#replicas + .scroll tbody tr')
      expect(await replicaRows.count()).toBe(1)
      expect(await replicaRows.first().textContent()).toContain(String(process.pid))
      expect(await replicaRows.first().textContent()).toContain('(this one)')
      // Freshness: one row per configured account × stream, the synced ones fresh.
      const fresh = page.locator('#freshness + .scroll tbody tr')
      const streamCount = allSources.reduce((n, s) => n + s.streamNames.length * (s.name === 'getcourse' ? 1 : 2), 0)
      expect(await fresh.count()).toBe(streamCount)
      const acmeUsers = fresh.filter({ hasText: 'acme' }).filter({ hasText: 'users' })
      expect(await acmeUsers.locator('td.ok').count()).toBe(1)
      // Budget: one chart for the one GetCourse account, its numbers those of the ledger.
      const ledger = (await sql<{ n: number }>`select count(*)::int as n from etl.getcourse_requests`.execute(wh.db)).rows[0]!.n
      expect(await page.locator('#budget + .cards svg.chart').count()).toBe(1)
      expect(await page.locator('#budget + .cards .budget').textContent()).toBe(`${ledger} / 290 used`)
      expect(Number(await page.locator('#budget + .cards svg.chart rect[fill="#3b82f6"]').count())).toBeGreaterThan(0)
      // The refused cabinet's failure, and the quarantined records.
      expect(await page.locator('#errors + .scroll tbody').textContent()).toContain('old-cabinet')
      const rejects = (await sql<{ n: number }>`select count(*)::int as n from etl.rejects`.execute(wh.db)).rows[0]!.n
      expect(rejects).toBeGreaterThanOrEqual(2)
      expect(await page.locator('#rejects + .scroll tbody tr').count()).toBe(Math.min(15, rejects))
      const rejectText = await page.locator('#rejects + .scroll tbody').textContent()
      for (const id of badIds) expect(rejectText).toContain(id)
      // Phone-readable: nothing wider than the screen (wide tables scroll inside their box).
      expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390)
      const html = await page.content()
      for (const secret of [GC_KEY, KW_TOKEN, KW_HASH]) expect(html).not.toContain(secret)
      await page.screenshot({ path: path.join(ROOT, 'docs/status-page.png'), fullPage: true })
    } finally {
      await browser.close()
    }
  })
})
