/**
 * Issue 15 item 4: the budget ledger must not trust each host's clock. Two real processes whose clocks
 * differ by 10 minutes (libfaketime) spend the budget of one account, one after the other, within
 * seconds of real time. On process clocks the second one's window no longer contains the first one's
 * requests and it spends the whole limit again; on the database's clock they share one window.
 */
import { spawn, spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.js'
import { budgetStatus, reserveRequest } from '../../src/sources/getcourse/ledger.js'
import { createTestWarehouse, hasServer, type TestWarehouse } from '../support/database.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const SPENDER = path.join(ROOT, 'test/getcourse/budget-spender.ts')
const canSkew = spawnSync('faketime', ['-f', '+0', 'true']).status === 0
const server = await hasServer()

/** A window shorter than the skew: the skewed host's window and the other's do not overlap at all. */
const BUDGET = { requests: 6, windowSeconds: 300, reserve: 1 }
const LIMIT = BUDGET.requests - BUDGET.reserve
const entry = (name: string) => ({ name, account: 'acme', key: 'k'.repeat(16), budget: BUDGET })

interface Spent {
  spent: number
  waitMs: number | null
  processNow: string
}

/** Runs the spender under `faketime -f offset` (process clock = real clock + offset). */
function spend(url: string, offset: string, name = 'acme'): Promise<Spent> {
  return new Promise((resolve, reject) => {
    const child = spawn('faketime', ['-f', offset, process.execPath, '--import', 'tsx', SPENDER, url, JSON.stringify(entry(name)), String(LIMIT * 2)], {
      cwd: ROOT,
      // Only the wall clock is skewed, as on a host with a wrong clock; timers keep running normally.
      env: { ...process.env, FAKETIME_DONT_FAKE_MONOTONIC: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (c: Buffer) => (out += c))
    child.stderr.on('data', (c: Buffer) => (err += c))
    child.on('error', reject)
    child.on('close', (code) =>
      code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as Spent) : reject(new Error(`spender exited ${code}: ${err}`)),
    )
  })
}

describe.skipIf(!server || !canSkew)('the budget ledger on hosts with skewed clocks', () => {
  let wh: TestWarehouse
  beforeAll(async () => {
    wh = await createTestWarehouse()
  })
  afterAll(async () => {
    await wh?.dispose()
  })

  it('two processes 10 minutes apart spend at most the limit in one real window', async () => {
    const started = Date.now()
    const slow = await spend(wh.url!, '-5m')
    const fast = await spend(wh.url!, '+5m')
    // The skew really was applied to the children's clocks.
    expect(Date.parse(fast.processNow) - Date.parse(slow.processNow)).toBeGreaterThan(9 * 60_000)
    const elapsed = Date.now() - started
    expect(elapsed).toBeLessThan(BUDGET.windowSeconds * 1000)

    expect(slow.spent).toBe(LIMIT)
    expect(slow.spent + fast.spent).toBeLessThanOrEqual(LIMIT)
    // The refusal speaks the skewed host's own clock: wait until the first request leaves the real window.
    expect(fast.waitMs).toBeGreaterThan(BUDGET.windowSeconds * 1000 - elapsed - 5_000)
    expect(fast.waitMs).toBeLessThanOrEqual(BUDGET.windowSeconds * 1000 + 1_000)

    // Every stamp is the database's time, not a host's: none lies ahead of the server's clock or
    // further behind it than this test took.
    const { rows } = await sql<{ ahead: number; behind: number }>`
      select max(extract(epoch from sent_at - clock_timestamp()))::float8 * 1000 as ahead,
             max(extract(epoch from clock_timestamp() - sent_at))::float8 * 1000 as behind
      from etl.getcourse_requests`.execute(wh.db)
    expect(rows[0]!.ahead).toBeLessThanOrEqual(0)
    expect(rows[0]!.behind).toBeLessThan(elapsed + 1_000)
  })
})

describe('the budget ledger on a virtual clock', () => {
  it("keeps the caller's timeline: a `now` far from the process clock is used as given", async () => {
    const wh = await createTestWarehouse()
    try {
      // Tests and benches compress hours of budget windows into milliseconds on a VirtualClock.
      const account = parseConfig({ getcourse: [entry('acme')] }).getcourse[0]!
      const t0 = Date.UTC(2026, 0, 15, 9)
      for (let i = 0; i < LIMIT; i++) expect((await reserveRequest(wh.db, account, { kind: 'poll' }, t0 + i)).ok).toBe(true)
      const refused = await reserveRequest(wh.db, account, { kind: 'poll' }, t0 + 10)
      expect(refused).toMatchObject({ ok: false, blocked: false })
      expect(await budgetStatus(wh.db, account, t0 + 10)).toMatchObject({ used: LIMIT, freesAt: new Date(t0 + BUDGET.windowSeconds * 1000) })
      // The first request leaves the window (plus the 1 s send margin) on the virtual clock.
      expect(!refused.ok && refused.until).toBe(t0 + BUDGET.windowSeconds * 1000 + 1000)
      expect((await reserveRequest(wh.db, account, { kind: 'poll' }, t0 + BUDGET.windowSeconds * 1000 + 1000)).ok).toBe(true)
      const { rows } = await sql<{ first: Date }>`select min(sent_at) as first from etl.getcourse_requests`.execute(wh.db)
      expect(new Date(rows[0]!.first).getTime()).toBe(t0)
    } finally {
      await wh.dispose()
    }
  })
})
