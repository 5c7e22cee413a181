/**
 * Issue 19.1 — three `schedule` replicas on three "hosts" (network namespaces with their own address
 * and host name) share one Postgres database: a job's tick is queued once, its accounts are shared
 * out, one replica is SIGKILLed mid-job and the others take its accounts over within the lease; the
 * warehouse then holds exactly what the simulators hold, every row inserted once.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGetcourseSimulator, type GetcourseSim } from '../../src/simulators/getcourse/server.js'
import { startKwigaSimulator, type KwigaSim } from '../../src/simulators/kwiga/server.js'
import { expectedCounts } from '../kwiga/expected.js'
import { createTestDb, prepareCli, runCli, serverAvailable, sleep, tempDir, type TestDb } from '../reliability/harness.js'
import { createTestNetwork, type TestNetwork } from './hosts.js'

const server = await serverAvailable()
// Network namespaces need root; CI runs as root and must run this test.
const root = process.getuid?.() === 0
if (!root && process.env.CI) throw new Error('CI is set but the replica test is not running as root (it makes network namespaces)')
const GC = [1, 2, 3, 4].map((i) => ({ name: `gc${i}`, account: `acct${i}` }))
const KW = [1, 2].map((i) => ({ name: `kw${i}`, token: `kw-token-${i}-ffffffff`, hash: `cab${i}hash` }))
const LEASE = 10
const TOKEN = 'status-token-0123456789abcdef'

describe.skipIf(!server || !root)('three replicas on three hosts, one killed mid-job', () => {
  let gc: GetcourseSim
  let kw: KwigaSim
  let tdb: TestDb
  let network: TestNetwork
  let cli: Awaited<ReturnType<typeof prepareCli>>
  const dir = tempDir('replicas')
  const children: ChildProcess[] = []
  const logs: string[] = ['', '', '']

  beforeAll(async () => {
    cli = await prepareCli()
    gc = await startGetcourseSimulator({
      accounts: GC.map((a, i) => ({ account: a.account, key: `gc-key-${i}-0123456789`, users: 150, deals: 200, payments: 150, groups: 3, seed: 40 + i })),
      budget: { requests: 100_000, windowSeconds: 7200 },
      readyAfterMs: () => 1500,
    })
    kw = await startKwigaSimulator({
      cabinets: KW.map((c, i) => ({ token: c.token, cabinetHash: c.hash, contacts: 150, courses: 2, usersPerCourse: 10, seed: 70 + i })),
      rateLimit: { requests: 1_000_000, windowSeconds: 60 },
      latencyMs: 20,
    })
    tdb = await createTestDb()
    const ports = [5432, ...GC.map((a) => Number(new URL(gc.urlFor(a.account)).port)), Number(new URL(kw.url).port)]
    network = await createTestNetwork(3, ports)
  }, 120_000)

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
    network?.close()
    await tdb?.close()
    await gc?.close()
    await kw?.close()
    cli?.dispose()
    rmSync(dir, { recursive: true, force: true })
  })

  it('queues each tick once, shares the accounts out, takes a killed replica’s accounts over, loads every row once', { timeout: 300_000 }, async () => {
    const db = tdb.db.db
    const dbName = new URL(tdb.url).pathname.slice(1)
    const jobsDir = path.join(dir, 'jobs')
    mkdirSync(jobsDir, { recursive: true })
    // One tick, far enough ahead for three processes to start.
    const tickAt = new Date(Math.ceil((Date.now() + 40_000) / 1000) * 1000)
    const cron = `${tickAt.getUTCSeconds()} ${tickAt.getUTCMinutes()} ${tickAt.getUTCHours()} * * *`
    writeFileSync(path.join(jobsDir, 'everything.yaml'), `name: everything\ncron: "${cron}"\ntimezone: UTC\n`)
    const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'info', FORCE_COLOR: '0', SCALE_TOKEN: TOKEN }
    GC.forEach((_, i) => (env[`GC_KEY_${i}`] = `gc-key-${i}-0123456789`))
    KW.forEach((c, i) => (env[`KW_TOKEN_${i}`] = c.token))
    const configFor = (i: number) => {
      const h = network.hosts[i]!
      const lines = [
        `database: postgres://postgres@${h.peer}:5432/${dbName}`,
        `dataDir: ${JSON.stringify(path.join(dir, `data-${i}`))}`,
        'archiveExports: false',
        'batchSize: 40',
        'concurrency: 4',
        'shutdownSeconds: 5',
        `jobsDir: ${JSON.stringify(jobsDir)}`,
        `replicas: { leaseSeconds: ${LEASE}, heartbeatSeconds: 1, pollSeconds: 0.5 }`,
        `server: { host: ${h.address}, port: 9464, token: "\${SCALE_TOKEN}" }`,
        'getcourse:',
        ...GC.flatMap((a, j) => [
          `  - name: ${a.name}`,
          `    account: ${a.account}`,
          `    baseUrl: ${gc.urlFor(a.account)}`,
          `    key: \${GC_KEY_${j}}`,
          '    poll: { firstCheckSeconds: 0.3, maxIntervalSeconds: 1, timeoutSeconds: 120 }',
        ]),
        'kwiga:',
        ...KW.flatMap((c, j) => [`  - name: ${c.name}`, `    token: \${KW_TOKEN_${j}}`, `    cabinetHash: ${c.hash}`, `    baseUrl: ${kw.url}`]),
      ]
      const file = path.join(dir, `etl-${i}.yaml`)
      writeFileSync(file, `${lines.join('\n')}\n`)
      return file
    }
    // Migrate once from the root namespace, so the three do not start by racing on it.
    const migrated = await runCli(cli, ['--config', configFor(0), 'migrate'], { env: env as Record<string, string>, timeoutMs: 60_000 })
    expect(migrated.code, migrated.stderr.slice(-1500)).toBe(0)

    const exits: Promise<{ code: number | null; signal: NodeJS.Signals | null }>[] = []
    for (let i = 0; i < 3; i++) {
      const child = network.spawnOn(i, `replica-${i + 1}`, [process.execPath, ...cli.argv, '--config', configFor(i), 'schedule'], env)
      children.push(child)
      child.stdout!.on('data', (c: Buffer) => (logs[i] += c.toString()))
      child.stderr!.on('data', (c: Buffer) => (logs[i] += c.toString()))
      exits.push(new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal }))))
    }
    // Every replica healthy on its own address before the tick.
    for (const h of network.hosts) {
      for (;;) {
        const ok = await fetch(`http://${h.address}:9464/healthz`)
          .then((r) => r.status === 200)
          .catch(() => false)
        if (ok) break
        expect(Date.now(), `replica on ${h.address} not healthy before the tick:\n${logs[h.index]!.slice(-2000)}`).toBeLessThan(tickAt.getTime() - 1000)
        await sleep(200)
      }
    }
    const metrics = await fetch(`http://${network.hosts[0]!.address}:9464/metrics`)
    expect(metrics.status).toBe(401)

    // Kill the replica that holds a GetCourse account once all three hold accounts and it has a stream running.
    let victim = -1
    let victimJobs: string[] = []
    let killedAt = ''
    for (const until = Date.now() + 120_000; victim < 0; ) {
      expect(Date.now(), 'all three replicas never held accounts at once').toBeLessThan(until)
      const { rows } = await sql<{ host: string; doing: { jobId: string; source: string }[] }>`select host, doing from etl.replicas`.execute(db)
      if (rows.length === 3 && rows.every((r) => r.doing.length > 0)) {
        const { rows: running } = await sql<{ host: string }>`select distinct host from etl.runs where status = 'running' and source = 'getcourse'`.execute(db)
        const pick = rows.find((r) => running.some((x) => x.host === r.host) && r.doing.some((d) => d.source === 'getcourse'))
        if (pick) {
          victim = Number(pick.host.replace('replica-', '')) - 1
          victimJobs = pick.doing.map((d) => d.jobId)
          children[victim]!.kill('SIGKILL')
          killedAt = (await sql<{ now: string }>`select now()::text as now`.execute(db)).rows[0]!.now
        }
      }
      await sleep(100)
    }
    expect((await exits[victim]!).signal).toBe('SIGKILL')

    // Run to completion: every account job of the tick completed.
    const tick = tickAt.toISOString()
    const accounts = GC.length + KW.length
    for (const until = Date.now() + 180_000; ; ) {
      const { rows } = await sql<{ state: string; n: number }>`
        select state::text, count(*)::int as n from etl_queue.job where name = 'course-etl-account' and data->>'tick' = ${tick} group by 1`.execute(db)
      if (rows.length === 1 && rows[0]!.state === 'completed' && rows[0]!.n === accounts) break
      expect(Date.now(), `tick not completed: ${JSON.stringify(rows)}\n${logs.map((l) => l.slice(-1500)).join('\n---\n')}`).toBeLessThan(until)
      await sleep(500)
    }

    // The tick was queued by all three and fired once: one job per account.
    for (const l of logs) expect(l).toContain('job tick queued')
    const { rows: perTick } = await sql<{ n: number }>`select count(*)::int as n from etl_queue.job where data->>'tick' = ${tick}`.execute(db)
    expect(perTick[0]!.n).toBe(accounts)

    // The killed replica's accounts were taken over within the lease, by the others.
    const { rows: taken } = await sql<{ id: string; after: number }>`
      select id::text, extract(epoch from started_on - ${killedAt}::timestamptz)::float8 as after
      from etl_queue.job where id = any(${victimJobs}::uuid[])`.execute(db)
    expect(taken.length).toBe(victimJobs.length)
    for (const t of taken) {
      expect(t.after).toBeGreaterThan(0)
      expect(t.after).toBeLessThanOrEqual(LEASE)
    }
    const victimHost = `replica-${victim + 1}`
    const { rows: runs } = await sql<{
      source: string
      account: string
      stream: string
      host: string
      status: string
      started_at: Date
      finished_at: Date | null
    }>`select source, account, stream, host, status, started_at, finished_at from etl.runs order by id`.execute(db)
    expect(runs.filter((r) => r.status === 'running')).toEqual([])
    expect(runs.some((r) => r.host === victimHost && r.status === 'aborted')).toBe(true)
    // Shared out: at least two hosts had streams running at the same moment …
    const end = (r: (typeof runs)[number]) => (r.host === victimHost ? new Date(killedAt).getTime() : (r.finished_at?.getTime() ?? Date.now()))
    const overlaps = (a: (typeof runs)[number], b: (typeof runs)[number]) => a.started_at.getTime() < end(b) && b.started_at.getTime() < end(a)
    expect(runs.some((a) => runs.some((b) => a.host !== b.host && overlaps(a, b)))).toBe(true)
    // … never two on one account.
    for (const a of runs)
      for (const b of runs)
        if (a !== b && a.account === b.account && a.source === b.source && a.host !== b.host)
          expect(overlaps(a, b), `${a.source}/${a.account} on ${a.host} and ${b.host} at once`).toBe(false)
    expect(new Set(runs.map((r) => r.host)).size).toBe(3)

    // The warehouse holds what the simulators hold, and each GetCourse row was inserted once.
    for (const a of GC) {
      const data = gc.dataset(a.account)
      const want = {
        users: data.users.length,
        deals: data.deals.length,
        payments: data.payments.length,
        groups: data.groups.length,
        group_members: data.groups.reduce((n, g) => n + g.members.length, 0),
      }
      const got: Record<string, number> = {}
      for (const t of Object.keys(want))
        got[t] = (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(`getcourse.${t}`)} where account = ${a.name}`.execute(db)).rows[0]!.n
      expect(got, a.name).toEqual(want)
      const { rows: inserted } = await sql<{ stream: string; n: number }>`
        select stream, sum(rows_inserted)::int as n from etl.runs where source = 'getcourse' and account = ${a.name} group by stream`.execute(db)
      expect(Object.fromEntries(inserted.filter((r) => r.stream in want).map((r) => [r.stream, r.n])), `${a.name} rows inserted`).toEqual(want)
    }
    // The GetCourse rules held across replicas: one export of ours forming per account at a time, never a
    // 905 from meeting our own, and every request in the shared ledger before it was sent.
    for (const a of GC) {
      expect(gc.stats(a.account).maxConcurrentForming, a.name).toBeLessThanOrEqual(1)
      const sent = gc.requests.filter((r) => r.account === a.account)
      expect(sent.filter((r) => r.errorCode === 905)).toEqual([])
      const school = new URL(gc.urlFor(a.account)).host.toLowerCase()
      const { rows: ledger } = await sql<{ n: number }>`select count(*)::int as n from etl.getcourse_requests where account = ${school}`.execute(db)
      expect(ledger[0]!.n, `${a.name} ledger`).toBeGreaterThanOrEqual(sent.length)
    }
    for (const c of KW) {
      const want = expectedCounts(kw.dataset(c.hash))
      const got: Record<string, number> = {}
      for (const t of Object.keys(want))
        got[t] = (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(t)} where cabinet = ${c.name}`.execute(db)).rows[0]!.n
      expect(got, c.name).toEqual(want)
    }

    // `status` lists the two live replicas with host name, pid and what they do.
    const status = await runCli(cli, ['--config', configFor(0), 'status'], { env: env as Record<string, string>, timeoutMs: 60_000 })
    expect(status.code, status.stderr).toBe(0)
    const live = [0, 1, 2].filter((i) => i !== victim)
    expect(status.stdout).toMatch(/replicas \(2 live\)/)
    for (const i of live)
      expect(status.stdout).toMatch(new RegExp(`replica-${i + 1} pid ${children[i]!.pid} http ${network.hosts[i]!.address.replaceAll('.', '\\.')}:9464 — idle`))
    expect(status.stdout).not.toContain(victimHost)

    // A survivor's metrics over its own address, with the token: its own runs counted.
    const survivor = network.hosts[live[0]!]!
    const scraped = await fetch(`http://${survivor.address}:9464/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })
    expect(scraped.status).toBe(200)
    const text = await scraped.text()
    expect(text).toMatch(/^course_etl_runs_total\{source="[a-z]+",account="[a-z0-9]+",stream="[a-z_]+",status="succeeded"\} [1-9]/m)
    for (const secret of [TOKEN, ...GC.map((_, i) => `gc-key-${i}-0123456789`), ...KW.map((c) => c.token)]) expect(text).not.toContain(secret)

    // SIGTERM: the survivors leave cleanly and deregister.
    for (const i of live) children[i]!.kill('SIGTERM')
    for (const i of live) expect((await exits[i]!).code, logs[i]!.slice(-1500)).toBe(0)
    const { rows: left } = await sql<{ n: number }>`select count(*)::int as n from etl.replicas`.execute(db)
    expect(left[0]!.n).toBe(0)
    console.info(`replicas: victim ${victimHost} held ${victimJobs.length} account(s); taken over after ${taken.map((t) => t.after.toFixed(1)).join(', ')} s`)
  })
})
