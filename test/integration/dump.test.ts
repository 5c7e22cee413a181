import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { parse } from 'csv-parse/sync'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.js'
import { dumpAll, dumpTable, neutralizeCell } from '../../src/dump.js'
import pg from 'pg'
import { openWarehouse } from '../../src/db/index.js'
import { createTestWarehouse, quietLog, type TestWarehouse } from '../support/database.js'

let wh: TestWarehouse
let dir: string
const config = parseConfig({
  timezone: 'UTC',
  getcourse: [{ name: 'msk', account: 'msk', key: 'k'.repeat(16), timezone: 'Europe/Moscow' }],
})

const tricky = [
  { id: 1, title: 'Курс «Английский», уровень 1', note: 'обычный', amount: '990.00', created_at: '2026-03-01T10:00:00Z', tags: ['vip', 'Москва'] },
  { id: 2, title: 'He said "hi"; then left', note: 'line one\nline two', amount: '-15.50', created_at: '2026-03-02T21:30:00Z', tags: [] },
  { id: 3, title: '=HYPERLINK("http://evil","x")', note: '+79990001122', amount: null, created_at: '2026-03-03T00:00:00Z', tags: null },
  { id: 4, title: '', note: null, amount: '0', created_at: null, tags: ['a;b'] },
  { id: 5, title: '@SUM(A1:A2)', note: '-5', amount: '12000.00', created_at: '2025-12-31T23:59:59Z', tags: [] },
]

beforeAll(async () => {
  wh = await createTestWarehouse()
  await sql`create table getcourse.dump_sample (account text not null, id bigint not null, title text, note text, amount numeric,
    created_at timestamptz, tags text[], extra jsonb not null default '{}', primary key (account, id))`.execute(wh.db)
  for (const r of tricky) {
    await sql`insert into getcourse.dump_sample (account, id, title, note, amount, created_at, tags, extra)
      values ('msk', ${r.id}, ${r.title}, ${r.note}, ${r.amount}::numeric, ${r.created_at}::timestamptz, ${r.tags}::text[], ${JSON.stringify({ k: r.id })}::jsonb)`.execute(
      wh.db,
    )
  }
  await sql`insert into getcourse.dump_sample (account, id, title) values ('other', 9, 'other account')`.execute(wh.db)
  dir = mkdtempSync(path.join(tmpdir(), 'dump-'))
})
afterAll(async () => wh.dispose())

