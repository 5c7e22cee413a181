import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import type { VirtualClock } from '../../src/clock.js'
import { openWarehouse } from '../../src/db/index.js'
import { budgetStatus } from '../../src/sources/getcourse/index.js'
import type { TestWarehouse } from '../support/database.js'
import { quietLog } from '../support/database.js'
import { KEY, requestKinds, startHarness, type Harness } from './harness.js'

let h: Harness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
})

const users = async (harness: Harness) => Number((await sql<{ n: number }>`select count(*)::int as n from getcourse.users`.execute(harness.wh.db)).rows[0]!.n)

describe('account limits', () => {
  it('two concurrent syncs of one account share one export slot and one budget', async () => {
    h = await startHarness({ budget: { requests: 40, windowSeconds: 900, reserve: 5 }, source: { budgetWaitMs: 3_600_000 } })
    // A second connection pool to the same database, as a second process would have.
    const other = h.wh.url ? ((await openWarehouse({ database: h.wh.url, log: quietLog })) as TestWarehouse) : h.wh
    try {
      const [a, b] = await Promise.all([h.sync(), h.sync({}, { warehouse: other })])
      expect(a.results.map((r) => r.status)).toEqual(Array(6).fill('succeeded'))
      expect(b.results.map((r) => r.status)).toEqual(Array(6).fill('succeeded'))
    } finally {
      if (other !== h.wh) await other.close()
    }
    const stats = h.sim.stats('school')
    expect(stats.maxConcurrentForming).toBe(1)
    expect(stats.maxRequestsInWindow).toBeLessThanOrEqual(35)
    expect(requestKinds(h.sim).all.every((r) => r.errorCode !== 903 && r.errorCode !== 905)).toBe(true)
    expect(await users(h)).toBe(h.sim.dataset('school').users.length)
  })

  it('903 blocks the whole account for a window, in every stream, then resumes', async () => {
    h = await startHarness()
    h.sim.spendBudget('school', 100)
    const res = await h.sync()
    // group_members has no groups to export yet (the groups stream was deferred): nothing to do.
    expect(res.results.map((r) => r.status)).toEqual(['deferred', 'deferred', 'deferred', 'succeeded', 'deferred', 'deferred'])
    expect(res.results[0]!.errorCode).toBe('BUDGET_EXHAUSTED')
    expect(res.results[0]!.message).toMatch(/903.*resumes at \d\d:\d\d \(Europe\/Moscow\)/)
    expect(requestKinds(h.sim).all.filter((r) => r.errorCode === 903)).toHaveLength(1)
    const status = await budgetStatus(h.wh.db, h.config.getcourse[0]!, h.clock.now())
    expect(status.blockedUntil!.getTime()).toBe(res.results[0]!.resumeAt!.getTime())

    await (h.clock as VirtualClock).sleep(7_200_000 + 1000)
    const later = await h.sync()
    expect(later.ok).toBe(true)
    expect(later.results.every((r) => r.status === 'succeeded')).toBe(true)
  })

  it('defers with the resume time when our own budget runs out, keeping loaded rows and the queue', async () => {
    h = await startHarness({ budget: { requests: 6, windowSeconds: 7200, reserve: 1 } })
    const res = await h.sync({ streams: ['users', 'deals', 'payments'] })
    const deferred = res.results.filter((r) => r.status === 'deferred')
    expect(deferred.length).toBeGreaterThan(0)
    expect(deferred[0]).toMatchObject({ errorCode: 'BUDGET_EXHAUSTED' })
    expect(deferred[0]!.message).toMatch(/budget exhausted, resumes at \d\d:\d\d \(Europe\/Moscow\)/)
    expect(h.sim.stats('school').maxRequestsInWindow).toBeLessThanOrEqual(5)
    const state = await h.wh.db.selectFrom('etl.stream_state').select(['stream', 'state']).execute()
    expect(state.some((s) => ((s.state as { queue?: unknown[] }).queue ?? []).length > 0)).toBe(true)

    for (let i = 0; i < 6; i++) {
      await (h.clock as VirtualClock).sleep(7_200_000)
      const next = await h.sync({ streams: ['users', 'deals', 'payments'] })
      if (next.ok && next.results.every((r) => r.status === 'succeeded')) break
    }
    expect(await users(h)).toBe(h.sim.dataset('school').users.length)
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from getcourse.payments`.execute(h.wh.db)
    expect(rows[0]!.n).toBe(h.sim.dataset('school').payments.length)
    expect(h.sim.stats('school').maxRequestsInWindow).toBeLessThanOrEqual(5)
  })

  it('905: waits while another integration holds the slot, then exports', async () => {
    h = await startHarness({ poll: { firstCheckSeconds: 2, maxIntervalSeconds: 30, timeoutSeconds: 3600 } })
    h.sim.occupyExportSlot('school', 20_000)
    const res = await h.sync({ streams: ['users'] })
    expect(res.results[0]!.status).toBe('succeeded')
    expect(requestKinds(h.sim).all.filter((r) => r.errorCode === 905).length).toBeGreaterThan(0)
    expect(h.sim.stats('school').maxConcurrentForming).toBe(1)
    expect(await users(h)).toBe(h.sim.dataset('school').users.length)
  })

  it('905 for longer than the wait: deferred EXPORT_BUSY, never "no data"', async () => {
    h = await startHarness({ poll: { firstCheckSeconds: 30, maxIntervalSeconds: 120, timeoutSeconds: 3600 }, source: { busyWaitMs: 600_000 } })
    h.sim.occupyExportSlot('school', 3 * 3_600_000)
    const res = await h.sync({ streams: ['users'] })
    expect(res.results[0]).toMatchObject({ status: 'deferred', errorCode: 'EXPORT_BUSY' })
    expect(await users(h)).toBe(0)
    expect(requestKinds(h.sim).all.filter((r) => r.errorCode === 905).length).toBeLessThanOrEqual(8)
  })

  it('910: the failed window is split and both halves load; a one-day window is skipped with a reject', async () => {
    h = await startHarness()
    h.sim.injectFault('school', { kind: 'code', code: 910, path: /exports/ })
    const res = await h.sync({ streams: ['users'] })
    expect(res.results[0]!.status).toBe('succeeded')
    const failed = await h.wh.db.selectFrom('etl.getcourse_exports').selectAll().where('status', '=', 'failed').execute()
    expect(failed).toHaveLength(1)
    expect(failed[0]!.error).toContain('910')
    expect(await users(h)).toBe(h.sim.dataset('school').users.length)

    h.sim.injectFault('school', { kind: 'code', code: 910, path: /exports/ })
    const day = await h.sync({ streams: ['users'], from: '2025-06-01', to: '2025-06-01' })
    expect(day.results[0]).toMatchObject({ status: 'succeeded', counts: { rejected: 1 } })
    const reject = await h.wh.db.selectFrom('etl.rejects').selectAll().executeTakeFirstOrThrow()
    expect(reject.reason).toMatch(/910.*2025-06-01\.\.2025-06-01; window skipped/)
  })

  it('a refused key (901) fails the account with a clear message and skips its other streams', async () => {
    h = await startHarness({ configKey: 'wrong-key-0123456789' })
    const res = await h.sync()
    expect(res.ok).toBe(false)
    expect(res.results[0]).toMatchObject({ stream: 'fields', status: 'failed', errorCode: 'AUTH_FAILED' })
    expect(res.results[0]!.message).toContain('901')
    expect(res.results.slice(1).every((r) => r.status === 'failed' && r.message?.startsWith('skipped'))).toBe(true)
    expect(h.logs()).not.toContain('wrong-key-0123456789')
    expect(h.logs()).not.toContain(KEY)
    expect(requestKinds(h.sim).all).toHaveLength(1)
  })
})
