/**
 * Issue 7.4 — hostile input. A corpus of malformed GetCourse exports (loaded with `load-file`) and
 * KWIGA pages (served by a tiny loopback server, synced with `sync --source kwiga`): wrong column
 * counts, ids that are not numbers, zero dates, a 10 MB cell, NUL bytes, invalid UTF-8, deeply
 * nested JSON, SQL- and formula-looking strings. Every record lands or is quarantined in
 * etl.rejects with a reason; no process crashes; `dump --all` stays formula-safe.
 */
import { readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { gzipSync } from 'node:zlib'
import { parse as parseCsv } from 'csv-parse/sync'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { USER_FIELDS, PAYMENT_FIELDS } from '../../src/simulators/getcourse/columns.js'
import {
  configEnv,
  createTestDb,
  prepareCli,
  runCli,
  serverAvailable,
  startSims,
  tempDir,
  failureLine,
  unexpectedStderr,
  writeConfig,
  type Sims,
  type TestDb,
} from './harness.js'

const server = await serverAvailable()

const BIG = 'x'.repeat(10 * 1024 * 1024)
const nested = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`
const HOSTILE_TEXT = [
  "Robert'); DROP TABLE getcourse.users; --",
  "1; delete from etl.runs where ''=''",
  '=HYPERLINK("http://evil.example","click")',
  '+7 (999) 123-45-67',
  '-2+3',
  '@SUM(A1:A2)',
  '\tTabbed',
  '\rCarriage',
  '=1+1',
  'nul\u0000inside',
  'lone \ud800 surrogate',
]

/** The `info` of a users export: one good row, then rows built to break things. */
function usersExport(): { json: Buffer; items: number } {
  const width = USER_FIELDS.length
  const row = (id: string, extra: Record<number, unknown> = {}) =>
    Array.from({ length: width }, (_, i) => (i === 0 ? id : i in extra ? extra[i] : i === 3 ? '2025-03-01 10:00:00' : ''))
  const items: unknown[] = [
    row('1001', { 1: 'good@example.com', 5: 'Good' }),
    row('1002').slice(0, 5), // too few columns
    [...row('1003'), 'surplus', 'cells'], // too many columns
    row('abc'), // id not a number
    row(''), // no id
    row('-5'),
    row('1e3'),
    row('99999999999999999999999'), // beyond bigint
    row('1004', { 3: '0000-00-00 00:00:00', 4: '0000-00-00 00:00:00', 8: '0000-00-00' }),
    row('1005', { 5: BIG }), // a 10 MB first name
    row('1006', { 5: 'nul\u0000name', 6: 'end\u0000' }),
    row('1007', { 5: JSON.parse(nested(40)) }), // a cell of nested JSON
    row('1008', { 9: 'not an age', 3: 'yesterday' }),
    ...HOSTILE_TEXT.map((t, i) => row(String(2000 + i), { 1: `${i}@example.com`, 5: t, 6: t, 11: t })),
    null,
    'a row that is a string',
    {},
    row('3001', { 5: 'BAD-UTF8' }), // becomes invalid UTF-8 below
  ]
  const [head, tail] = JSON.stringify({ success: true, info: { fields: USER_FIELDS, items } }).split('BAD-UTF8') as [string, string]
  const json = Buffer.concat([Buffer.from(head), Buffer.from([0x62, 0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from(tail)])
  return { json, items: items.length }
}

function paymentsExport(): { json: Buffer; items: number } {
  const w = PAYMENT_FIELDS.length
  const row = (id: string, amount: string, title = 'Оплата') =>
    [id, 'Иван', 'i@example.com', '77', '2025-03-01 10:00:00', 'card', 'Получен', amount, '0', amount, 'c1', title].slice(0, w)
  const items = [
    row('501', '12 000,00'),
    row('502', 'много денег'),
    row('503', '1e309'),
    row('504', '-15.50', '=cmd|"/c calc"!A1'),
    row('x505', '10'),
    row('506', '5 000 руб.', '@evil'),
  ]
  return { json: Buffer.from(JSON.stringify({ info: { fields: PAYMENT_FIELDS, items } })), items: items.length }
}

/** KWIGA pages with hostile records; everything else is an empty list. */
function kwigaServer(): Promise<{ url: string; contacts: number; close(): Promise<void> }> {
  const contacts: unknown[] = [
    { id: 9001, email: 'ok@example.com', first_name: 'Ok', created_at: '2025-01-01 10:00:00', tags: [], offers: [], orders: [] },
    { id: 'nine-thousand', email: 'id@example.com', created_at: '2025-01-01 10:00:00' },
    { id: null, email: 'null@example.com', created_at: '2025-01-01 10:00:00' },
    { id: 9003, email: 'zero@example.com', created_at: '0000-00-00 00:00:00' },
    { id: 9004, email: 'big@example.com', first_name: BIG, created_at: '2025-01-01 10:00:00' },
    { id: 9005, email: 'nul@example.com', first_name: 'a\u0000b', last_name: 'lone \ud800', created_at: '2025-01-01 10:00:00' },
    { id: 9006, email: 'deep@example.com', created_at: '2025-01-01 10:00:00', additional_fields: 'DEEP-JSON' },
    ...HOSTILE_TEXT.map((t, i) => ({
      id: 9100 + i,
      email: `h${i}@example.com`,
      first_name: t,
      last_name: t,
      name: t,
      created_at: '2025-01-02 10:00:00',
      tags: [{ id: 1, name: t }],
    })),
    'not an object',
    [1, 2, 3],
  ]
  const timezones = [
    { id: 'zone', name: 'Europe/Kyiv' },
    { id: 2, name: '=EVIL()', name_full: '+1', value: '-1' },
    { id: 3, name: BIG.slice(0, 1000) },
  ]
  const list = (data: unknown[]) => ({ data, meta: { current_page: 1, last_page: 1, per_page: 100, total: data.length } })
  // JSON.stringify itself recurses: the deep value is spliced into the text.
  const contactsPage = JSON.stringify(list(contacts)).replace('"DEEP-JSON"', nested(5000))
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    let body: string | Buffer
    if (url.pathname === '/contacts') body = contactsPage
    else if (url.pathname === '/timezones') body = JSON.stringify({ data: timezones })
    else if (url.pathname === '/products') {
      // Invalid UTF-8 inside a product title.
      const text = JSON.stringify(list([{ id: 77, title: 'bad-utf8-here', productable_type: 'course', productable_id: 'NaN' }]))
      const [a, b] = text.split('bad-utf8-here') as [string, string]
      body = Buffer.concat([Buffer.from(a), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(b)])
    } else if (url.pathname === '/coupons') body = JSON.stringify({ data: [{ id: 'c', code: '=2+2', reward: 'lots', created_at: '0000-00-00 00:00:00' }] })
    else if (/^\/contacts\/\d+\/products$/.test(url.pathname)) body = JSON.stringify({ data: [{ id: 'p', title: '@x' }] })
    else body = JSON.stringify(list([]))
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        contacts: contacts.length,
        close: () => new Promise<void>((r) => server.close(() => r())),
      })
    })
  })
}

const NUMBER = /^-?\d+(?:[.,]\d+)?(?:e[-+]?\d+)?$/i
const FORMULA = /^[=+\-@\t\r]/

describe.skipIf(!server)('hostile input', () => {
  let cli: Awaited<ReturnType<typeof prepareCli>>
  let sims: Sims
  let tdb: TestDb
  let kw: Awaited<ReturnType<typeof kwigaServer>>
  let config: string
  const dir = tempDir('hostile')

  beforeAll(async () => {
    cli = await prepareCli()
    sims = await startSims({ readyAfterMs: () => 10 })
    kw = await kwigaServer()
    tdb = await createTestDb()
    config = writeConfig(path.join(dir, 'etl.yaml'), { database: tdb.url, dataDir: path.join(dir, 'data'), sims, kwigaBaseUrl: kw.url })
  })
  afterAll(async () => {
    await tdb?.close()
    await kw?.close()
    await sims?.close()
    cli?.dispose()
    rmSync(dir, { recursive: true, force: true })
  })

  const run = (args: string[]) => runCli(cli, ['--config', config, ...args], { env: configEnv(), timeoutMs: 120_000 })

  /** The load-file run of `file`: read = landed + rejected, every reject with a reason. */
  async function loadFile(stream: string, file: string, items: number, table: string) {
    const before = await sql<{ n: number }>`select coalesce(max(id), 0)::int as n from etl.runs`.execute(tdb.db.db)
    const r = await run(['load-file', '--account', 'school', '--stream', stream, '--file', file])
    expect(unexpectedStderr(r.stderr), r.stderr.slice(-2000)).toEqual([])
    expect(r.code, `${r.stdout}\n${r.stderr.slice(-2000)}`).toBe(0)
    const {
      rows: [run1],
    } = await sql<{ status: string; rows_read: number; rows_rejected: number; id: string }>`
      select status, rows_read::int, rows_rejected::int, id::text from etl.runs where id > ${before.rows[0]!.n} and stream = ${stream}`.execute(tdb.db.db)
    expect(run1).toMatchObject({ status: 'succeeded', rows_read: items })
    const landed = (await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)} where account = 'school'`.execute(tdb.db.db)).rows[0]!.n
    const { rows: rejects } = await sql<{ reason: string; raw: unknown }>`select reason, raw from etl.rejects where run_id = ${run1!.id}::bigint`.execute(
      tdb.db.db,
    )
    expect(landed + rejects.length).toBe(items)
    for (const rj of rejects) expect(rj.reason.length).toBeGreaterThan(5)
    return { landed, rejects }
  }

  it('GetCourse exports: every row lands or is quarantined with a reason; truncated or non-JSON files fail cleanly', { timeout: 180_000 }, async () => {
    const users = usersExport()
    const usersFile = path.join(dir, 'users.json.gz')
    writeFileSync(usersFile, gzipSync(users.json))
    const u = await loadFile('users', usersFile, users.items, 'getcourse.users')
    expect(u.landed).toBeGreaterThanOrEqual(HOSTILE_TEXT.length)
    // SQL-looking text is data, nothing more; the 10 MB name was stored or rejected, not truncated silently.
    const { rows: sqlish } = await sql<{
      first_name: string
    }>`select first_name from getcourse.users where account = 'school' and first_name like '%DROP TABLE%'`.execute(tdb.db.db)
    expect(sqlish).toHaveLength(1)
    const { rows: big } = await sql<{ n: number | null }>`select length(first_name) as n from getcourse.users where account = 'school' and id = 1005`.execute(
      tdb.db.db,
    )
    if (big.length) expect(big[0]!.n).toBe(BIG.length)
    else expect(u.rejects.some((r) => /1005/.test(JSON.stringify(r.raw).slice(0, 50)) || /1005/.test(r.reason))).toBe(true)

    const payments = paymentsExport()
    const paymentsFile = path.join(dir, 'payments.json')
    writeFileSync(paymentsFile, payments.json)
    await loadFile('payments', paymentsFile, payments.items, 'getcourse.payments')

    // Whole files that are not an export: a clean one-line failure, nothing recorded as success.
    const broken = [
      ['truncated.json', users.json.subarray(0, Math.floor(users.json.length / 2))],
      ['html.json', Buffer.from('<html><body>502 Bad Gateway</body></html>')],
      ['deep.json', Buffer.from(`{"info":{"fields":["id"],"items":${nested(100_000)}}}`)],
      ['error.json', Buffer.from('{"success":false,"error_code":909,"error_message":"Файл еще не создан"}')],
    ] as const
    for (const [name, bytes] of broken) {
      const file = path.join(dir, name)
      writeFileSync(file, bytes)
      const r = await run(['load-file', '--account', 'school', '--stream', 'users', '--file', file])
      expect(unexpectedStderr(r.stderr), `${name}: ${r.stderr.slice(-2000)}`).toEqual([])
      if (r.code !== 0) expect(failureLine(r.stderr), name).toMatch(/^course-etl: [A-Z_]+: /)
      else expect(r.stdout, name).toMatch(/^succeeded/m)
    }
    const { rows: bad } = await sql<{
      n: number
    }>`select count(*)::int as n from etl.runs where source = 'getcourse-file' and status = 'succeeded' and rows_read > 0 and rows_read < rows_rejected`.execute(
      tdb.db.db,
    )
    expect(bad[0]!.n).toBe(0)
  })

  it('GetCourse: a cell of deeply nested JSON is quarantined and the rows after it still load', { timeout: 120_000 }, async () => {
    const width = USER_FIELDS.length
    const row = (id: string, name: string) =>
      JSON.stringify(Array.from({ length: width }, (_, i) => (i === 0 ? id : i === 5 ? name : i === 3 ? '2025-03-01 10:00:00' : '')))
    const rows = [row('7001', 'before'), row('7002', 'DEEP'), row('7003', 'after'), row('7004', 'after too')].join(',').replace('"DEEP"', nested(5000))
    const file = path.join(dir, 'deep-cell.json')
    writeFileSync(file, `{"success":true,"info":{"fields":${JSON.stringify(USER_FIELDS)},"items":[${rows}]}}`)
    const r = await run(['load-file', '--account', 'school', '--stream', 'users', '--file', file])
    expect(unexpectedStderr(r.stderr), r.stderr.slice(-2000)).toEqual([])
    expect(r.code, `${r.stdout}\n${r.stderr.slice(-1500)}`).toBe(0)
    const { rows: landed } = await sql<{
      id: string
    }>`select id::text from getcourse.users where account = 'school' and id between 7001 and 7004 order by id`.execute(tdb.db.db)
    expect(landed.map((x) => x.id)).toEqual(['7001', '7003', '7004'])
    const { rows: rejects } = await sql<{ reason: string }>`select reason from etl.rejects where record_key = '7002'`.execute(tdb.db.db)
    expect(rejects).toHaveLength(1)
  })

  it('KWIGA pages: every contact lands or is quarantined with a reason; the run does not crash', { timeout: 180_000 }, async () => {
    const r = await run(['sync', '--source', 'kwiga'])
    expect(unexpectedStderr(r.stderr), r.stderr.slice(-3000)).toEqual([])
    expect(r.stdout, r.stderr.slice(-3000)).toMatch(/kwiga\/main\/contacts/)
    const { rows: runs } = await sql<{
      stream: string
      status: string
      error_code: string | null
      message: string | null
      rows_read: number
      rows_rejected: number
      id: string
    }>`
      select stream, status, error_code, message, rows_read::int, rows_rejected::int, id::text from etl.runs where source = 'kwiga' order by id`.execute(
      tdb.db.db,
    )
    for (const run1 of runs) if (run1.status !== 'succeeded') expect(run1.error_code && run1.message, JSON.stringify(run1)).toBeTruthy()
    const contactsRun = runs.find((x) => x.stream === 'contacts')!
    expect(contactsRun, JSON.stringify(runs)).toMatchObject({ status: 'succeeded' })
    const landed = (await sql<{ n: number }>`select count(*)::int as n from kwiga.contacts`.execute(tdb.db.db)).rows[0]!.n
    const { rows: rejects } = await sql<{
      reason: string
    }>`select reason from etl.rejects where run_id = ${contactsRun.id}::bigint and stream = 'contacts'`.execute(tdb.db.db)
    const rejectedContacts = new Set(rejects.map((x) => x.reason))
    expect(landed + rejects.length, JSON.stringify(rejects.map((x) => x.reason.slice(0, 100)))).toBeGreaterThanOrEqual(kw.contacts)
    expect(rejectedContacts.size).toBeGreaterThan(0)
    for (const rj of rejects) expect(rj.reason.length).toBeGreaterThan(5)
    expect(landed).toBeGreaterThanOrEqual(1 + HOSTILE_TEXT.length)
  })

  it('dump --all of the results is formula-safe: no cell starts with = + - @ tab or CR unless it is a number', { timeout: 180_000 }, async () => {
    const out = path.join(dir, 'dump')
    for (const args of [
      ['--out-dir', out],
      ['--out-dir', `${out}-excel`, '--excel'],
    ]) {
      const r = await run(['dump', '--all', ...args])
      expect(r.code, r.stderr.slice(-2000)).toBe(0)
      expect(unexpectedStderr(r.stderr)).toEqual([])
    }
    let cells = 0
    const unsafe: string[] = []
    for (const [folder, delimiter] of [
      [out, ','],
      [`${out}-excel`, ';'],
    ] as const) {
      for (const name of readdirSync(folder)) {
        const text = readFileSync(path.join(folder, name), 'utf8').replace(/^\ufeff/, '')
        const records = parseCsv(text, { delimiter, relax_column_count: true }) as string[][]
        for (const record of records.slice(1)) {
          for (const cell of record) {
            cells++
            if (FORMULA.test(cell) && !NUMBER.test(cell)) unsafe.push(`${name}: ${JSON.stringify(cell.slice(0, 60))}`)
          }
        }
      }
    }
    expect(cells).toBeGreaterThan(100)
    expect(unsafe).toEqual([])
  })
})
