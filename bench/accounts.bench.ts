/**
 * Issue 6 item 6: many accounts in one run on a simulated clock. 50 GetCourse accounts and 10 KWIGA
 * cabinets (own keys and tokens, a few hundred rows each, GetCourse readiness as in the polling
 * bench) loaded by one runSync; its virtual wall time against the slowest single account loaded
 * alone in the same run. Measured with the default concurrency of `sync` and the scheduler (config
 * `concurrency`) and with one slot per account, to show what the bound costs.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseConfig } from '../src/config.js'
import { startGetcourseSimulator } from '../src/simulators/getcourse/server.js'
import { startKwigaSimulator } from '../src/simulators/kwiga/server.js'
import { createGetcourseSource } from '../src/sources/getcourse/index.js'
import { createKwigaSource } from '../src/sources/kwiga/index.js'
import { runSync, type SyncSummary } from '../src/sync.js'
import { readinessMs } from './getcourse-polling.bench.js'
import { benchLog, type Bench, type Figure } from './support.js'
import { BenchClock, clockedWarehouse } from './virtual-time.js'

const KEY = 'bench-accounts-key-8a2f'
const GC_ACCOUNTS = 50
const KW_CABINETS = 10

const gcSize = (i: number, scale: number) => ({
  users: Math.round((120 + 6 * i) * scale),
  deals: Math.round((180 + 9 * i) * scale),
  payments: Math.round((100 + 5 * i) * scale),
  groups: 3,
  seed: 500 + i,
})
const kwSize = (i: number, scale: number) => ({ contacts: Math.round((80 + 20 * i) * scale), courses: 2, usersPerCourse: 15, seed: 900 + i })

export const bench: Bench = {
  name: 'accounts',
  order: 22,
  async run({ warehouse: base, scale }) {
    const clock = new BenchClock(Date.UTC(2026, 0, 15, 0, 0, 0))
    const warehouse = clockedWarehouse(base, clock)
    // Sets: 'solo' (the heaviest GetCourse account and KWIGA cabinet, each alone), 'cD' and 'cN' (all, at the default concurrency and one slot per account).
    const sets = ['cD', 'cN'] as const
    const gc = sets.flatMap((set) => Array.from({ length: GC_ACCOUNTS }, (_, i) => ({ account: `${set}-gc${i + 1}`, key: KEY, ...gcSize(i + 1, scale) })))
    gc.push({ account: 'solo-gc', key: KEY, ...gcSize(GC_ACCOUNTS, scale) })
    const kw = sets.flatMap((set) =>
      Array.from({ length: KW_CABINETS }, (_, i) => ({
        name: `${set}-kw${i + 1}`,
        token: `tok-${set}-kw${i + 1}-bench`,
        cabinetHash: `hash-${set}-kw${i + 1}`,
        ...kwSize(i + 1, scale),
      })),
    )
    kw.push({ name: 'solo-kw', token: 'tok-solo-kw-bench', cabinetHash: 'hash-solo-kw', ...kwSize(KW_CABINETS, scale) })

    const gcSim = await startGetcourseSimulator({ accounts: gc, clock, readyAfterMs: ({ stream, rows, filters }) => readinessMs(stream, rows, filters) })
    const kwSim = await startKwigaSimulator({ cabinets: kw.map(({ name: _n, ...c }) => c), clock })
    const dataDir = mkdtempSync(path.join(tmpdir(), 'bench-accounts-'))
    try {
      const config = parseConfig({
        dataDir,
        archiveExports: false,
        getcourse: gc.map((a) => ({ name: a.account, account: a.account, key: KEY, baseUrl: gcSim.urlFor(a.account) })),
        kwiga: kw.map((c) => ({ name: c.name, token: c.token, cabinetHash: c.cabinetHash, baseUrl: kwSim.url })),
      })
      const sources = [createGetcourseSource({ fullStart: '2024-01-01' }), createKwigaSource()]
      const timed = async (accounts: string[], concurrency?: number): Promise<{ ms: number; real: number; res: SyncSummary }> => {
        const t0 = clock.now()
        const r0 = performance.now()
        const res = await runSync({ warehouse, config, log: benchLog, clock, sources, concurrency }, { accounts })
        const bad = res.results.filter((r) => r.status !== 'succeeded')
        if (bad.length)
          throw new Error(
            `accounts bench: ${bad.length} stream(s) did not succeed, e.g. ${bad[0]!.account}/${bad[0]!.stream}: ${bad[0]!.status} ${bad[0]!.message}`,
          )
        return { ms: clock.now() - t0, real: (performance.now() - r0) / 1000, res }
      }
      const soloGc = await timed(['solo-gc'])
      const soloKw = await timed(['solo-kw'])
      const slowest = Math.max(soloGc.ms, soloKw.ms)
      const names = (set: string) => [
        ...gc.filter((a) => a.account.startsWith(`${set}-`)).map((a) => a.account),
        ...kw.filter((c) => c.name.startsWith(`${set}-`)).map((c) => c.name),
      ]
      // What `sync` and the scheduler pass to runSync.
      const defaultConcurrency = config.concurrency
      const allD = await timed(names('cD'), defaultConcurrency)
      const allN = await timed(names('cN'), GC_ACCOUNTS + KW_CABINETS)
      const min = (ms: number) => ms / 60_000
      const note = (r: { real: number; res: SyncSummary }) =>
        `${r.res.results.length} streams, ${r.res.results.reduce((n, x) => n + x.counts.read, 0).toLocaleString('en-US')} rows, ${r.real.toFixed(0)} s real`
      return [
        {
          name: `${GC_ACCOUNTS} GetCourse + ${KW_CABINETS} KWIGA in one run, default concurrency ${defaultConcurrency} (virtual wall)`,
          value: min(allD.ms),
          unit: 'min',
          baseline: { name: 'slowest account alone', value: min(slowest) },
          target: { op: '<=', value: 1.5, of: 'ratio' },
          note: note(allD),
        },
        {
          name: `same, concurrency ${GC_ACCOUNTS + KW_CABINETS} (one slot per account)`,
          value: min(allN.ms),
          unit: 'min',
          baseline: { name: 'slowest account alone', value: min(slowest) },
          target: { op: '<=', value: 1.5, of: 'ratio' },
          note: note(allN),
        },
        {
          name: 'slowest GetCourse account alone',
          value: min(soloGc.ms),
          unit: 'min',
          note: `${note(soloGc)}; ${gcSim.stats('solo-gc').exportsStarted} exports`,
        },
        { name: 'slowest KWIGA cabinet alone', value: min(soloKw.ms), unit: 'min', note: note(soloKw) },
      ] satisfies Figure[]
    } finally {
      await gcSim.close()
      await kwSim.close()
      await warehouse.close()
      rmSync(dataDir, { recursive: true, force: true })
    }
  },
}
