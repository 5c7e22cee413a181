import { existsSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { VirtualClock, type Clock } from '../../src/clock.js'
import { requestKinds, startHarness, type Harness } from './harness.js'

let h: Harness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
})

const exportsTable = async (harness: Harness) =>
  (
    await sql<{ export_id: string; stream: string; status: string; requests: number }>`
    select export_id::text, stream, status, requests from etl.getcourse_exports order by started_at`.execute(harness.wh.db)
  ).rows

/** A clock that aborts the run at its first wait after `when()` became true (a crash mid-export). */
function abortingClock(inner: Clock, controller: AbortController, when: () => boolean): Clock {
  return {
    now: () => inner.now(),
    busy: (work) => inner.busy(work),
    sleep: (ms, signal) => {
      if (when()) controller.abort(new Error('simulated crash'))
      return inner.sleep(ms, signal)
    },
  }
}

describe('recovery', () => {
  it('collects an export left pending by an aborted run, without starting a new one', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 15, 9))
    const controller = new AbortController()
    let harness!: Harness
    const crashing = abortingClock(clock, controller, () => requestKinds(harness.sim).starts.length > 0)
    harness = h = await startHarness({ clock: crashing, sim: { readyAfterMs: () => 60_000 } })

    const crashed = await harness.sync({ streams: ['users'] }, { signal: controller.signal })
    expect(crashed.results[0]).toMatchObject({ stream: 'users', status: 'aborted' })
    expect(await exportsTable(harness)).toMatchObject([{ stream: 'users', status: 'pending' }])
    const startsBefore = requestKinds(harness.sim).starts.length
    expect(startsBefore).toBe(1)

    const next = await harness.sync({ streams: ['users'] })
    expect(next.results[0]!.status).toBe('succeeded')
    const exported = await exportsTable(harness)
    expect(exported[0]).toMatchObject({ status: 'loaded' })
    // The pending export covered the first window: it was collected, not started again.
    const firstWindowStarts = requestKinds(harness.sim).starts.filter((r) => r.query['created_at[from]'] === '1970-01-01')
    expect(firstWindowStarts).toHaveLength(1)
    expect(harness.sim.stats('school').maxConcurrentForming).toBe(1)
  })

  it('a run that times out leaves the export pending and the next run collects it', async () => {
    const slowFirstWindow = ({ filters }: { filters: Record<string, string> }) => (filters['created_at[from]'] === '1970-01-01' ? 120_000 : 500)
    h = await startHarness({ sim: { readyAfterMs: slowFirstWindow }, poll: { firstCheckSeconds: 10, maxIntervalSeconds: 30, timeoutSeconds: 60 } })
    const timedOut = await h.sync({ streams: ['users'] })
    expect(timedOut.results[0]).toMatchObject({ status: 'deferred', errorCode: 'EXPORT_TIMEOUT' })
    expect(timedOut.results[0]!.message).toContain('stays pending')
    expect((await exportsTable(h))[0]).toMatchObject({ status: 'pending' })
    await (h.clock as VirtualClock).sleep(120_000)
    const starts = requestKinds(h.sim).starts.length
    const next = await h.sync({ streams: ['users'] })
    expect(next.results[0]!.status).toBe('succeeded')
    expect((await exportsTable(h))[0]).toMatchObject({ status: 'loaded' })
    expect(requestKinds(h.sim).starts.filter((r) => r.query['created_at[from]'] === '1970-01-01')).toHaveLength(1)
    expect(requestKinds(h.sim).starts.length).toBeGreaterThan(starts)
  })

  it('a body cut off mid-row fails the stream, archives nothing, and the export is fetched again next run', async () => {
    h = await startHarness({ budget: { requests: 200, windowSeconds: 7200, reserve: 10 } })
    await h.sync({ streams: ['users'] })
    h.sim.dataset('school').addUser()
    h.sim.injectFault('school', { kind: 'truncate', path: /exports/ })
    const broken = await h.sync({ streams: ['users'] })
    expect(broken.results[0]).toMatchObject({ status: 'failed', errorCode: 'RESPONSE_INVALID' })
    const [cut] = (await exportsTable(h)).filter((e) => e.status !== 'loaded')
    expect(cut).toMatchObject({ status: 'ready' })
    const dir = path.join(h.dataDir, 'exports', 'school', 'users')
    expect(existsSync(path.join(dir, `${cut!.export_id}.json.gz`))).toBe(false)
    expect(readdirSync(dir).some((f) => f.includes('partial'))).toBe(false)

    const polls = requestKinds(h.sim).polls.length
    const starts = requestKinds(h.sim).starts.length
    const fixed = await h.sync({ streams: ['users'] })
    expect(fixed.results[0]!.status).toBe('succeeded')
    expect((await exportsTable(h)).find((e) => e.export_id === cut!.export_id)).toMatchObject({ status: 'loaded' })
    expect(requestKinds(h.sim).polls.length - polls).toBeGreaterThanOrEqual(1)
    // The ready export was refetched, then only the (re-planned) incremental window was started.
    expect(requestKinds(h.sim).starts.length - starts).toBeLessThanOrEqual(1)
    expect(existsSync(path.join(dir, `${cut!.export_id}.json.gz`))).toBe(true)
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from getcourse.users`.execute(h.wh.db)
    expect(rows[0]!.n).toBe(h.sim.dataset('school').users.length)
  })

  it('retries 5xx and dropped connections; every attempt is a ledger request', async () => {
    h = await startHarness()
    h.sim.injectFault('school', { kind: 'http', status: 503, path: /exports/ })
    h.sim.injectFault('school', { kind: 'reset', path: /account\/users$/ })
    h.sim.injectFault('school', { kind: 'http', status: 502, path: /groups$/ })
    const res = await h.sync({ streams: ['groups', 'users'] })
    expect(res.ok).toBe(true)
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from etl.getcourse_requests`.execute(h.wh.db)
    expect(rows[0]!.n).toBe(requestKinds(h.sim).all.length)
    const runs = await h.wh.db.selectFrom('etl.runs').select(['stream', 'requests']).execute()
    expect(runs.reduce((n, r) => n + r.requests, 0)).toBe(rows[0]!.n)
  })
})
