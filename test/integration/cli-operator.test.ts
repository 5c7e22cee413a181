import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGetcourseSimulator, type GetcourseSim } from '../../src/simulators/getcourse/server.js'
import { startKwigaSimulator, type KwigaSim } from '../../src/simulators/kwiga/server.js'
import { runCli } from '../support/cli.js'
import { createTestWarehouse, type TestWarehouse } from '../support/database.js'

// Issue 16 items 1 and 4–7, through the real CLI against the real Postgres and the simulators.

const GC_KEY = 'cli-operator-gc-key-01'
const KW_TOKEN = 'cli-operator-kw-token-01'
const KW_HASH = 'cli-operator-hash-01'

/** A loopback proxy in front of the KWIGA simulator that can add a field to /timezones items (a source schema change). */
function startProxy(target: string): Promise<{ url: string; inject: { field: string | null }; close(): Promise<void> }> {
  const inject = { field: null as string | null }
  const server = http.createServer(async (req, res) => {
    const upstream = await fetch(`${target}${req.url}`, { headers: req.headers as Record<string, string> })
    let body = Buffer.from(await upstream.arrayBuffer())
    if (inject.field && req.url?.startsWith('/timezones') && upstream.status === 200) {
      const json = JSON.parse(body.toString('utf8')) as { data: Record<string, unknown>[] }
      for (const item of json.data) item[inject.field] = 'лето, «зима»'
      body = Buffer.from(JSON.stringify(json))
    }
    const headers: Record<string, string> = {}
    upstream.headers.forEach((v, k) => {
      if (!['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k)) headers[k] = v
    })
    res.writeHead(upstream.status, { ...headers, 'content-length': String(body.length) })
    res.end(body)
  })
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
        inject,
        close: () => new Promise<void>((r) => server.close(() => r())),
      }),
    ),
  )
}

let wh: TestWarehouse
let gc: GetcourseSim
let kw: KwigaSim
let proxy: Awaited<ReturnType<typeof startProxy>>
let dir: string
let env: NodeJS.ProcessEnv

function writeConfig(name: string, o: { gcUrl: string; gcKey?: string; kwToken?: string }): string {
  const file = path.join(dir, name)
  writeFileSync(
    file,
    [
      'database: ${WAREHOUSE_URL}',
      'dataDir: ./data',
      'archiveExports: false',
      `jobsDir: ${JSON.stringify(path.join(dir, 'jobs'))}`,
      'getcourse:',
      '  - name: acme',
      '    account: acme',
      `    baseUrl: ${o.gcUrl}`,
      `    key: ${o.gcKey ?? '${GC_KEY}'}`,
      '    poll: { firstCheckSeconds: 0.2, maxIntervalSeconds: 1, timeoutSeconds: 60 }',
      'kwiga:',
      '  - name: main',
      `    baseUrl: ${proxy.url}`,
      `    token: ${o.kwToken ?? '${KW_TOKEN}'}`,
      '    cabinetHash: ${KW_HASH}',
      '',
    ].join('\n'),
  )
  return file
}

const q = async <T>(text: ReturnType<typeof sql<T>>) => (await text.execute(wh.db)).rows
const ledger = async () => (await q(sql<{ n: number }>`select count(*)::int as n from etl.getcourse_requests`))[0]!.n

let cfg: string
beforeAll(async () => {
  wh = await createTestWarehouse()
  dir = mkdtempSync(path.join(tmpdir(), 'cli-operator-'))
  gc = await startGetcourseSimulator({
    accounts: [{ account: 'acme', key: GC_KEY, users: 40, deals: 60, payments: 30, groups: 3, seed: 16 }],
    readyAfterMs: () => 100,
  })
  kw = await startKwigaSimulator({ cabinets: [{ token: KW_TOKEN, cabinetHash: KW_HASH, contacts: 25, courses: 2, usersPerCourse: 5, seed: 16 }] })
  proxy = await startProxy(kw.url)
  env = { WAREHOUSE_URL: wh.url ?? '', GC_KEY, KW_TOKEN, KW_HASH }
  cfg = writeConfig('etl.yaml', { gcUrl: gc.urlFor('acme') })
})
afterAll(async () => {
  await proxy?.close()
  await gc?.close()
  await kw?.close()
  await wh?.dispose()
})

const etl = (args: string[], config = cfg) => runCli(['--config', config, ...args], { cwd: dir, env })

