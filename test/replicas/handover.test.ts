/**
 * Issue 19.1 — replicas join and leave at any time. One replica takes a whole tick; a second joins;
 * the first leaves (SIGTERM path: `stop`) in the middle of its syncs and hands its accounts back to the
 * queue; the second finishes them. In-process replicas (own pools and lock sessions) on a real server.
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemClock } from '../../src/clock.js'
import { parseConfig, type Config } from '../../src/config.js'
import { openWarehouse, type Warehouse } from '../../src/db/index.js'
import type { Job } from '../../src/jobs.js'
import { Replica } from '../../src/replicas/replica.js'
import { replicaStatus } from '../../src/replicas/status.js'
import { startGetcourseSimulator, type GetcourseSim } from '../../src/simulators/getcourse/server.js'
import { allSources } from '../../src/sources/index.js'
import { serverAvailable, sleep } from '../reliability/harness.js'
import { createTestWarehouse, quietLog, type TestWarehouse } from '../support/database.js'

const server = await serverAvailable()
const ACCOUNTS = ['north', 'south', 'east', 'west']
const KEY = 'handover-key-0123456789'

describe.skipIf(!server)('replicas joining and leaving', () => {
  let wh: TestWarehouse
  let gc: GetcourseSim
  let config: Config
  const opened: Warehouse[] = []
  const replicas: Replica[] = []

  beforeAll(async () => {
    wh = await createTestWarehouse()
    gc = await startGetcourseSimulator({
      accounts: ACCOUNTS.map((a, i) => ({ account: a, key: KEY, users: 120, deals: 150, payments: 100, groups: 2, seed: 90 + i })),
      budget: { requests: 100_000, windowSeconds: 7200 },
      readyAfterMs: () => 1200,
    })
    config = parseConfig({
      database: wh.url,
      batchSize: 30,
      archiveExports: false,
      replicas: { leaseSeconds: 6, heartbeatSeconds: 1, pollSeconds: 0.3 },
      getcourse: ACCOUNTS.map((a) => ({
        name: a,
        account: a,
        key: KEY,
        baseUrl: gc.urlFor(a),
        poll: { firstCheckSeconds: 0.3, maxIntervalSeconds: 1, timeoutSeconds: 60 },
      })),
    })
  }, 60_000)

  afterAll(async () => {
    for (const r of replicas) await r.stop(2000).catch(() => {})
    for (const w of opened) await w.close().catch(() => {})
    await gc?.close()
    await wh?.dispose()
  })

  const replica = async (jobs: Job[]) => {
    const warehouse = await openWarehouse({ database: wh.url!, log: quietLog })
    opened.push(warehouse)
    const r = new Replica({ warehouse, config, log: quietLog, clock: systemClock, sources: allSources, jobs })
    await r.start()
    replicas.push(r)
    return r
  }

  it('a replica that leaves mid-job hands its accounts to one that joined later; every row loads once', { timeout: 180_000 }, async () => {
    const job: Job = { name: 'nightly', cron: '0 3 * * *', mode: 'incremental', file: 'jobs/nightly.yaml' }
    const first = await replica([job])
    const scheduled = new Date()
    await first.tick(job, scheduled)
    // Alone, it takes the whole tick.
    expect(first.doing.map((d) => d.account).sort()).toEqual([...ACCOUNTS].sort())
    const second = await replica([job])
    // The late tick of the joiner queues nothing new: the ids exist.
    await second.tick(job, scheduled)
    expect(second.doing).toEqual([])
    const status = await replicaStatus(wh, config)
    expect(status.json.replicas.map((r) => r.doing.length).sort()).toEqual([0, 4])
    expect(status.text).toMatch(/replicas \(2 live\):/)
    expect(status.text).toContain(`pid ${process.pid}`)
    expect(status.text).toContain('nightly: getcourse/')

    // Leave once the first has loaded something but not everything.
    for (const until = Date.now() + 60_000; ; await sleep(50)) {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from etl.runs where status = 'succeeded' and stream = 'users'`.execute(wh.db)
      if (rows[0]!.n >= 1) break
      expect(Date.now()).toBeLessThan(until)
    }
    expect(await first.stop(10_000)).toBe(true)
    const { rows: aborted } = await sql<{ n: number }>`select count(*)::int as n from etl.runs where status = 'aborted'`.execute(wh.db)
    expect(aborted[0]!.n).toBeGreaterThan(0)

    for (const until = Date.now() + 120_000; ; await sleep(200)) {
      const { rows } = await sql<{ state: string; n: number }>`select state::text, count(*)::int as n from etl_queue.job group by 1`.execute(wh.db)
      if (rows.length === 1 && rows[0]!.state === 'completed' && rows[0]!.n === ACCOUNTS.length) break
      expect(Date.now(), JSON.stringify(rows)).toBeLessThan(until)
    }
    // The handed-back accounts ended on the second replica, all streams succeeded there.
    const { rows: last } = await sql<{ account: string; status: string }>`
      select distinct on (account, stream) account, status from etl.runs order by account, stream, id desc`.execute(wh.db)
    expect(last.filter((r) => r.status !== 'succeeded')).toEqual([])
    for (const a of ACCOUNTS) {
      const data = gc.dataset(a)
      const want = { users: data.users.length, deals: data.deals.length, payments: data.payments.length }
      const got: Record<string, number> = {}
      for (const t of Object.keys(want))
        got[t] = (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`getcourse.${t}`)} where account = ${a}`.execute(wh.db)).rows[0]!.n
      expect(got, a).toEqual(want)
      const { rows: inserted } = await sql<{ stream: string; n: number }>`
        select stream, sum(rows_inserted)::int as n from etl.runs where account = ${a} and stream in ('users', 'deals', 'payments') group by 1`.execute(wh.db)
      expect(Object.fromEntries(inserted.map((r) => [r.stream, r.n])), `${a}: each row inserted once`).toEqual(want)
    }
    const after = await replicaStatus(wh, config)
    expect(after.json.replicas.map((r) => r.id)).toEqual([second.id])
  })
})