describe('dump', () => {
  it('writes RFC 4180 CSV with a header, NULL as empty and empty strings quoted', async () => {
    const out = path.join(dir, 'plain.csv')
    const res = await dumpTable(wh, config, { table: 'getcourse.dump_sample', out, account: 'msk' })
    expect(res.rows).toBe(5)
    const text = readFileSync(out, 'utf8')
    expect(text.charCodeAt(0)).not.toBe(0xfeff)
    const records = parse(text, { columns: true }) as Record<string, string>[]
    expect(records.map((r) => r.id)).toEqual(['1', '2', '3', '4', '5'])
    expect(records[0]!.title).toBe('Курс «Английский», уровень 1')
    expect(records[1]!.title).toBe('He said "hi"; then left')
    expect(records[1]!.note).toBe('line one\nline two')
    expect(records[0]!.created_at).toBe('2026-03-01T10:00:00.000Z')
    expect(records[0]!.tags).toBe('["vip","Москва"]')
    expect(records[0]!.extra).toBe('{"k": 1}')
    expect(text).toContain('\nmsk,4,"",,0,,"[""a;b""]",') // empty string quoted, NULLs bare, arrays as JSON
  })

  it('neutralizes formula cells but leaves numbers alone', async () => {
    expect(neutralizeCell('=1+2')).toBe("'=1+2")
    expect(neutralizeCell('+79990001122')).toBe("'+79990001122")
    expect(neutralizeCell('\tcmd')).toBe("'\tcmd")
    expect(neutralizeCell('-15.50')).toBe('-15.50')
    const out = path.join(dir, 'formula.csv')
    await dumpTable(wh, config, { table: 'getcourse.dump_sample', out, account: 'msk' })
    const records = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[]
    expect(records[2]!.title).toBe(`'=HYPERLINK("http://evil","x")`)
    expect(records[4]!.title).toBe("'@SUM(A1:A2)")
    expect(records[1]!.amount).toBe('-15.50')
    expect(records[4]!.note).toBe('-5')
  })

  it('--excel uses BOM, semicolons, CRLF and the account time zone for dates', async () => {
    const out = path.join(dir, 'excel.csv')
    await dumpTable(wh, config, { table: 'getcourse.dump_sample', out, account: 'msk', excel: true, columns: ['id', 'title', 'created_at'] })
    const buf = readFileSync(out)
    expect([...buf.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    const text = buf.toString('utf8').slice(1)
    expect(text.startsWith('id;title;created_at\r\n')).toBe(true)
    const records = parse(text, { columns: true, delimiter: ';' }) as Record<string, string>[]
    expect(records[0]!.created_at).toBe('2026-03-01 13:00:00') // 10:00Z in Moscow (UTC+3)
    expect(records[4]!.created_at).toBe('2026-01-01 02:59:59')
  })

  it('filters by --since and --account with bound parameters, gzip on request', async () => {
    const out = path.join(dir, 'since.csv')
    const res = await dumpTable(wh, config, { table: 'getcourse.dump_sample', out, since: '2026-03-02', account: "msk' or '1'='1", gzip: true })
    expect(res.file).toBe(`${out}.gz`)
    expect(res.rows).toBe(0)
    const ok = await dumpTable(wh, config, { table: 'getcourse.dump_sample', out, since: '2026-03-02', account: 'msk', gzip: true })
    const records = parse(gunzipSync(readFileSync(ok.file)).toString('utf8'), { columns: true }) as Record<string, string>[]
    expect(records.map((r) => r.id)).toEqual(['2', '3'])
  })

  it('--account stays a value whatever the server settings (standard_conforming_strings = off)', async (ctx) => {
    if (!wh.url) return ctx.skip() // the COPY path (inlined literals) runs on a server only
    const fresh = await createTestWarehouse()
    const name = new URL(fresh.url!).pathname.slice(1)
    await sql`create table getcourse.probe (account text not null, id bigint not null, primary key (account, id))`.execute(fresh.db)
    await sql`insert into getcourse.probe values ('msk', 1)`.execute(fresh.db)
    // New sessions of this database read backslash escapes inside '…' literals.
    await sql.raw(`alter database ${pg.escapeIdentifier(name)} set standard_conforming_strings = off`).execute(fresh.db)
    const off = await openWarehouse({ database: fresh.url, log: quietLog })
    try {
      const { rows } = await sql<{ scs: string }>`select current_setting('standard_conforming_strings') as scs`.execute(off.db)
      expect(rows[0]!.scs).toBe('off')
      // Doubling ' alone turns \' into an escaped quote plus a closing one: the rest would be SQL.
      const crafted = "x\\' union select usename::text from pg_catalog.pg_user) to stdout with (format csv) --"
      for (const strategy of ['copy', 'cursor'] as const) {
        const out = path.join(dir, `probe-${strategy}.csv`)
        const res = await dumpTable(off, config, { table: 'getcourse.probe', out, columns: ['account'], account: crafted, strategy }).catch((e: Error) => e)
        expect(res, strategy).not.toBeInstanceOf(Error)
        expect(readFileSync(out, 'utf8'), strategy).toBe('account\n')
      }
      const ok = await dumpTable(off, config, { table: 'getcourse.probe', out: path.join(dir, 'probe-ok.csv'), columns: ['account'], account: 'msk' })
      expect(readFileSync(ok.file, 'utf8')).toBe('account\nmsk\n')
    } finally {
      await off.close()
      await fresh.dispose()
    }
  })

  it('refuses tables outside the allow-list and unknown columns, leaving no file behind', async () => {
    await expect(dumpTable(wh, config, { table: 'pg_catalog.pg_authid', out: path.join(dir, 'x.csv') })).rejects.toMatchObject({ code: 'DUMP_INVALID' })
    await expect(dumpTable(wh, config, { table: 'getcourse.dump_sample; drop table x', out: path.join(dir, 'x.csv') })).rejects.toMatchObject({
      code: 'DUMP_INVALID',
    })
    await expect(dumpTable(wh, config, { table: 'getcourse.dump_sample', columns: ['nope'], out: path.join(dir, 'x.csv') })).rejects.toThrow(/no column/)
    expect(readdirSync(dir).filter((f) => f.startsWith('x.csv'))).toEqual([])
  })

  it('the server COPY path and the cursor path write identical files', async () => {
    for (const [excel, locale] of [
      [false, undefined],
      [true, 'ru'],
      [true, 'en'],
    ] as const) {
      const a = await dumpTable(wh, config, { table: 'getcourse.dump_sample', out: path.join(dir, `s-copy-${excel}-${locale}.csv`), excel, locale })
      const b = await dumpTable(wh, config, {
        table: 'getcourse.dump_sample',
        out: path.join(dir, `s-cursor-${excel}-${locale}.csv`),
        excel,
        locale,
        strategy: 'cursor',
      })
      expect(a.rows).toBe(6)
      expect(b.rows).toBe(6)
      expect(readFileSync(a.file, 'utf8')).toBe(readFileSync(b.file, 'utf8'))
    }
  })

  it('--all writes one file per dumpable table', async () => {
    const outDir = path.join(dir, 'all')
    const results = await dumpAll(wh, config, outDir, { account: 'msk' })
    const names = results.map((r) => path.basename(r.file))
    expect(names).toContain('getcourse.dump_sample.csv')
    expect(names).toContain('etl.runs.csv')
    expect(results.find((r) => r.table === 'getcourse.dump_sample')!.rows).toBe(5)
  })

  describe('array and jsonb cells round-trip (one form: JSON)', () => {
    // Issue 13: tags joined with ", " could not be split back. Every array cell is a JSON array, every
    // json/jsonb cell its JSON text, NULL an empty field, in every mode.
    const values: { id: number; tags: (string | null)[] | null; extra: unknown }[] = [
      { id: 1, tags: ['скидка, 10%', 'из «Телеграма»'], extra: { k: 'a, b; "c"', n: [1, 2.5], ru: 'Привет' } },
      { id: 2, tags: [], extra: {} },
      { id: 3, tags: null, extra: null },
      { id: 4, tags: ['say "hi"', 'semi;colon', 'line\nbreak', 'back\\slash', '=1+1', '', ' '], extra: '"=just a string"' },
      { id: 5, tags: [null, 'x'], extra: [1, 'x', null, true] },
    ]
    beforeAll(async () => {
      await sql`create table getcourse.roundtrip (account text not null, id bigint not null, tags text[], extra jsonb, primary key (account, id))`.execute(
        wh.db,
      )
      for (const v of values) {
        const extra = v.extra === null ? null : typeof v.extra === 'string' ? v.extra : JSON.stringify(v.extra)
        await sql`insert into getcourse.roundtrip values ('msk', ${v.id}, ${v.tags}::text[], ${extra}::jsonb)`.execute(wh.db)
      }
    })
    const expected = values.map((v) => ({ id: String(v.id), tags: v.tags, extra: v.extra === '"=just a string"' ? '=just a string' : v.extra }))
    const decode = (records: Record<string, string>[]) =>
      records.map((r) => ({
        id: r.id,
        tags: r.tags === '' ? null : (JSON.parse(r.tags!) as unknown),
        extra: r.extra === '' ? null : (JSON.parse(r.extra!) as unknown),
      }))
    const read = (file: string, excel: boolean) => {
      const raw = readFileSync(file)
      const text = (file.endsWith('.gz') ? gunzipSync(raw) : raw).toString('utf8').replace(/^\ufeff/, '')
      return decode(parse(text, { columns: true, delimiter: excel ? ';' : ',' }) as Record<string, string>[])
    }

    it('writes the issue example as the cell ["скидка, 10%","из «Телеграма»"]', async () => {
      const out = path.join(dir, 'rt-example.csv')
      await dumpTable(wh, config, { table: 'getcourse.roundtrip', out, columns: ['id', 'tags'] })
      const records = parse(readFileSync(out, 'utf8'), { columns: true }) as Record<string, string>[]
      expect(records.map((r) => r.tags)).toEqual([
        '["скидка, 10%","из «Телеграма»"]',
        '[]',
        '',
        '["say \\"hi\\"","semi;colon","line\\nbreak","back\\\\slash","=1+1",""," "]',
        '[null,"x"]',
      ])
    })

    for (const excel of [false, true]) {
      for (const gzip of [false, true]) {
        for (const strategy of ['copy', 'cursor'] as const) {
          it(`reads back into the same values (${excel ? 'excel' : 'plain'}${gzip ? ', gzip' : ''}, ${strategy})`, async () => {
            const out = path.join(dir, `rt-${excel}-${gzip}-${strategy}.csv`)
            const res = await dumpTable(wh, config, { table: 'getcourse.roundtrip', out, columns: ['id', 'tags', 'extra'], excel, gzip, strategy })
            expect(read(res.file, excel)).toEqual(expected)
          })
        }
      }
    }

    const calc = spawnSync('soffice', ['--version']).status === 0
    it.runIf(calc || process.env.CI)('--excel reads back into the same values through LibreOffice Calc', async () => {
      const out = path.join(dir, 'rt-calc.csv')
      await dumpTable(wh, config, { table: 'getcourse.roundtrip', out, columns: ['id', 'tags', 'extra'], excel: true })
      const conv = path.join(dir, 'rt-calc-out')
      execFileSync(
        'soffice',
        [
          '--headless',
          `-env:UserInstallation=file://${path.join(dir, 'lo-profile')}`,
          '--infilter=CSV:59,34,76,1,,1049', // ru-RU: the locale --excel (--locale ru) writes for
          '--convert-to',
          'csv:Text - txt - csv (StarCalc):44,34,76,1',
          '--outdir',
          conv,
          out,
        ],
        { stdio: 'pipe', timeout: 120_000 },
      )
      expect(read(path.join(conv, 'rt-calc.csv'), false)).toEqual(expected)
    })
  })

  const soffice = spawnSync('soffice', ['--version']).status === 0
  it.runIf(soffice || process.env.CI)('opens in LibreOffice Calc with Cyrillic, quotes, newlines, semicolons and formulas intact', async () => {
    const out = path.join(dir, 'calc.csv')
    await dumpTable(wh, config, { table: 'getcourse.dump_sample', out, account: 'msk', excel: true, columns: ['id', 'title', 'note', 'amount'] })
    const conv = path.join(dir, 'calc-out')
    // Import as Calc would with the Excel profile (';', '"', UTF-8), export back as plain comma CSV.
    execFileSync(
      'soffice',
      [
        '--headless',
        `-env:UserInstallation=file://${path.join(dir, 'lo-profile')}`,
        '--infilter=CSV:59,34,76,1,,1049', // ru-RU: the locale --excel (--locale ru) writes for
        '--convert-to',
        'csv:Text - txt - csv (StarCalc):44,34,76,1',
        '--outdir',
        conv,
        out,
      ],
      { stdio: 'pipe', timeout: 120_000 },
    )
    const back = path.join(conv, 'calc.csv')
    expect(existsSync(back)).toBe(true)
    const rows = parse(readFileSync(back, 'utf8').replace(/^\ufeff/, ''), { columns: true, relax_column_count: true }) as Record<string, string>[]
    expect(rows).toHaveLength(5)
    expect(rows[0]!.title).toBe('Курс «Английский», уровень 1')
    expect(rows[1]!.title).toBe('He said "hi"; then left')
    expect(rows[1]!.note).toBe('line one\nline two')
    expect(rows[2]!.title).toContain('HYPERLINK') // shown as text, not evaluated
    expect(rows[4]!.amount).toBe('12000')
  })
})
