/**
 * Issue 7.6 — database faults. While `sync` runs as a child process, the test terminates the
 * child's Postgres sessions (`pg_terminate_backend`, selected by application_name `course-etl` and
 * this test's database). The run either completes (then its data is complete) or fails cleanly: a
 * one-line reason, non-zero exit, no run recorded as succeeded with partial data. The next run
 * completes and equals a clean run.
 */
import { rmSync } from 'node:fs'
import path from 'node:path'
import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  configEnv,
  createTestDb,
  explainDiff,
  snapshotRows,
  maxRunId,
  partialSuccesses,
  prepareCli,
  prng,
  resetWarehouse,
  runCli,
  runRows,
  serverAvailable,
  sleep,
  startSims,
  tableDigests,
  tempDir,
  failureLine,
  unexpectedStderr,
  writeConfig,
  type Sims,
  type TestDb,
} from './harness.js'

const server = await serverAvailable()
const TRIALS = 5
const SEED = Number(process.env.RELIABILITY_SEED ?? Math.floor(Math.random() * 2 ** 31))

describe.skipIf(!server)('database faults: sessions terminated mid-run', () => {
  let cli: Awaited<ReturnType<typeof prepareCli>>
  let sims: Sims
  let tdb: TestDb
  let admin: pg.Client
  let configFile: string
  let reference: Record<string, string>
  let referenceRows: Record<string, string[]>
  let cleanMs = 0
  const dir = tempDir('dbfaults')
  const sync = () => runCli(cli, ['--config', configFile, 'sync'], { env: configEnv(), timeoutMs: 90_000 })

  /** Terminates every session of the ETL on the test database; returns how many. */
  async function terminate(): Promise<number> {
    const { rows } = await admin.query<{ n: number }>(
      `select count(*)::int as n from (select pg_terminate_backend(pid) from pg_stat_activity
       where application_name = 'course-etl' and datname = current_database() and pid <> pg_backend_pid()) t`,
    )
    return rows[0]!.n
  }

  beforeAll(async () => {
    cli = await prepareCli()
    sims = await startSims({ gcBudget: { requests: 20, windowSeconds: 2 }, kw: { contacts: 60 }, readyAfterMs: () => 20 })
    tdb = await createTestDb()
    admin = new pg.Client({ connectionString: tdb.url, application_name: 'course-etl-test-admin' })
    await admin.connect()
    configFile = writeConfig(path.join(dir, 'etl.yaml'), {
      database: tdb.url,
      dataDir: path.join(dir, 'data'),
      sims,
      budget: { requests: 20, windowSeconds: 2, reserve: 2 },
      batchSize: 10,
    })
    const t0 = Date.now()
    const clean = await sync()
    expect(clean.code, clean.stderr.slice(-2000)).toBe(0)
    cleanMs = Date.now() - t0
    reference = await tableDigests(tdb.db)
    referenceRows = await snapshotRows(tdb.db)
  })
  afterAll(async () => {
    await admin?.end()
    await tdb?.close()
    await sims?.close()
    cli?.dispose()
    rmSync(dir, { recursive: true, force: true })
  })

  it(`${TRIALS}+ runs whose sessions are terminated mid-run fail cleanly or complete; the next run loses nothing (seed ${SEED})`, {
    timeout: 600_000,
  }, async () => {
    const random = prng(SEED)
    const outcomes: string[] = []
    let terminatedSessions = 0
    let trialsHit = 0
    // How long an undisturbed run takes now: the first run is slower (cold caches, a busy machine), and a
    // moment past the end of the run terminates nothing, so trials that hit nothing shorten the scale.
    let scaleMs = cleanMs
    const wanted = Math.ceil(TRIALS / 2)
    for (let trial = 1; trial <= TRIALS || (trialsHit < wanted && trial <= 3 * TRIALS); trial++) {
      await resetWarehouse(tdb.db)
      const before = await maxRunId(tdb.db)
      // One to three terminations at random moments while the run is going (also inside batch transactions and COPY).
      const moments = Array.from({ length: 1 + Math.floor(random() * 3) }, () => Math.round(300 + random() * Math.max(500, scaleMs * 0.7 - 300))).sort(
        (a, b) => a - b,
      )
      let done = false
      const run = sync().finally(() => (done = true))
      const t0 = Date.now()
      let hits = 0
      for (const at of moments) {
        await sleep(Math.max(0, at - (Date.now() - t0)))
        if (done) break
        hits += await terminate()
      }
      if (hits) trialsHit++
      terminatedSessions += hits
      const faulted = await run
      if (!hits) scaleMs = Math.min(scaleMs, Date.now() - t0)
      const where = `trial ${trial} (seed ${SEED}), terminations at ${moments.join(', ')} ms hit ${hits} sessions`
      outcomes.push(`exit ${faulted.code} (${hits} sessions)`)
      // Clean: JSON log lines and at most a one-line reason, never an uncaught error's stack.
      expect(unexpectedStderr(faulted.stderr), `${where}\n${faulted.stderr.slice(-3000)}`).toEqual([])
      if (faulted.code === 0) expect(await explainDiff(tdb.db, reference, referenceRows), `${where}\n${faulted.stdout}`).toEqual({})
      else expect(failureLine(faulted.stderr), where).toMatch(/^course-etl: /)
      expect(await partialSuccesses(tdb.db, reference, before), where).toEqual([])
      const runs = await runRows(tdb.db, before)
      for (const r of runs.filter((x) => x.status === 'failed')) expect(r.error_code, `${where}: ${JSON.stringify(r)}`).toBeTruthy()

      // The next run completes, and nothing is lost.
      const next = await sync()
      expect(next.code, `${where}\n${next.stderr.slice(-3000)}`).toBe(0)
      expect(
        await explainDiff(tdb.db, reference, referenceRows),
        `${where}\nfaulted run:\n${faulted.stdout}${faulted.stderr
          .split('\n')
          .filter((l) => /"level":[45]0/.test(l))
          .map((l) => l.slice(0, 400))
          .join('\n')}\nnext run:\n${next.stdout}`,
      ).toEqual({})
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from etl.runs where status = 'running'`.execute(tdb.db.db)
      expect(rows[0]!.n, where).toBe(0)
    }
    console.info(`db faults: ${outcomes.join('; ')}`)
    expect(terminatedSessions).toBeGreaterThan(0)
    expect(trialsHit).toBeGreaterThanOrEqual(wanted)
  })
})
