import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import type { VirtualClock } from '../../src/clock.js'
import { getcourseStatus } from '../../src/sources/getcourse/status.js'
import { startHarness, type Harness } from './harness.js'

/** An export that never becomes ready must not block the account forever (poll.maxPendingSeconds). */
let h: Harness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
})

const HOUR = 3600_000

describe('a stuck export', () => {
  it('is given up at its age limit, its window exported again; other streams wait no longer than the busy wait', async () => {
    let stuck = true
    h = await startHarness({
      // The first users export takes 10 hours to form (and holds GetCourse's slot that long).
      sim: {
        readyAfterMs: ({ stream }) => {
          if (stream !== 'users' || !stuck) return 200
          stuck = false
          return 10 * HOUR
        },
      },
      poll: { firstCheckSeconds: 1, maxIntervalSeconds: 60, timeoutSeconds: 600, maxPendingSeconds: 3600 },
      source: { busyWaitMs: 60_000, fullStart: '2025-06-01' },
    })
    const clock = h.clock as VirtualClock
    const data = h.sim.dataset('school')

    const first = await h.sync({ streams: ['users', 'deals'] })
    expect(first.results.map((r) => [r.stream, r.status, r.errorCode])).toEqual([
      ['users', 'deferred', 'EXPORT_TIMEOUT'],
      // Waited for the users export only as long as the busy wait (60 s), not poll.timeoutSeconds.
      ['deals', 'deferred', 'EXPORT_BUSY'],
    ])
    const status = await getcourseStatus(h.wh.db, h.config, clock.now())
    expect(status.school!.stuckExports).toEqual([
      { exportId: expect.stringMatching(/^\d+$/), stream: 'users', status: 'pending', ageSeconds: expect.any(Number), givenUpAfterSeconds: 3600 },
    ])

    await clock.sleep(2 * HOUR)
    const second = await h.sync({ streams: ['users'] })
    // Given up (failed with its reason); the new export of the window finds GetCourse's slot still busy.
    expect(second.results[0]).toMatchObject({ status: 'deferred', errorCode: 'EXPORT_BUSY' })
    const { rows } = await sql<{ status: string; error: string | null }>`
      select status, error from etl.getcourse_exports where stream = 'users' order by started_at`.execute(h.wh.db)
    expect(rows[0]).toMatchObject({ status: 'failed' })
    expect(rows[0]!.error).toContain('poll.maxPendingSeconds 3600')
    expect((await getcourseStatus(h.wh.db, h.config, clock.now())).school!.stuckExports).toEqual([])

    await clock.sleep(9 * HOUR)
    const third = await h.sync({ streams: ['users', 'deals'] })
    expect(third.results.map((r) => r.status)).toEqual(['succeeded', 'succeeded'])
    const users = await sql<{ n: number }>`select count(*)::int as n from getcourse.users`.execute(h.wh.db)
    // The full plan's first window reaches back to 1970: every user.
    expect(users.rows[0]!.n).toBe(data.users.length)
  })
})
