import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { parseConfig, type Config } from '../../src/config.js'
import { createGetcourseSource } from '../../src/sources/getcourse/index.js'
import { runSync } from '../../src/sync.js'
import { KEY, requestKinds, startHarness, type Harness } from './harness.js'

/** Issue #15 item 1 through a whole sync: the config's `http` block reaches the export download. */
let h: Harness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
})

/** The harness config with test-scale timeouts (1 s headers, 1 s idle). */
function withTimeouts(harness: Harness): Config {
  return parseConfig({
    dataDir: harness.dataDir,
    batchSize: 25,
    http: { headersTimeoutSeconds: 1, idleTimeoutSeconds: 1 },
    getcourse: [
      {
        name: 'school',
        account: 'school',
        key: KEY,
        baseUrl: harness.sim.urlFor('school'),
        poll: { firstCheckSeconds: 1, maxIntervalSeconds: 60, timeoutSeconds: 3600 },
      },
    ],
  })
}

const sync = (harness: Harness, config: Config) =>
  runSync(
    { warehouse: harness.wh, config, log: harness.log, clock: harness.clock, sources: [createGetcourseSource()] },
    { streams: ['users'], from: '2025-01-01' },
  )

const exportsTable = async (harness: Harness) =>
  (await sql<{ export_id: string; status: string }>`select export_id::text, status from etl.getcourse_exports order by started_at`.execute(harness.wh.db)).rows

describe('export downloads with the http timeouts', () => {
  it('a download trickling for 5 s with 1 s timeouts loads; one that stalls fails within the idle timeout and is fetched again next run', async () => {
    h = await startHarness({ accounts: [{ users: 300 }], sim: { readyAfterMs: () => 0 } })
    const config = withTimeouts(h)

    h.sim.injectFault('school', { kind: 'slow', path: /\/exports\//, bytesPerTick: 200, tickMs: 20, stallAfterBytes: 2_000 })
    let started = Date.now()
    const stalled = await sync(h, config)
    expect(stalled.results[0]).toMatchObject({ stream: 'users', status: 'failed', errorCode: 'RESPONSE_INVALID' })
    expect(stalled.results[0]!.message).toMatch(/after \d+ rows \(.*the body stalled, no data for 1 s \(http\.idleTimeoutSeconds\) after 2000 bytes\)/)
    expect(Date.now() - started).toBeLessThan(5_000)
    const stalledId = (await exportsTable(h))[0]?.export_id
    expect(await exportsTable(h)).toEqual([{ export_id: stalledId, status: 'ready' }])

    // The same export again, trickling 100 bytes every 50 ms (~2 KB/s) for several seconds.
    h.sim.injectFault('school', { kind: 'slow', path: /\/exports\//, bytesPerTick: 100, tickMs: 50 })
    started = Date.now()
    const next = await sync(h, config)
    const took = Date.now() - started
    expect(next.results[0]).toMatchObject({ stream: 'users', status: 'succeeded' })
    const [first] = await exportsTable(h)
    expect(first).toEqual({ export_id: stalledId, status: 'loaded' })
    // Fetched again, not started again.
    expect(requestKinds(h.sim).starts.filter((r) => r.query['created_at[from]'] === '2025-01-01')).toHaveLength(1)
    expect(took).toBeGreaterThan(4_000)
  })
})