describe('operator commands against the simulators (server)', { timeout: 600_000 }, () => {
  it('check: database migrated, key and token accepted at 1 request each, budget left; non-zero with a bad key and token', async (ctx) => {
    if (!wh.url) return ctx.skip()
    const before = await ledger()
    const ok = await etl(['check'])
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout.split('\n')).toEqual([
      `ok    config: ${cfg}`,
      `ok    database: reachable (${wh.label}), 0 requests`,
      expect.stringMatching(/^ok {4}migrations: all \d+ applied$/),
      `ok    getcourse/acme: key accepted (3 groups) — POST ${gc.urlFor('acme')}/pl/api/account/groups, 1 request`,
      `ok    kwiga/main: token and cabinet hash accepted — GET ${proxy.url}/timezones, 1 request`,
      'ok    getcourse/acme budget: 89 of 90 requests left in the 120 min window (1 used)',
      '',
    ])
    expect(await ledger()).toBe(before + 1)

    const bad = writeConfig('bad.yaml', { gcUrl: gc.urlFor('acme'), gcKey: 'wrong-key-123456', kwToken: 'wrong-token-123456' })
    const r = await etl(['check'], bad)
    expect(r.code).toBe(1)
    expect(r.stdout).toMatch(/^FAIL {2}getcourse\/acme: AUTH_FAILED: GetCourse account "acme" .* — POST .*, 1 request$/m)
    expect(r.stdout).toMatch(/^FAIL {2}kwiga\/main: AUTH_FAILED: KWIGA cabinet "main": the token was rejected .* — GET .*\/timezones, 1 request$/m)
    expect(r.lastLine).toMatch(/^course-etl: CHECK_FAILED: 2 check\(s\) failed: getcourse\/acme: AUTH_FAILED: .*; kwiga\/main: AUTH_FAILED: /)
    expect(r.stdout + r.stderr).not.toContain('wrong-key-123456')
  })

  it('plan: exports, requests, budget windows and a finish time per account, without spending a request', async (ctx) => {
    if (!wh.url) return ctx.skip()
    const before = await ledger()
    const r = await etl(['plan', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const plans = JSON.parse(r.stdout) as {
      source: string
      account: string
      exports: number | null
      requests: number | null
      budgetWindows: number | null
      expectedFinish: string | null
      streams: { stream: string; exports: number | null }[]
    }[]
    const acme = plans.find((p) => p.source === 'getcourse')!
    // First run: all of history, users 9 windows, deals and payments 4 each (README "Reconciliation"); groups not loaded yet.
    expect(acme.streams.map((s) => [s.stream, s.exports])).toEqual([
      ['fields', 0],
      ['groups', 0],
      ['users', 9],
      ['group_members', 0],
      ['deals', 4],
      ['payments', 4],
    ])
    expect(acme.exports).toBe(17)
    // 2.3 requests per export until the account has its own mean, rounded up per stream, plus fields and groups.
    expect(acme.requests).toBe(Math.ceil(9 * 2.3) + 2 * Math.ceil(4 * 2.3) + 2)
    expect(acme.budgetWindows).toBe(1)
    expect(Date.parse(acme.expectedFinish!)).toBeGreaterThan(Date.now() - 60_000)
    expect(plans.find((p) => p.source === 'kwiga')).toMatchObject({ account: 'main', requests: null, budgetWindows: null })
    const text = await etl(['plan', '--source', 'getcourse'])
    expect(text.stdout).toMatch(/^getcourse\/acme: 17 export\(s\), ~43 request\(s\), 1 budget window\(s\) of 2 h, expected to finish by /)
    expect(text.stdout).toContain('nothing was sent: plan spends no request')
    expect(await ledger()).toBe(before)
  })

  it('status --json: budget numbers, rows in the table now, rows changed by the last run, error code and message', async (ctx) => {
    if (!wh.url) return ctx.skip()
    const sync = await etl(['sync'])
    expect(sync.code, sync.stderr).toBe(0)
    const r = await etl(['status', '--json'])
    expect(r.code, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout)
    const used = (await q(sql<{ n: number }>`select count(*)::int as n from etl.getcourse_requests where sent_at > now() - interval '2 hours'`))[0]!.n
    expect(report.accounts['getcourse:acme'].budget).toEqual({ used, remaining: 90 - used, limit: 90, windowSeconds: 7200, freesAt: null })
    const users = report.streams.find((s: { source: string; stream: string }) => s.source === 'getcourse' && s.stream === 'users')
    const stored = (await q(sql<{ n: number }>`select count(*)::int as n from getcourse.users where account = 'acme' and deleted_at is null`))[0]!.n
    const run = (
      await q(
        sql<{ rows_inserted: string; rows_updated: string }>`select rows_inserted, rows_updated from etl.runs where stream = 'users' order by id desc limit 1`,
      )
    )[0]!
    expect(users).toMatchObject({
      lastStatus: 'succeeded',
      rowsInTable: stored,
      rowsChanged: Number(run.rows_inserted) + Number(run.rows_updated),
      errorCode: null,
      lastError: null,
    })
    expect(stored).toBe(40)
    const contacts = report.streams.find((s: { stream: string }) => s.stream === 'contacts')
    const kwContacts = (await q(sql<{ n: number }>`select count(*)::int as n from kwiga.contacts where cabinet = 'main' and deleted_at is null`))[0]!.n
    expect(contacts).toMatchObject({ source: 'kwiga', rowsInTable: kwContacts, lastRun: expect.objectContaining({ read: expect.any(Number) }) })
  })

  it('status --check: clean after a good sync; then new rejects, a stuck export, a stale stream and a failed run are one line each', async (ctx) => {
    if (!wh.url) return ctx.skip()
    const clean = await etl(['status', '--check'])
    expect(clean.code, clean.stderr).toBe(0)
    expect(clean.stdout).toContain('check: no problems')

    // Rejects grew: a saved export with a row whose id is not a number.
    const file = path.join(dir, 'bad-row.json')
    const fixture = JSON.parse(readFileSync(path.resolve('test/fixtures/getcourse/users-export.json'), 'utf8'))
    fixture.info.items = [fixture.info.items[0].map((c: unknown, i: number) => (i === 0 ? 'id-7777abc' : c))]
    writeFileSync(file, JSON.stringify(fixture))
    expect((await etl(['load-file', '--account', 'acme', '--stream', 'users', '--file', file])).code).toBe(0)
    const grew = await etl(['status', '--check'])
    expect(grew.code).toBe(1)
    expect(grew.stdout).toContain('PROBLEM getcourse-file/acme/users: 1 new reject(s) since the last check (see `course-etl rejects`)')
    expect(grew.lastLine).toBe(
      'course-etl: CHECK_FAILED: 1 problem(s): getcourse-file/acme/users: 1 new reject(s) since the last check (see `course-etl rejects`)',
    )
    expect((await etl(['status', '--check'])).code).toBe(0) // the mark moved

    const rejects = await etl(['rejects', '--since', new Date().toISOString().slice(0, 10), '--account', 'acme'])
    expect(rejects.stdout).toMatch(/getcourse-file\s+acme\s+users\s+id-7777abc\s+.*id/)

    // A stuck export: pending for 7 h, past poll.timeoutSeconds.
    await sql`insert into etl.getcourse_exports (account, export_id, stream, filters, filter_field, window_from, window_to, started_at, status)
      values ('acme', 990001, 'users', '{}', 'created_at', '2026-01-01', '2026-01-31', now() - interval '7 hours', 'pending')`.execute(wh.db)
    const stuck = await etl(['status', '--check'])
    expect(stuck.code).toBe(1)
    expect(stuck.lastLine).toBe(
      'course-etl: CHECK_FAILED: 1 problem(s): getcourse/acme/users: export 990001 pending for 7.0 h (poll.timeoutSeconds 60 s; given up after 86400 s)',
    )
    await sql`delete from etl.getcourse_exports where export_id = 990001`.execute(wh.db)

    // Stale: every stream's last success is older than --max-age.
    await new Promise((r) => setTimeout(r, 1500))
    const stale = await etl(['status', '--check', '--max-age', '1s'])
    expect(stale.code).toBe(1)
    expect(stale.stdout.split('\n').filter((l) => /^PROBLEM .*: last success \d+s ago, older than 1s \(--max-age\)$/.test(l))).toHaveLength(15)
    expect(stale.lastLine).toMatch(/^course-etl: CHECK_FAILED: 15 problem\(s\): getcourse\/acme\/fields: last success \d+s ago, older than 1s \(--max-age\) …$/)

    // A failed run: the key is refused. The table shows the whole reason, not 80 characters of it.
    const bad = writeConfig('badkey.yaml', { gcUrl: gc.urlFor('acme'), gcKey: 'refused-key-0000000' })
    const failed = await etl(['sync', '--source', 'getcourse', '--streams', 'fields'], bad)
    expect(failed.lastLine).toMatch(
      /^course-etl: AUTH_FAILED: getcourse\/acme\/fields: GetCourse account "acme" \(http:\/\/127\.0\.0\.1:\d+\) refused the request/,
    )
    const reason = (await q(sql<{ message: string }>`select message from etl.runs where stream = 'fields' order by id desc limit 1`))[0]!.message
    expect(reason.length).toBeGreaterThan(80)
    const table = await etl(['status'])
    expect(table.stdout).toContain(`AUTH_FAILED: ${reason}`)
    const red = await etl(['status', '--check'])
    expect(red.stdout).toContain(`PROBLEM getcourse/acme/fields: last run failed (AUTH_FAILED): ${reason}`)
  })

  it('runs, state show and state reset: the next run of the stream reads it completely', async (ctx) => {
    if (!wh.url) return ctx.skip()
    const runs = await etl(['runs', '--account', 'acme', '--stream', 'users', '--limit', '1'])
    expect(runs.code, runs.stderr).toBe(0)
    const lines = runs.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^id\s+started\s+source\s+account\s+stream\s+status\s+secs\s+read\s+ins\s+upd\s+rej\s+req\s+error$/)
    expect(lines).toHaveLength(2)
    expect(lines[1]).toMatch(/getcourse-file\s+acme\s+users\s+succeeded/)
    const json = JSON.parse((await etl(['runs', '--source', 'getcourse', '--stream', 'users', '--json'])).stdout)
    expect(json[0]).toMatchObject({ source: 'getcourse', stream: 'users', status: 'succeeded', read: 40, inserted: 40 })

    const shown = JSON.parse((await etl(['state', 'show', '--account', 'acme', '--stream', 'users'])).stdout) as {
      source: string
      state: { watermark?: string }
    }[]
    expect(shown.find((s) => s.source === 'getcourse')!.state.watermark).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    const incremental = JSON.parse((await etl(['plan', '--source', 'getcourse', '--streams', 'users', '--json'])).stdout)
    expect(incremental[0].streams[0]).toMatchObject({ stream: 'users', exports: 1 })

    const reset = await etl(['state', 'reset', '--account', 'acme', '--stream', 'users'])
    expect(reset.stdout).toBe('getcourse/acme/users: state reset; its next run reads it completely\n')
    expect(await q(sql`select 1 from etl.stream_state where source = 'getcourse' and account = 'acme' and stream = 'users'`)).toEqual([])
    const full = JSON.parse((await etl(['plan', '--source', 'getcourse', '--streams', 'users', '--json'])).stdout)
    expect(full[0].streams[0]).toMatchObject({ stream: 'users', exports: 9, note: expect.stringContaining('all of history') })
    const unknown = await etl(['state', 'reset', '--account', 'acme', '--stream', 'course_users'])
    expect(unknown.lastLine).toBe('course-etl: USAGE: No stream "course_users" for account "acme"')
  })

  it('schema changes: a new KWIGA field and a new GetCourse column title are recorded, logged once and shown by status', async (ctx) => {
    if (!wh.url) return ctx.skip()
    // The first read of a scope is its baseline, not a change.
    proxy.inject.field = null
    const baseline = await etl(['sync', '--source', 'kwiga', '--streams', 'timezones'])
    expect(baseline.code, baseline.stderr).toBe(0)
    expect((await etl(['sync', '--source', 'getcourse', '--streams', 'deals'])).code).toBe(0)
    proxy.inject.field = 'dst_label'
    const first = await etl(['sync', '--source', 'kwiga', '--streams', 'timezones'])
    expect(first.code, first.stderr).toBe(0)
    expect(first.stderr).toContain('the source sent new field(s) in /timezones: dst_label')
    const again = await etl(['sync', '--source', 'kwiga', '--streams', 'timezones'])
    expect(again.stderr).not.toContain('new field')

    // The same school, its deals now priced in another currency: a column title GetCourse never sent before.
    const usd = await startGetcourseSimulator({
      accounts: [{ account: 'acme', key: GC_KEY, users: 40, deals: 60, payments: 30, groups: 3, seed: 16, currency: 'USD' }],
      readyAfterMs: () => 100,
      // GetCourse export ids never repeat; a second simulator must not hand out the first one's.
      firstExportId: 70_000_000,
    })
    try {
      const moved = writeConfig('usd.yaml', { gcUrl: usd.urlFor('acme') })
      const deals = await etl(['sync', '--source', 'getcourse', '--streams', 'deals'], moved)
      expect(deals.code, deals.stderr).toBe(0)
      expect(deals.stderr).toContain('the source sent new field(s) in deals: Стоимость, USD')
    } finally {
      await usd.close()
    }
    const rows = await q(
      sql<{ source: string; scope: string; name: string }>`select source, scope, name from etl.schema_changes where not baseline order by id`,
    )
    expect(rows).toEqual([
      { source: 'kwiga', scope: '/timezones', name: 'dst_label' },
      { source: 'getcourse', scope: 'deals', name: 'Стоимость, USD' },
    ])
    const status = await etl(['status'])
    expect(status.stdout).toMatch(
      /new source fields \(first seen, newest first\):\n {2}\d{4}-\d\d-\d\dT\d\d:\d\d {2}getcourse\/acme deals: Стоимость, USD\n {2}\S+ {2}kwiga\/main \/timezones: dst_label/,
    )
    const json = JSON.parse((await etl(['status', '--json'])).stdout)
    expect(json.schemaChanges.map((c: { name: string }) => c.name)).toEqual(['Стоимость, USD', 'dst_label'])
  })
})

