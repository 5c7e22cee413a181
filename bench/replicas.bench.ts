/**
 * Issue 19.2: many accounts across replicas on a simulated clock. 200 GetCourse accounts (one simulator
 * process, one loopback server per account) and 20 KWIGA cabinets, queued by one job tick and shared
 * out by three replicas (three `Replica`s, each with its own connection pool and lock session, on the
 * same pg-boss queue); the virtual wall time until every account job completed, against the slowest
 * single account synced alone in the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { parseConfig } from '../src/config.js'
import { openWarehouse } from '../src/db/index.js'
import type { Job } from '../src/jobs.js'
import { Replica } from '../src/replicas/replica.js'
import { tickOf } from '../src/replicas/queue.js'
import { startGetcourseSimulator } from '../src/simulators/getcourse/server.js'
import { startKwigaSimulator } from '../src/simulators/kwiga/server.js'
import { createGetcourseSource } from '../src/sources/getcourse/index.js'
import { createKwigaSource } from '../src/sources/kwiga/index.js'
import { runSync } from '../src/sync.js'
import { readinessMs } from './getcourse-polling.bench.js'
import { benchLog, type Bench, type Figure } from './support.js'
import { BenchClock, clockedWarehouse } from './virtual-time.js'

const KEY = 'bench-replicas-key-3c9d'
const GC_ACCOUNTS = 200
const KW_CABINETS = 20
const REPLICAS = 3

const gcSize = (i: number, scale: number) => ({
  users: Math.round((40 + 3 * (i % 20)) * scale),
  deals: Math.round((60 + 4 * (i % 20)) * scale),
  payments: Math.round((30 + 2 * (i % 20)) * scale),
  groups: 2,
  seed: 700 + i,
})
const kwSize = (i: number, scale: number) => ({ contacts: Math.round((60 + 10 * i) * scale), courses: 2, usersPerCourse: 10, seed: 1100 + i })
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export const bench: Bench = {
  name: 'replicas',
  order: 23,
  async run({ warehouse: base, url, scale }) {
    const clock = new BenchClock(Date.UTC(2026, 0, 20, 0, 0, 0))
    const gc = Array.from({ length: GC_ACCOUNTS }, (_, i) => ({ account: `gc${i + 1}`, key: KEY, ...gcSize(i + 1, scale) }))
    // The heaviest of each source again, under another name, to be synced alone.
    gc.push({ account: 'solo-gc', key: KEY, ...gcSize(19, scale) })
    const kw = Array.from({ length: KW_CABINETS }, (_, i) => ({
      name: `kw${i + 1}`,
      token: `tok-kw${i + 1}-bench`,
      cabinetHash: `hash-kw${i + 1}`,
      ...kwSize(i + 1, scale),
    }))
    kw.push({ name: 'solo-kw', token: 'tok-solo-kw-bench', cabinetHash: 'hash-solo-kw', ...kwSize(KW_CABINETS, scale) })
    const gcSim = await startGetcourseSimulator({ accounts: gc, clock, readyAfterMs: ({ stream, rows, filters }) => readinessMs(stream, rows, filters) })
    const kwSim = await startKwigaSimulator({ cabinets: kw.map(({ name: _n, ...c }) => c), clock })
    const dataDir = mkdtempSync(path.join(tmpdir(), 'bench-replicas-'))
    const warehouses = await Promise.all(
      Array.from({ length: REPLICAS }, () => openWarehouse({ database: url, log: benchLog, pool: { max: 8 } }).then((w) => clockedWarehouse(w, clock))),
    )
    const replicas: Replica[] = []
    try {
      const config = parseConfig({
        database: url,
        dataDir,
        archiveExports: false,
        replicas: { leaseSeconds: 30, heartbeatSeconds: 2, pollSeconds: 0.5 },
        getcourse: gc.map((a) => ({ name: a.account, account: a.account, key: KEY, baseUrl: gcSim.urlFor(a.account) })),
        kwiga: kw.map((c) => ({ name: c.name, token: c.token, cabinetHash: c.cabinetHash, baseUrl: kwSim.url })),
      })
      const sources = [createGetcourseSource({ fullStart: '2024-01-01' }), createKwigaSource()]
      const solo = async (account: string) => {
        const t0 = clock.now()
        const res = await runSync({ warehouse: clockedWarehouse(base, clock), config, log: benchLog, clock, sources }, { accounts: [account] })
        const bad = res.results.filter((r) => r.status !== 'succeeded')
        if (bad.length) throw new Error(`replicas bench: ${account}/${bad[0]!.stream} ${bad[0]!.status}: ${bad[0]!.message}`)
        return clock.now() - t0
      }
      const soloGc = await solo('solo-gc')
      const soloKw = await solo('solo-kw')
      const slowest = Math.max(soloGc, soloKw)

      const everyone = [...gc.filter((a) => a.account !== 'solo-gc').map((a) => a.account), ...kw.filter((c) => c.name !== 'solo-kw').map((c) => c.name)]
      const job: Job = { name: 'bench-all', cron: '0 3 * * *', mode: 'incremental', accounts: everyone, file: '' }
      for (let i = 0; i < REPLICAS; i++) {
        const r = new Replica({ warehouse: warehouses[i]!, config, log: benchLog, clock, sources, jobs: [job] })
        await r.start()
        replicas.push(r)
      }
      const t0 = clock.now()
      const r0 = performance.now()
      const scheduled = new Date()
      const tick = tickOf(scheduled)
      // The clock stands still while the replicas queue and fetch (real time): every account starts at t0.
      let fetched!: () => void
      const hold = clock.busy(new Promise<void>((resolve) => (fetched = resolve)))
      await Promise.all(replicas.map((r) => r.tick(job, scheduled)))
      const jobs = async (state: string) =>
        (await sql<{ n: number }>`select count(*)::int as n from etl_queue.job where data->>'tick' = ${tick} and state::text = ${state}`.execute(base.db))
          .rows[0]!.n
      for (let waited = 0; (await jobs('created')) > 0 && waited < 60_000; waited += 100) await sleep(100)
      const shares = replicas.map((r) => r.doing.length)
      fetched()
      await hold
      const realLimit = Date.now() + 30 * 60_000
      while ((await jobs('completed')) < everyone.length) {
        if (Date.now() > realLimit) throw new Error('replicas bench: the tick did not complete within 30 min real time')
        await sleep(250)
      }
      const wall = clock.now() - t0
      const real = (performance.now() - r0) / 1000
      const { rows: outcome } = await sql<{ status: string; n: number; hosts: number; rows: number }>`
        select status, count(*)::int as n, count(distinct invocation)::int as hosts, sum(rows_read)::int as rows
        from etl.runs where account <> all(${['solo-gc', 'solo-kw']}::text[]) group by 1`.execute(base.db)
      const notOk = outcome.filter((o) => o.status !== 'succeeded')
      if (notOk.length) throw new Error(`replicas bench: streams not succeeded: ${JSON.stringify(notOk)}`)
      const min = (ms: number) => ms / 60_000
      const streams = outcome.reduce((n, o) => n + o.n, 0)
      const rows = outcome.reduce((n, o) => n + o.rows, 0)
      return [
        {
          name: `${GC_ACCOUNTS} GetCourse + ${KW_CABINETS} KWIGA across ${REPLICAS} replicas, one tick (virtual wall)`,
          value: min(wall),
          unit: 'min',
          baseline: { name: 'slowest account alone', value: min(slowest) },
          target: { op: '<=', value: 1.2, of: 'ratio' },
          note: `${streams} streams, ${rows.toLocaleString('en-US')} rows, ${real.toFixed(0)} s real; accounts fetched per replica ${shares.join(' / ')}`,
        },
        { name: 'slowest GetCourse account alone', value: min(soloGc), unit: 'min', note: `${gcSim.stats('solo-gc').exportsStarted} exports` },
        { name: 'slowest KWIGA cabinet alone', value: min(soloKw), unit: 'min' },
      ] satisfies Figure[]
    } finally {
      for (const r of replicas) await r.stop(5000)
      for (const w of warehouses) await w.close()
      await gcSim.close()
      await kwSim.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  },
}
