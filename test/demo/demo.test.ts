import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parse } from 'csv-parse/sync'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runDemo, type DemoOptions, type DemoResult } from '../../src/demo.js'
import { startDemoSimulatorsInChild } from '../../src/demo/simulators-child.js'
import { createTestWarehouse, quietLog, type TestWarehouse } from '../support/database.js'

const SMALL: DemoOptions['sizes'] = {
  getcourse: { users: 120, deals: 200, payments: 120, groups: 3 },
  kwiga: { contacts: 150, courses: 2, usersPerCourse: 25 },
}

let wh: TestWarehouse
let dir: string
let output: string[]
let first: DemoResult

const demo = (lines: string[], simulators?: DemoOptions['simulators']) =>
  runDemo({
    simulators,
    sizes: SMALL,
    warehouse: wh,
    outDir: path.join(dir, 'out'),
    dataDir: path.join(dir, 'data'),
    env: {},
    log: quietLog,
    progress: false,
    print: (l) => lines.push(l),
  })

beforeAll(async () => {
  wh = await createTestWarehouse()
  dir = mkdtempSync(path.join(tmpdir(), 'demo-test-'))
  output = []
  first = await demo(output)
})
afterAll(async () => {
  await wh?.dispose()
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('npm run demo', () => {
  it('syncs every stream of both simulators into the warehouse', () => {
    expect(first.summary.ok).toBe(true)
    expect(first.summary.results.filter((r) => r.status !== 'succeeded')).toEqual([])
    expect(new Set(first.summary.results.map((r) => r.source))).toEqual(new Set(['getcourse', 'kwiga']))
  })

  it('writes the config with the simulator URLs, the keys as ${VAR} and the limits the simulators enforce', () => {
    const text = readFileSync(first.configPath, 'utf8')
    expect(text).toMatch(/baseUrl: http:\/\/127\.0\.0\.1:\d+/)
    expect(text).toContain('key: ${DEMO_GETCOURSE_KEY:-')
    expect(text).toContain('token: ${DEMO_KWIGA_TOKEN:-')
    expect(text).toMatch(/budget: \{ requests: \d+, windowSeconds: \d+, reserve: \d+ \}/)
    expect(text).toMatch(/rateLimit: \{ requests: \d+, windowSeconds: 60 \}/)
    expect(output.join('\n')).toMatch(/limits, enforced by the simulators and declared in the config alike/)
  })

  it('dumps the main tables and every analytics view to CSV, two of them for Excel', () => {
    const files = readdirSync(path.join(dir, 'out'))
      .filter((f) => f.endsWith('.csv'))
      .sort()
    for (const view of ['revenue_daily', 'orders', 'payments', 'people', 'course_progress', 'group_membership', 'sync_freshness'])
      expect(files).toContain(`analytics.${view}.csv`)
    for (const table of ['getcourse.users', 'getcourse.deals', 'getcourse.payments', 'kwiga.contacts', 'kwiga.orders', 'kwiga.payments'])
      expect(files).toContain(`${table}.csv`)
    expect(files.filter((f) => f.endsWith('.excel.csv'))).toEqual(['analytics.orders.excel.csv', 'analytics.revenue_daily.excel.csv'])
    for (const d of first.dumps) {
      const text = readFileSync(d.file, 'utf8')
      const excel = d.file.endsWith('.excel.csv')
      expect(text.startsWith('\ufeff'), d.file).toBe(excel)
      const records = parse(text.replace(/^\ufeff/, ''), { delimiter: excel ? ';' : ',', relax_column_count: false }) as string[][]
      expect(records.length - 1, d.file).toBe(d.rows)
      expect(d.rows, d.file).toBeGreaterThan(0)
    }
    const users = first.dumps.find((d) => d.table === 'getcourse.users' && !d.file.endsWith('.excel.csv'))!
    expect(users.rows).toBe(SMALL!.getcourse!.users)
  })

  it('every analytics view has rows, and the printed examples show some', async () => {
    for (const view of ['revenue_daily', 'orders', 'payments', 'people', 'course_progress', 'group_membership', 'sync_freshness']) {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`analytics.${view}`)}`.execute(wh.db)
      expect(rows[0]!.n, view).toBeGreaterThan(0)
    }
    expect(first.examples).toHaveLength(3)
    for (const e of first.examples) expect(e.rows.length, e.title).toBeGreaterThan(0)
    const text = output.join('\n')
    expect(text).toContain('from analytics.revenue_daily')
    expect(text).toContain('Where to look:')
    expect(text).toMatch(/demo finished in \d+\.\d s/)
  })

  it('a second run is incremental: nothing new, everything still succeeds (simulators in a child process, as `npm run demo` runs them)', async () => {
    const lines: string[] = []
    const second = await demo(lines, 'child')
    expect(second.summary.ok).toBe(true)
    expect(lines.join('\n')).toContain('incremental sync')
    for (const r of second.summary.results) expect(r.counts.inserted, `${r.source}/${r.stream}`).toBe(0)
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from getcourse.users`.execute(wh.db)
    expect(rows[0]!.n).toBe(SMALL!.getcourse!.users)
  })
})

describe('the simulators in a child process', () => {
  it('serve the demo accounts over loopback and are gone after close()', async () => {
    const sims = await startDemoSimulatorsInChild(
      { getcourse: { users: 5, deals: 5, payments: 5, groups: 1 }, kwiga: { contacts: 5, courses: 1, usersPerCourse: 2 } },
      { DEMO_GETCOURSE_KEY: 'k-1', DEMO_KWIGA_TOKEN: 't-1', DEMO_KWIGA_CABINET_HASH: 'h-1' },
    )
    expect(sims.getcourseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+/)
    const wrong = await fetch(`${sims.kwigaUrl}/contacts`, { headers: { Token: 'wrong', Accept: 'application/json' } })
    expect(wrong.status).toBe(401)
    const right = await fetch(`${sims.kwigaUrl}/contacts`, { headers: { Token: 't-1', 'Cabinet-Hash': 'h-1', Accept: 'application/json' } })
    expect(right.status).toBe(200)
    expect(() => process.kill(sims.pid, 0)).not.toThrow()
    await sims.close()
    expect(() => process.kill(sims.pid, 0)).toThrow(/ESRCH/)
  }, 60_000)
})
