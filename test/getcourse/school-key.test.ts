/**
 * Issue 15 item 9: GetCourse counts the request budget and allows one export per school (its host), not
 * per entry of our config. Two entries for one school (different `name`s, e.g. two teams' configs, or one
 * config split by stream) must share one budget and one export slot.
 */
import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.js'
import { startRun } from '../../src/db/runs.js'
import { createGetcourseSource } from '../../src/sources/getcourse/index.js'
import { acquireLease, releaseLease } from '../../src/sources/getcourse/lease.js'
import { budgetStatus, reserveRequest, schoolKey } from '../../src/sources/getcourse/ledger.js'
import { runSync } from '../../src/sync.js'
import { KEY, requestKinds, startHarness, type Harness } from './harness.js'

let h: Harness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
})

const BUDGET = { requests: 12, windowSeconds: 7200, reserve: 2 }
const LIMIT = BUDGET.requests - BUDGET.reserve

/** Two entries, two names, one school. */
function twoEntries(url: string, budget = BUDGET) {
  const entry = (name: string, baseUrl: string) => ({
    name,
    account: 'school',
    key: KEY,
    baseUrl,
    budget,
    poll: { firstCheckSeconds: 1, maxIntervalSeconds: 60, timeoutSeconds: 3600 },
  })
  // The second with a trailing slash: still the same school.
  return parseConfig({ getcourse: [entry('school', url), entry('school-b', `${url}/`)] })
}

describe('one school, two config entries', () => {
  it('the school key is the lowercased host of the account URL', () => {
    const config = parseConfig({
      getcourse: [
        { name: 'a', account: 'Acme', key: KEY },
        { name: 'b', account: 'acme', key: KEY, domain: 'getcourse.ru' },
        { name: 'c', account: 'acme', key: KEY, baseUrl: 'https://School.Example.com/' },
        { name: 'd', account: 'acme', key: KEY, domain: 'getcourse.io' },
      ],
    })
    expect(config.getcourse.map(schoolKey)).toEqual(['acme.getcourse.ru', 'acme.getcourse.ru', 'school.example.com', 'acme.getcourse.io'])
  })

  it('share one request budget in a sync (GetCourse never counts more than our limit)', async () => {
    h = await startHarness({ budget: BUDGET })
    const config = twoEntries(h.sim.urlFor('school'))
    const res = await runSync({ warehouse: h.wh, config, log: h.log, clock: h.clock, sources: [createGetcourseSource({ budgetWaitMs: 0 })] }, {})
    expect(res.results.some((r) => r.errorCode === 'BUDGET_EXHAUSTED')).toBe(true)
    expect(h.sim.stats('school').maxRequestsInWindow).toBeLessThanOrEqual(LIMIT)
    expect(requestKinds(h.sim).all.filter((r) => r.errorCode === 903)).toHaveLength(0)
    // Both entries report the school's one budget.
    const [a, b] = await Promise.all(config.getcourse.map((e) => budgetStatus(h!.wh.db, e, h!.clock.now())))
    expect(a!.used).toBe(b!.used)
    expect(a!.used).toBeLessThanOrEqual(LIMIT)
  })

  it('share one budget between processes: the last slot goes to one entry only', async () => {
    h = await startHarness({ budget: BUDGET })
    const [a, b] = twoEntries(h.sim.urlFor('school')).getcourse
    const now = h.clock.now()
    for (let i = 0; i < LIMIT - 1; i++) expect((await reserveRequest(h.wh.db, a!, { kind: 'poll' }, now)).ok).toBe(true)
    const last = await Promise.all([reserveRequest(h.wh.db, a!, { kind: 'poll' }, now), reserveRequest(h.wh.db, b!, { kind: 'poll' }, now)])
    expect(last.filter((r) => r.ok)).toHaveLength(1)
  })

  it('share one export slot', async () => {
    h = await startHarness()
    const [a, b] = twoEntries(h.sim.urlFor('school')).getcourse
    const run = (account: string) => startRun(h!.wh.db, randomUUID(), { source: 'getcourse', account, stream: 'users' })
    const holderA = { id: randomUUID(), runId: await run(a!.name), stream: 'users' }
    const holderB = { id: randomUUID(), runId: await run(b!.name), stream: 'deals' }
    const now = h.clock.now()
    expect(await acquireLease(h.wh.db, a!, holderA, now, 60_000)).toBe(true)
    expect(await acquireLease(h.wh.db, b!, holderB, now, 60_000)).toBe(false)
    await releaseLease(h.wh.db, a!, holderA.id)
    expect(await acquireLease(h.wh.db, b!, holderB, now, 60_000)).toBe(true)
  })
})
