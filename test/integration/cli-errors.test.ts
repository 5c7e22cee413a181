import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runCli } from '../support/cli.js'
import { createTestWarehouse, type TestWarehouse } from '../support/database.js'

// Issue 16 items 2 and 3: every failure ends with one line `course-etl: CODE: reason` naming the real
// code, and what a user can get wrong is refused before anything is written.

/** A loopback port with nothing listening on it: connecting is refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

let wh: TestWarehouse
let dir: string
let cfg: string
let env: NodeJS.ProcessEnv
let deadUrl: string

beforeAll(async () => {
  wh = await createTestWarehouse()
  dir = mkdtempSync(path.join(tmpdir(), 'cli-errors-'))
  const port = await closedPort()
  deadUrl = `http://127.0.0.1:${port}`
  cfg = path.join(dir, 'etl.yaml')
  writeFileSync(
    cfg,
    [
      'database: ${WAREHOUSE_URL}',
      'dataDir: ./data',
      'getcourse:',
      '  - name: acme',
      '    account: acme',
      `    baseUrl: ${deadUrl}`,
      '    key: ${GC_KEY}',
      '    timezone: Asia/Yekaterinburg',
      '',
    ].join('\n'),
  )
  env = { WAREHOUSE_URL: wh.url ?? '', GC_KEY: 'cli-errors-key-0001' }
})
afterAll(async () => wh?.dispose())

const runs = async () => (await sql<{ n: number }>`select count(*)::int as n from etl.runs`.execute(wh.db)).rows[0]!.n
const users = async () => (await sql<{ n: number }>`select count(*)::int as n from getcourse.users`.execute(wh.db)).rows[0]!.n

describe('honest error codes (server)', { timeout: 180_000 }, () => {
  it('a network failure ends HTTP_NETWORK with the stream and the socket error, one log line per retry, no stack', async (ctx) => {
    if (!wh.url) return ctx.skip()
    const r = await runCli(['--config', cfg, 'sync', '--source', 'getcourse', '--streams', 'fields'], { cwd: dir, env })
    expect(r.code).toBe(1)
    expect(r.lastLine).toBe(`course-etl: HTTP_NETWORK: getcourse/acme/fields: POST ${deadUrl}/pl/api/account/fields failed: fetch failed (ECONNREFUSED)`)
    const retries = r.stderr.split('\n').filter((l) => l.includes('request failed ('))
    expect(retries).toHaveLength(3) // 4 attempts: one line for each of the 3 retries
    expect(retries.every((l) => JSON.parse(l).msg.includes('ECONNREFUSED'))).toBe(true)
    expect(r.stderr).not.toMatch(/\n\s+at /)
    expect(r.stderr).not.toContain('"stack"')
    expect(r.stdout).toContain('failed    getcourse/acme/fields')
  })

  it('--debug adds the stack trace above the same last line', async (ctx) => {
    if (!wh.url) return ctx.skip()
    const r = await runCli(['--config', cfg, '--debug', 'sync', '--source', 'getcourse', '--streams', 'fields'], { cwd: dir, env })
    expect(r.code).toBe(1)
    expect(r.lastLine).toMatch(/^course-etl: HTTP_NETWORK: getcourse\/acme\/fields: /)
    expect(r.stderr).toMatch(/"stack":"HttpError: /)
    const lines = r.stderr.trim().split('\n')
    expect(JSON.parse(lines.at(-2)!)).toMatchObject({
      level: 20,
      msg: 'the failure in detail',
      err: { code: 'HTTP_NETWORK', stack: expect.stringMatching(/^EtlError: /) },
    })
  })

  it('a database that is down is DB_UNAVAILABLE, not MIGRATION_FAILED', async () => {
    const port = await closedPort()
    const down = path.join(dir, 'down.yaml')
    writeFileSync(down, `database: postgres://postgres@127.0.0.1:${port}/warehouse\n`)
    const r = await runCli(['--config', down, 'status'], { cwd: dir })
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.lastLine).toBe(
      `course-etl: DB_UNAVAILABLE: Cannot reach the warehouse postgres://127.0.0.1:${port}/warehouse: connect ECONNREFUSED 127.0.0.1:${port}`,
    )
  })

  it("commander's own errors use the same one-line format, without the help text", async () => {
    const cases: [string[], string][] = [
      [
        ['sync', '--from', 'yesterday'],
        `course-etl: USAGE: option '--from <date>' argument 'yesterday' is invalid. expected a date YYYY-MM-DD that exists, got "yesterday"`,
      ],
      [['sync', '--concurrency', '0'], `course-etl: USAGE: option '--concurrency <n>' argument '0' is invalid. expected a whole number ≥ 1, got "0"`],
      [
        ['sync', '--from', '2025-02-30'],
        `course-etl: USAGE: option '--from <date>' argument '2025-02-30' is invalid. expected a date YYYY-MM-DD that exists, got "2025-02-30"`,
      ],
      [
        ['dump', '--since', '2024-13-01'],
        `course-etl: USAGE: option '--since <date>' argument '2024-13-01' is invalid. expected a date YYYY-MM-DD that exists, got "2024-13-01"`,
      ],
      [['frobnicate'], `course-etl: USAGE: unknown command 'frobnicate'`],
      [['sync', '--no-such-flag'], `course-etl: USAGE: unknown option '--no-such-flag'`],
    ]
    for (const [args, line] of cases) {
      const r = await runCli(args, { cwd: dir })
      expect(r.code, args.join(' ')).toBe(1)
      expect(r.stderr.trim().split('\n'), args.join(' ')).toEqual([line])
    }
    const leap = await runCli(['plan', '--from', '2024-02-29', '--to', '2024-02-28'], { cwd: dir, env: { ETL_CONFIG: cfg, ...env } })
    expect(leap.lastLine).toBe('course-etl: USAGE: --from 2024-02-29 is after --to 2024-02-28')
  })

  it('--version prints the package version; --help exits 0', async () => {
    const v = await runCli(['--version'], { cwd: dir })
    expect(v.code).toBe(0)
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/)
    const h = await runCli(['status', '--help'], { cwd: dir })
    expect(h.code).toBe(0)
    expect(h.stdout).toContain('--check')
  })
})

describe('guardrails: refused with one line, nothing left behind (server)', { timeout: 180_000 }, () => {
  it('an unknown --streams name is refused before any run is recorded', async (ctx) => {
    if (!wh.url) return ctx.skip()
    const before = await runs()
    const r = await runCli(['--config', cfg, 'sync', '--streams', 'users,dealz'], { cwd: dir, env })
    expect(r.code).toBe(1)
    expect(r.lastLine).toBe(
      'course-etl: USAGE: Unknown stream(s) dealz; getcourse: fields, groups, users, group_members, deals, payments; kwiga: timezones, products, offers, courses, coupons, contact_lists, contacts, contact_products, course_users',
    )
    expect(await runs()).toBe(before)
  })

  it('load-file refuses an account the config does not have, and loads nothing under it', async (ctx) => {
    if (!wh.url) return ctx.skip()
    const before = await runs()
    const r = await runCli(
      ['--config', cfg, 'load-file', '--account', 'acme2', '--stream', 'users', '--file', path.resolve('test/fixtures/getcourse/users-export.json')],
      {
        cwd: dir,
        env,
      },
    )
    expect(r.code).toBe(1)
    expect(r.lastLine).toBe('course-etl: USAGE: No configured GetCourse account named "acme2"; configured: acme')
    expect(await runs()).toBe(before)
    expect(await users()).toBe(0)
  })

  it('load-file of an HTML page, an empty file, a truncated file or a saved error answer ends RESPONSE_INVALID; the sync stream stays as it was', async (ctx) => {
    if (!wh.url) return ctx.skip()
    const files: [string, string, RegExp][] = [
      [
        'page.html',
        '<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1> «Шлюз»</body></html>',
        /file page\.html: the body was cut off or is not JSON after 0 rows \(the body is not a JSON object \(it starts with "<"\) at byte 0\)/,
      ],
      ['empty.json', '', /file empty\.json: the body was cut off or is not JSON after 0 rows \(the body is empty at byte 0\)/],
      [
        'cut.json',
        '{"success":true,"info":{"fields":["id","Email","Имя, «ник»"],"items":[["1","a@b.c","Иван, \\"Ваня\\""],["2","d@e',
        /file cut\.json: the body was cut off or is not JSON after 1 rows/,
      ],
      [
        'error.json',
        '{"success":false,"error_message":"Ошибка: неверный ключ","error_code":901,"error":true}',
        /^course-etl: RESPONSE_INVALID: getcourse-file\/acme\/users: file error\.json is not a ready export: 901 Ошибка: неверный ключ$/,
      ],
    ]
    for (const [name, body, pattern] of files) {
      writeFileSync(path.join(dir, name), body)
      const r = await runCli(['--config', cfg, 'load-file', '--account', 'acme', '--stream', 'users', '--file', name], { cwd: dir, env })
      expect(r.code, name).toBe(1)
      expect(r.lastLine, name).toMatch(/^course-etl: RESPONSE_INVALID: getcourse-file\/acme\/users: /)
      expect(r.lastLine, name).toMatch(pattern)
      expect(r.lastLine, name).not.toContain('fetched again next run')
    }
    expect(await users()).toBe(0)
    const s = await runCli(['--config', cfg, 'status', '--json'], { cwd: dir, env })
    expect(s.code, s.stderr).toBe(0)
    const report = JSON.parse(s.stdout) as { streams: { source: string; account: string; stream: string; lastStatus: string | null }[] }
    expect(report.streams.filter((x) => x.source !== 'getcourse')).toEqual([])
    expect(report.streams.find((x) => x.stream === 'users')).toMatchObject({ source: 'getcourse', account: 'acme', lastStatus: null })
  })

  it('a command that needs a config file refuses to run without one', async () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'cli-noconfig-'))
    for (const args of [['sync'], ['plan'], ['check'], ['load-file', '--account', 'a', '--stream', 'users', '--file', 'x.json']]) {
      const r = await runCli(args, { cwd: empty })
      expect(r.code, args[0]).toBe(1)
      expect(r.stderr.trim().split('\n'), args[0]).toEqual([
        `course-etl: CONFIG_INVALID: No config file: ${path.join(empty, 'etl.config.yaml')} does not exist (write one with \`course-etl init\`, or pass --config PATH / set ETL_CONFIG)`,
      ])
    }
    expect(readdirSync(empty)).toEqual([])
  })

  it('dump --out pointing at a directory, or --account of no configured account, is refused and leaves no file', async (ctx) => {
    if (!wh.url) return ctx.skip()
    const out = path.join(dir, 'out')
    mkdirSync(out)
    const r = await runCli(['--config', cfg, 'dump', '--table', 'getcourse.users', '--out', out], { cwd: dir, env })
    expect(r.code).toBe(1)
    expect(r.lastLine).toBe(`course-etl: USAGE: --out ${out} is a directory; give a file name (or use --all --out-dir DIR)`)
    const a = await runCli(['--config', cfg, 'dump', '--table', 'getcourse.users', '--out', path.join(out, 'u.csv'), '--account', 'Школа'], { cwd: dir, env })
    expect(a.lastLine).toBe('course-etl: USAGE: No configured account named "Школа"; configured: acme')
    expect(readdirSync(out)).toEqual([])
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([])
  })
})

describe('a relative dataDir is read from the config file folder', { timeout: 180_000 }, () => {
  it('the embedded warehouse lands next to the config, whatever the working directory', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'cli-datadir-'))
    mkdirSync(path.join(root, 'conf'))
    mkdirSync(path.join(root, 'elsewhere'))
    writeFileSync(path.join(root, 'conf', 'etl.yaml'), 'dataDir: ./data\n')
    const r = await runCli(['--config', '../conf/etl.yaml', 'migrate'], { cwd: path.join(root, 'elsewhere') })
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout).toMatch(/^applied 0001_etl.* on embedded:\.\.\/conf\/data\/warehouse\n$/)
    expect(existsSync(path.join(root, 'conf', 'data', 'warehouse'))).toBe(true)
    expect(readdirSync(path.join(root, 'elsewhere'))).toEqual([])
  })
})
