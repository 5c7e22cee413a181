/**
 * Issue 7.5 — secrets. Every command runs as a child process with recognizable fake credentials
 * (GetCourse key, KWIGA token and cabinet hash, plus wrong ones for the 901 / 401 paths), at debug
 * log level. None of them may appear in any output line, table cell, dump or archived export.
 */
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  SECRETS,
  configEnv,
  createTestDb,
  prepareCli,
  runCli,
  serverAvailable,
  startSims,
  tempDir,
  unexpectedStderr,
  writeConfig,
  type CliResult,
  type Sims,
  type TestDb,
} from './harness.js'

const server = await serverAvailable()
const ALL = Object.values(SECRETS)

function filesUnder(dir: string): string[] {
  let out: string[] = []
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name)
    out = statSync(p).isDirectory() ? [...out, ...filesUnder(p)] : [...out, p]
  }
  return out
}

const leaks = (text: string, where: string) => ALL.filter((s) => text.includes(s)).map((s) => `${where} contains ${s}`)

describe.skipIf(!server)('secrets never leave the config', () => {
  let cli: Awaited<ReturnType<typeof prepareCli>>
  let sims: Sims
  let tdb: TestDb
  const dir = tempDir('secrets')
  const dataDir = path.join(dir, 'data')
  const jobsDir = path.join(dir, 'jobs')
  const outputs: { args: string[]; result: CliResult }[] = []
  let config: string
  let wrongConfig: string

  const run = async (file: string, args: string[], env = configEnv()) => {
    const result = await runCli(cli, ['--config', file, '--log-level', 'debug', ...args], { env, timeoutMs: 120_000 })
    outputs.push({ args, result })
    return result
  }

  beforeAll(async () => {
    cli = await prepareCli()
    sims = await startSims({ gcBudget: { requests: 20, windowSeconds: 2 }, kw: { contacts: 40 }, readyAfterMs: () => 20 })
    tdb = await createTestDb()
    mkdirSync(jobsDir, { recursive: true })
    writeFileSync(path.join(jobsDir, 'lists.yaml'), 'name: lists\ncron: "0 3 * * *"\nstreams: [groups, fields, timezones, contact_lists]\nmode: full\n')
    config = writeConfig(path.join(dir, 'etl.yaml'), { database: tdb.url, dataDir, sims, budget: { requests: 20, windowSeconds: 2, reserve: 2 }, jobsDir })
    wrongConfig = writeConfig(path.join(dir, 'wrong.yaml'), {
      database: tdb.url,
      dataDir,
      sims,
      budget: { requests: 20, windowSeconds: 2, reserve: 2 },
      jobsDir,
    })
  })
  afterAll(async () => {
    await tdb?.close()
    await sims?.close()
    cli?.dispose()
    rmSync(dir, { recursive: true, force: true })
  })

  it('sync, status, dump --all, load-file, schedule --run and the 901/401 error paths leak no key, token or hash', { timeout: 240_000 }, async () => {
    expect((await run(config, ['migrate'])).code).toBe(0)
    const synced = await run(config, ['sync'])
    expect(synced.code, synced.stderr.slice(-2000)).toBe(0)
    expect((await run(config, ['status'])).code).toBe(0)
    expect((await run(config, ['status', '--json'])).code).toBe(0)
    const ran = await run(config, ['schedule', '--run', 'lists'])
    expect(ran.code, ran.stderr.slice(-2000)).toBe(0)

    // A replay of an archived export through load-file.
    const archived = filesUnder(path.join(dataDir, 'exports')).filter((f) => f.endsWith('.json.gz'))
    expect(archived.length).toBeGreaterThan(0)
    const usersExport = archived.find((f) => f.includes(`${path.sep}users${path.sep}`))!
    const loaded = await run(config, ['load-file', '--account', 'school', '--stream', 'users', '--file', usersExport])
    expect(loaded.code, loaded.stderr.slice(-2000)).toBe(0)

    // The error paths: GetCourse refuses the key (901), KWIGA the token (401).
    const refused = await run(wrongConfig, ['sync'], configEnv({ gcKey: SECRETS.gcWrongKey, kwToken: SECRETS.kwWrongToken }))
    expect(refused.code).toBe(1)
    expect(refused.stdout).toMatch(/failed\s+getcourse\/school\/fields: .*refused the request/)
    expect(refused.stdout).toMatch(/failed\s+kwiga\/main\/timezones: .*token was rejected/)
    expect(sims.gc.requests.some((r) => r.errorCode === 901)).toBe(true)
    expect(sims.kw.requests.some((r) => r.status === 401)).toBe(true)
    const refusedAgain = await run(wrongConfig, ['schedule', '--run', 'lists'], configEnv({ gcKey: SECRETS.gcWrongKey, kwToken: SECRETS.kwWrongToken }))
    expect(refusedAgain.code).toBe(1)
    expect((await run(config, ['status'])).stdout).toMatch(/AUTH_FAILED|refused|rejected/)

    const dumps = path.join(dir, 'dumps')
    expect((await run(config, ['dump', '--all', '--out-dir', path.join(dumps, 'plain')])).code).toBe(0)
    expect((await run(config, ['dump', '--all', '--out-dir', path.join(dumps, 'excel'), '--excel', '--gzip'])).code).toBe(0)

    const problems: string[] = []
    // 1. Every line any child wrote.
    for (const { args, result } of outputs) {
      problems.push(...leaks(result.stdout, `stdout of ${args.join(' ')}`), ...leaks(result.stderr, `stderr of ${args.join(' ')}`))
      expect(unexpectedStderr(result.stderr), args.join(' ')).toEqual([])
    }
    // 2. Every cell of every table of the three schemas (the row as text covers text, jsonb, arrays).
    const { rows: tables } = await sql<{ name: string }>`
      select table_schema || '.' || table_name as name from information_schema.tables
      where table_schema in ('etl', 'getcourse', 'kwiga') and table_type = 'BASE TABLE' order by 1`.execute(tdb.db.db)
    expect(tables.length).toBeGreaterThan(30)
    let rowsScanned = 0
    for (const { name } of tables) {
      const { rows } = await sql<{ n: number; hits: number }>`
        select count(*)::int as n, count(*) filter (where ${sql.join(
          ALL.map((s) => sql`strpos(t::text, ${s}) > 0`),
          sql` or `,
        )})::int as hits
        from ${sql.table(name)} t`.execute(tdb.db.db)
      rowsScanned += rows[0]!.n
      if (rows[0]!.hits) problems.push(`${name}: ${rows[0]!.hits} row(s)`)
    }
    expect(rowsScanned).toBeGreaterThan(500)
    // 3. Dumps and the export archive (gunzipped), and anything else under dataDir.
    const files = [...filesUnder(dumps), ...filesUnder(dataDir)]
    expect(files.filter((f) => f.endsWith('.gz')).length).toBeGreaterThan(archived.length)
    for (const f of files) {
      const raw = readFileSync(f)
      const text = (f.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8')
      problems.push(...leaks(text, f))
    }
    expect(problems).toEqual([])
    // Not vacuous: the right key and token did reach the simulators.
    expect(sims.gc.requests.some((r) => r.errorCode === undefined && r.status === 200)).toBe(true)
  })
})
