/**
 * Issue 7.2 — several processes. Three `sync` processes and two `schedule --run <job>` processes
 * load one simulated GetCourse account (and one KWIGA cabinet) into one Postgres database at once.
 */
import { mkdirSync, writeFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  GC_ACCOUNT,
  configEnv,
  createTestDb,
  explainDiff,
  isStartPath,
  ledgerMaxInWindow,
  schoolOf,
  prepareCli,
  resetWarehouse,
  runCli,
  serverAvailable,
  simCounted,
  startSims,
  startsWhilePending,
  exportRows,
  snapshotRows,
  tableDigests,
  tempDir,
  unexpectedStderr,
  writeConfig,
  type Sims,
  type TestDb,
} from './harness.js'

const server = await serverAvailable()
/** One window fits about one run: five processes must share it, and wait for it. */
const BUDGET = { requests: 20, windowSeconds: 2, reserve: 2 }

describe.skipIf(!server)('several processes on one account and one database', () => {
  let cli: Awaited<ReturnType<typeof prepareCli>>
  let sims: Sims
  let tdb: TestDb
  let configFile: string
  let reference: Record<string, string>
  let referenceRows: Record<string, string[]>
  const dir = tempDir('multi')
  const jobsDir = path.join(dir, 'jobs')
  const run = (args: string[]) => runCli(cli, ['--config', configFile, ...args], { env: configEnv(), timeoutMs: 150_000 })

  beforeAll(async () => {
    cli = await prepareCli()
    sims = await startSims({ gcBudget: { requests: BUDGET.requests, windowSeconds: BUDGET.windowSeconds }, kw: { contacts: 60 }, readyAfterMs: () => 40 })
    tdb = await createTestDb()
    mkdirSync(jobsDir, { recursive: true })
    writeFileSync(path.join(jobsDir, 'gc-full.yaml'), 'name: gc-full\ncron: "0 3 * * *"\nsource: getcourse\nmode: full\n')
    writeFileSync(path.join(jobsDir, 'everything.yaml'), 'name: everything\ncron: "30 3 * * *"\n')
    configFile = writeConfig(path.join(dir, 'etl.yaml'), { database: tdb.url, dataDir: path.join(dir, 'data'), sims, budget: BUDGET, batchSize: 10, jobsDir })
    const clean = await run(['sync'])
    expect(clean.code, clean.stderr.slice(-2000)).toBe(0)
    reference = await tableDigests(tdb.db)
    referenceRows = await snapshotRows(tdb.db)
    await resetWarehouse(tdb.db)
  })
  afterAll(async () => {
    await tdb?.close()
    await sims?.close()
    cli?.dispose()
    rmSync(dir, { recursive: true, force: true })
  })

  it('3 syncs + 2 scheduler jobs: one export forming at a time, never over budget, every row loaded exactly once', { timeout: 240_000 }, async () => {
    const since = Date.now()
    const startsBefore = sims.gc.requests.filter((r) => isStartPath(r.path)).length
    const children = await Promise.all([
      run(['sync']),
      run(['sync']),
      run(['sync']),
      run(['schedule', '--run', 'gc-full']),
      run(['schedule', '--run', 'everything']),
    ])
    for (const [i, c] of children.entries()) {
      expect(c.code, `process ${i}: ${c.stdout}\n${c.stderr.slice(-3000)}`).toBe(0)
      expect(unexpectedStderr(c.stderr), `process ${i}`).toEqual([])
    }
    // They overlapped for real: several processes had runs going at the same moment.
    const { rows: overlap } = await sql<{ n: number }>`
      select max(n)::int as n from (select (select count(distinct b.pid) from etl.runs b where b.started_at <= a.started_at and coalesce(b.finished_at, now()) >= a.started_at) as n from etl.runs a) x`.execute(
      tdb.db.db,
    )
    expect(overlap[0]!.n).toBeGreaterThanOrEqual(3)

    // Streams deferred on purpose (budget, busy slot) finish in one more run; nothing else is needed.
    const finish = await run(['sync'])
    expect(finish.code, finish.stderr.slice(-3000)).toBe(0)

    // Never two exports of ours forming at once: the simulator's count, and no start ever met our own forming export (905).
    const stats = sims.gc.stats(GC_ACCOUNT)
    expect(stats.maxConcurrentForming).toBeLessThanOrEqual(1)
    const starts = sims.gc.requests.filter((r) => r.at >= since && isStartPath(r.path))
    expect(starts.length).toBeGreaterThan(0)
    expect(starts.filter((r) => r.errorCode === 905)).toEqual([])
    expect(startsWhilePending(sims.gc, await exportRows(tdb.db), since)).toEqual([])
    // Never over budget: our ledger per window, GetCourse's own count, and no 903 answer.
    expect(await ledgerMaxInWindow(tdb.db, schoolOf(sims.gc, GC_ACCOUNT), BUDGET.windowSeconds)).toBeLessThanOrEqual(BUDGET.requests - BUDGET.reserve)
    expect(stats.maxRequestsInWindow).toBeLessThanOrEqual(BUDGET.requests)
    expect(sims.gc.requests.filter((r) => r.at >= since && r.errorCode === 903)).toEqual([])
    const { rows: ledger } = await sql<{
      n: number
    }>`select count(*)::int as n from etl.getcourse_requests where sent_at >= ${new Date(since).toISOString()}::timestamptz`.execute(tdb.db.db)
    expect(simCounted(sims.gc, since)).toBeLessThanOrEqual(ledger[0]!.n)

    // Every row exactly once: the tables equal a clean single run, and across all processes each
    // GetCourse row was inserted once (a concurrent load of the same row finds it unchanged).
    expect(await explainDiff(tdb.db, reference, referenceRows)).toEqual({})
    const data = sims.gc.dataset(GC_ACCOUNT)
    const { rows: inserted } = await sql<{ stream: string; n: number }>`
      select stream, sum(rows_inserted)::int as n from etl.runs where source = 'getcourse' group by stream`.execute(tdb.db.db)
    const byStream = Object.fromEntries(inserted.map((r) => [r.stream, r.n]))
    expect(byStream).toMatchObject({
      users: data.users.length,
      deals: data.deals.length,
      payments: data.payments.length,
      groups: data.groups.length,
      group_members: data.groups.reduce((n, g) => n + g.members.length, 0),
    })
    console.info(
      `multi-process: ${starts.length - 0} starts (${sims.gc.requests.filter((r) => isStartPath(r.path)).length - startsBefore} total), max ${stats.maxRequestsInWindow} requests/window, ${children.map((c) => `${c.ms} ms`).join(', ')}`,
    )
  })
})