describe('init and simulate', { timeout: 300_000 }, () => {
  it('init writes a commented template that loads once its variables are set, and never overwrites', async () => {
    const here = mkdtempSync(path.join(tmpdir(), 'cli-init-'))
    const r = await runCli(['init'], { cwd: here })
    expect(r.code, r.stderr).toBe(0)
    const text = readFileSync(path.join(here, 'etl.config.yaml'), 'utf8')
    expect(text).toMatch(/^# course-etl configuration/)
    const again = await runCli(['init'], { cwd: here })
    expect(again.lastLine).toBe(`course-etl: USAGE: ${path.join(here, 'etl.config.yaml')} already exists; use --force to overwrite it`)
    const unset = await runCli(['status'], { cwd: here })
    expect(unset.lastLine).toBe(
      'course-etl: CONFIG_INVALID: Config refers to unset environment variable(s): GETCOURSE_ACME_KEY (getcourse[0].key), KWIGA_TOKEN (kwiga[0].token), KWIGA_CABINET_HASH (kwiga[0].cabinetHash)',
    )
    const set = await runCli(['status', '--json'], {
      cwd: here,
      env: { GETCOURSE_ACME_KEY: 'key-12345678', KWIGA_TOKEN: 'token-12345678', KWIGA_CABINET_HASH: 'hash-1234' },
    })
    expect(set.code, set.stderr).toBe(0)
    expect(JSON.parse(set.stdout).streams).toHaveLength(15)
  })

  it('simulate starts the simulators on their own with a config a sync can use, and stops on Ctrl-C', async (ctx) => {
    if (!wh.url) return ctx.skip()
    const here = mkdtempSync(path.join(tmpdir(), 'cli-simulate-'))
    let child: ChildProcess | undefined
    const ready = new Promise<void>((resolve) => {
      const watch = setInterval(() => {
        try {
          if (readFileSync(path.join(here, 'simulate.config.yaml'), 'utf8').includes('kwiga:')) {
            clearInterval(watch)
            resolve()
          }
        } catch {
          // not written yet
        }
      }, 200)
    })
    const sim = runCli(['simulate'], { cwd: here, env: { DATABASE_URL: wh.url }, started: (c) => (child = c), timeoutMs: 240_000 })
    await ready
    const sync = await runCli(['--config', 'simulate.config.yaml', 'sync', '--source', 'getcourse', '--streams', 'fields,groups'], {
      cwd: here,
      env: { DATABASE_URL: wh.url },
    })
    expect(sync.code, sync.stderr).toBe(0)
    expect(sync.stdout).toMatch(/succeeded getcourse\/demo-school\/groups: 6 read/)
    child!.kill('SIGINT')
    const done = await sim
    expect(done.code, done.stderr).toBe(0)
    expect(done.stdout).toContain('Ctrl-C stops the simulators.')
    expect(done.stdout).toContain('npx course-etl -c simulate.config.yaml sync')
  })
})
