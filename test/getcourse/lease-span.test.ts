import { afterEach, describe, expect, it } from 'vitest'
import { requestKinds, startHarness, type Harness } from './harness.js'

/**
 * The account's export slot (our lease) is held from the start of an export until its window is
 * loaded: a second process cannot start the same window while the first one still downloads it.
 */
let h: Harness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
})

describe('export lease span', () => {
  it('a concurrent run does not export a window again while the first run downloads it', async () => {
    // The second run waits for the slot at most 60 s (virtual time, which jumps while both only wait),
    // well inside the lease's expiry: it must find the window loaded, or give up, never export it again.
    h = await startHarness({ sim: { readyAfterMs: () => 0 }, source: { fullStart: '2025-06-01', busyWaitMs: 60_000 } })
    // The first ready body trickles in for about a second of real time.
    h.sim.injectFault('school', { kind: 'slow', bytesPerTick: 1500, tickMs: 40 })
    const [a, b] = await Promise.all([h.sync({ streams: ['users'] }), h.sync({ streams: ['users'] })])
    expect([...a.results, ...b.results].every((r) => r.status === 'succeeded' || r.status === 'deferred')).toBe(true)
    const starts = requestKinds(h.sim).starts.map((r) => `${r.query['created_at[from]']}..${r.query['created_at[to]']}`)
    // Every window exported once, whoever exported it.
    expect(starts.length).toBeGreaterThan(0)
    expect(new Set(starts).size).toBe(starts.length)
    expect(h.sim.stats('school').maxConcurrentForming).toBeLessThanOrEqual(1)
  })
})
