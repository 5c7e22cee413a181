import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import ExcelJS from 'exceljs'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config.js'
import { dumpAll, dumpTable } from '../../src/dump.js'
import { EtlError } from '../../src/errors.js'
import { cellValue, columnLetter, escapeXstring, writeWorkbook } from '../../src/xlsx.js'
import { type CalcCell, hasCalc, openInCalc, openInCalcRaw } from '../support/calc.js'
import { createTestWarehouse, type TestWarehouse } from '../support/database.js'

/**
 * Issue 16 item 9: every cell of a dump, opened in LibreOffice Calc, against the database. Numbers
 * must be numbers (that SUM to the database's sum), dates dates, text text (never a formula).
 */
let wh: TestWarehouse
let dir: string
const config = parseConfig({
  timezone: 'UTC',
  getcourse: [{ name: 'msk', account: 'msk', key: 'k'.repeat(16), timezone: 'Europe/Moscow' }],
})

const rows = [
  {
    id: 1,
    title: 'Курс «Английский», уровень 1',
    amount: '2900.00',
    ratio: 0.1,
    qty: 3,
    at: '2026-03-01T10:00:00Z',
    day: '1990-05-17',
    paid: true,
    tags: ['vip', 'Москва'],
    extra: { k: 'a, b; "c"' },
  },
  {
    id: 2,
    title: 'He said "hi"; then left',
    amount: '-15.50',
    ratio: -2.5e-7,
    qty: -1,
    at: '2026-03-02T21:00:00Z',
    day: null,
    paid: false,
    tags: [],
    extra: {},
  },
  { id: 3, title: '=HYPERLINK("http://evil","x")', amount: null, ratio: null, qty: null, at: null, day: null, paid: null, tags: null, extra: null },
  {
    id: 4,
    title: '+79990001122',
    amount: '1234567.891',
    ratio: 1e21,
    qty: 0,
    at: '2025-12-31T20:59:59Z',
    day: '2000-02-29',
    paid: true,
    tags: ['a;b', 'c,d'],
    extra: [1, 'x'],
  },
  {
    id: 5,
    title: '@SUM(A1:A2)',
    amount: '0.01',
    ratio: 2.71828e-3,
    qty: 2147483647,
    at: '2026-06-15T09:30:05Z',
    day: '2026-01-01',
    paid: false,
    tags: ['=1+1'],
    extra: '=x',
  },
  {
    id: 6,
    title: '-5 руб., скидка',
    amount: '99999999.99',
    ratio: 0,
    qty: 7,
    at: '2026-01-10T00:00:00Z',
    day: '1970-01-01',
    paid: true,
    tags: [''],
    extra: { ru: 'Привет' },
  },
  {
    id: 7,
    title: 'line one\nline two',
    amount: '0',
    ratio: 1.5,
    qty: 1,
    at: '2026-02-28T23:15:00Z',
    day: '2026-12-31',
    paid: null,
    tags: ['x'],
    extra: { n: null },
  },
  { id: 8, title: '', amount: '-0.5', ratio: -1, qty: 12, at: '2026-10-25T01:30:00Z', day: '2026-10-25', paid: false, tags: [], extra: {} },
]

interface DbRow {
  id: string
  title: string | null
  amount: string | null
  ratio: string | null
  qty: string | null
  at: string | null
  day: string | null
  paid: string | null
  tags: string | null
  extra: string | null
  code: string | null
}
let db: DbRow[]
const COLUMNS = ['id', 'title', 'amount', 'ratio', 'qty', 'at', 'day', 'paid', 'tags', 'extra'] as const

beforeAll(async () => {
  wh = await createTestWarehouse()
  await sql`create table getcourse.sheet_sample (account text not null, id bigint not null, title text, amount numeric, ratio double precision,
    qty integer, at timestamptz, day date, paid boolean, tags text[], extra jsonb, code text, primary key (account, id))`.execute(wh.db)
  const codes = ['00123', '2026-03-01', '1,5', '1e5', 'tab\there, vt\u000bhere _x0041_', 'TRUE', '3/4', '  7 ']
  for (const [i, r] of rows.entries()) {
    const extra = r.extra === null ? null : JSON.stringify(r.extra)
    await sql`insert into getcourse.sheet_sample values ('msk', ${r.id}, ${r.title}, ${r.amount}::numeric, ${r.ratio}, ${r.qty}, ${r.at}::timestamptz,
      ${r.day}::date, ${r.paid}, ${r.tags}::text[], ${extra}::jsonb, ${codes[i]})`.execute(wh.db)
  }
  await sql`insert into getcourse.sheet_sample (account, id, title, amount) values ('other', 1, 'other account', 5)`.execute(wh.db)
  // The truth to compare with, read independently of the dump code: wall clock of the account's zone.
  const res = await sql<DbRow>`select id::text, title, amount::text, ratio::text, qty::text,
      to_char(at at time zone 'Europe/Moscow', 'YYYY-MM-DD"T"HH24:MI:SS') as at, day::text, paid::text,
      array_to_json(tags)::text as tags, extra::text, code
    from getcourse.sheet_sample where account = 'msk' order by id`.execute(wh.db)
  db = res.rows
  dir = mkdtempSync(path.join(tmpdir(), 'sheets-'))
})
afterAll(async () => wh.dispose())

const cell = (type: CalcCell['type'], value: string): CalcCell => ({ type, value })
const EMPTY = cell('empty', '')
/** Calc writes a midnight date-time as the bare date. */
const dateValue = (v: string) => v.replace(/T00:00:00$/, '')
const FORMULA = /^[=+\-@]/

/** What each database value must be once Calc has opened the file. */
function expected(format: 'ru' | 'en' | 'xlsx'): CalcCell[][] {
  const header = COLUMNS.map((c) => cell('string', c))
  const csvText = (v: string) => (format !== 'xlsx' && FORMULA.test(v) ? `'${v}` : v)
  const body = db.map((r) =>
    COLUMNS.map((c) => {
      const v = r[c]
      if (v === null || (v === '' && c === 'title')) return EMPTY
      switch (c) {
        case 'id':
        case 'amount':
        case 'ratio':
        case 'qty':
          return cell('float', String(Number(v)))
        case 'at':
        case 'day':
          return cell('date', dateValue(v))
        case 'paid':
          // A CSV holds `true`/`false`: a ru-RU Calc keeps that text, an en-US one reads booleans.
          // An xlsx boolean cell (`t="b"`, Excel's TRUE/FALSE) is what Calc loads as =TRUE() / =FALSE().
          if (format === 'xlsx') return { type: 'float', value: v === 'true' ? '1' : '0', formula: v === 'true' ? 'of:=TRUE()' : 'of:=FALSE()' } as CalcCell
          return format === 'ru' ? cell('string', v) : cell('boolean', v)
        default:
          return cell('string', csvText(v))
      }
    }),
  )
  return [header, ...body]
}

/** Calc's cells with float values normalized (`2900` and `2900.00` are one number). */
function normalized(sheet: CalcCell[][]): CalcCell[][] {
  return sheet.map((row) => {
    const full = [...row]
    while (full.length < COLUMNS.length) full.push(EMPTY)
    return full.map((c) => {
      if (c.formula) return c // kept as is, so that a formula fails the comparison
      if (c.type === 'float') return cell('float', String(Number(c.value)))
      if (c.type === 'date') return cell('date', dateValue(c.value))
      return c
    })
  })
}

function sumOf(sheet: CalcCell[][], column: string): number {
  const i = COLUMNS.indexOf(column as (typeof COLUMNS)[number])
  return sheet.slice(1).reduce((s, r) => s + (r[i]?.type === 'float' ? Number(r[i]!.value) : 0), 0)
}

describe.runIf(hasCalc || process.env.CI)('dump opened in LibreOffice Calc (ru-RU)', () => {
  it('--excel --locale ru: ";", decimal commas; every cell is the database value with its type', async () => {
    const out = path.join(dir, 'ru.csv')
    await dumpTable(wh, config, { table: 'getcourse.sheet_sample', out, account: 'msk', excel: true, locale: 'ru', columns: [...COLUMNS] })
    const text = readFileSync(out, 'utf8')
    expect(text).toContain(';"2900,00";') // the decimal comma, quoted as a field holding a comma
    expect(text).not.toContain('2900.00')
    const sheet = normalized(openInCalc(out, { separator: ';', language: 1049 }))
    expect(sheet).toEqual(expected('ru'))
    const { rows: sum } = await sql<{ s: string }>`select sum(amount)::text as s from getcourse.sheet_sample where account = 'msk'`.execute(wh.db)
    expect(sumOf(sheet, 'amount')).toBeCloseTo(Number(sum[0]!.s), 6)
  })

  it('the same file in the old format (decimal points) is what a ru-RU Calc cannot add up', async () => {
    const out = path.join(dir, 'points.csv')
    await dumpTable(wh, config, { table: 'getcourse.sheet_sample', out, account: 'msk', excel: true, locale: 'en', columns: ['id', 'amount'] })
    const semicolons = path.join(dir, 'points-semicolon.csv')
    // Issue 16's report: `;` with `2900.00` opened by a ru-RU spreadsheet: amounts are text, SUM skips them.
    const { writeFileSync } = await import('node:fs')
    writeFileSync(semicolons, readFileSync(out, 'utf8').replaceAll(',', ';'))
    const sheet = openInCalc(semicolons, { separator: ';', language: 1049 })
    expect(sheet[1]![1]).toEqual(cell('string', '2900.00'))
  })

  it('--excel --locale en: "," and decimal points, read by an en-US Calc', async () => {
    const out = path.join(dir, 'en.csv')
    await dumpTable(wh, config, { table: 'getcourse.sheet_sample', out, account: 'msk', excel: true, locale: 'en', columns: [...COLUMNS] })
    const text = readFileSync(out, 'utf8')
    expect(text.startsWith('\ufeffid,title,amount,')).toBe(true)
    expect(text).toContain(',2900.00,')
    const sheet = normalized(openInCalc(out, { separator: ',', language: 1033 }))
    expect(sheet).toEqual(expected('en'))
    expect(sumOf(sheet, 'amount')).toBeCloseTo(
      rows.reduce((s, r) => s + Number(r.amount ?? 0), 0),
      6,
    )
  })

  it('--xlsx: typed cells, text never a formula, frozen header, autofilter', async () => {
    const out = path.join(dir, 'sample.xlsx')
    const res = await dumpTable(wh, config, { table: 'getcourse.sheet_sample', out, account: 'msk', xlsx: true, columns: [...COLUMNS, 'code'] })
    expect(res.rows).toBe(db.length)
    const { rows: sheet, xml } = openInCalcRaw(out)
    // Flat ODS (XML 1.0) cannot hold a vertical tab, so Calc's export drops it; the workbook itself keeps it (read back below).
    const want = expected('xlsx').map((row, i) => [...row, i === 0 ? cell('string', 'code') : cell('string', db[i - 1]!.code!.replace('\u000b', ''))])
    // `code` holds text a CSV cannot keep (`00123`, `2026-03-01`, `1,5`): in a workbook it stays text.
    const got = sheet.map((row) => {
      const n = normalized([row.slice(0, COLUMNS.length)])[0]!
      return [...n, row[COLUMNS.length] ?? EMPTY]
    })
    // An empty string is an empty text cell in the workbook; Calc shows both as blank.
    const title = COLUMNS.indexOf('title')
    for (const row of got) if (row[title]!.type === 'string' && row[title]!.value === '') row[title] = EMPTY
    expect(got).toEqual(want)
    // The only formulas are Calc's own TRUE() / FALSE() for boolean cells.
    expect([...xml.matchAll(/table:formula="([^"]*)"/g)].map((m) => m[1]).filter((f) => !/^of:=(TRUE|FALSE)\(\)$/.test(f!))).toEqual([])
    expect(sumOf(got, 'amount')).toBeCloseTo(
      rows.reduce((s, r) => s + Number(r.amount ?? 0), 0),
      6,
    )
    const book = new ExcelJS.Workbook()
    await book.xlsx.readFile(out)
    const codes = book.worksheets[0]!.getColumn(COLUMNS.length + 1).values.slice(2)
    expect(codes.map((v) => (v as { richText: { text: string }[] }).richText.map((r) => r.text).join(''))).toEqual(db.map((r) => r.code))
    // A filter over the header and data, as Calc loads it; the frozen header row in the sheet view
    // (a headless conversion writes no view settings, so it is read from the workbook).
    expect(xml).toContain(
      `table:target-range-address="&apos;getcourse.sheet_sample&apos;.A1:&apos;getcourse.sheet_sample&apos;.K${db.length + 1}" table:display-filter-buttons="true"`,
    )
    expect(book.worksheets[0]!.views[0]).toMatchObject({ state: 'frozen', ySplit: 1 })
    expect(book.worksheets[0]!.autoFilter).toBe(`A1:K${db.length + 1}`)
  })
})

describe('dump --all --xlsx', () => {
  it('writes one workbook per dumpable table', async () => {
    const outDir = path.join(dir, 'all-xlsx')
    const results = await dumpAll(wh, config, outDir, { account: 'msk', xlsx: true })
    expect(results.every((r) => r.file.endsWith('.xlsx'))).toBe(true)
    expect(results.find((r) => r.table === 'getcourse.sheet_sample')).toMatchObject({ rows: db.length, file: path.join(outDir, 'getcourse.sheet_sample.xlsx') })
    expect(readdirSync(outDir).sort()).toEqual(results.map((r) => path.basename(r.file)).sort())
    const book = new ExcelJS.Workbook()
    await book.xlsx.readFile(path.join(outDir, 'analytics.revenue_daily.xlsx'))
    expect(book.worksheets[0]!.getRow(1).values).toEqual([
      undefined,
      'source',
      'account',
      'day',
      'time_zone',
      'currency',
      'orders',
      'amount',
      'refunds',
      'refunded_amount',
      'net_amount',
      'unclassified_payments',
      'unclassified_amount',
    ])
  })
})

describe('xlsx cell values', () => {
  it('keeps numbers a double cannot hold, and odd dates, as text', () => {
    expect(cellValue('number', '2900.00')).toBe(2900)
    expect(cellValue('number', '9007199254740993')).toBe('9007199254740993')
    expect(cellValue('number', 'NaN')).toBe('NaN')
    expect(cellValue('datetime', '2026-03-01T13:00:00.250')).toEqual(new Date(Date.UTC(2026, 2, 1, 13, 0, 0, 250)))
    expect(cellValue('date', 'infinity')).toBe('infinity')
    expect(cellValue('text', '=1+1')).toEqual({ richText: [{ text: '=1+1' }] })
    expect(cellValue('text', 'x'.repeat(40_000))).toEqual({ richText: [{ text: 'x'.repeat(32_767) }] })
    expect(escapeXstring('a\u000bb _x0041_')).toBe('a_x000B_b _x005F_x0041_')
    expect(cellValue('boolean', 'false')).toBe(false)
    expect([1, 26, 27, 52, 703].map(columnLetter)).toEqual(['A', 'Z', 'AA', 'AZ', 'AAA'])
    expect(cellValue('text', null)).toBeNull()
  })

  it('a stopped --xlsx dump fails with ABORTED and leaves no file behind', async () => {
    const out = path.join(dir, 'stopped', 'sample.xlsx')
    const controller = new AbortController()
    controller.abort(new EtlError('ABORTED', 'received SIGINT'))
    await expect(dumpTable(wh, config, { table: 'getcourse.sheet_sample', out, xlsx: true, signal: controller.signal })).rejects.toMatchObject({
      code: 'ABORTED',
    })
    expect(existsSync(path.dirname(out)) ? readdirSync(path.dirname(out)) : []).toEqual([])
    // Stopped between batches: the workbook rejects with the stop reason and its file stream is closed.
    const mid = new AbortController()
    async function* batches() {
      yield [['1']]
      mid.abort(new EtlError('ABORTED', 'received SIGTERM'))
      yield [['2']]
    }
    const file = path.join(dir, 'stopped-mid.xlsx')
    await expect(writeWorkbook(file, 't', [{ name: 'id', kind: 'number' }], batches(), mid.signal)).rejects.toMatchObject({ code: 'ABORTED' })
  })

  it('refuses --xlsx with --gzip or --excel before writing anything', async () => {
    const out = path.join(dir, 'refused.xlsx')
    await expect(dumpTable(wh, config, { table: 'getcourse.sheet_sample', out, xlsx: true, gzip: true })).rejects.toMatchObject({ code: 'USAGE' })
    await expect(dumpTable(wh, config, { table: 'getcourse.sheet_sample', out, xlsx: true, excel: true })).rejects.toThrow(/--xlsx/)
  })
})

describe('dump --xlsx / --locale from the command line', () => {
  const CLI = path.resolve('bin/course-etl.js')
  const run = (args: string[]) => {
    const cfg = path.join(dir, 'cli.yaml')
    writeFileSync(
      cfg,
      'database: ${WAREHOUSE_URL}\ndataDir: ./data\ngetcourse:\n  - name: msk\n    account: msk\n    key: ${GC_KEY}\n    timezone: Europe/Moscow\n',
    )
    return spawnSync(process.execPath, [CLI, '--config', cfg, 'dump', ...args], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 90_000,
      env: { ...process.env, WAREHOUSE_URL: wh.url ?? '', GC_KEY: 'sheets-key-00000', LOG_LEVEL: 'warn', DATABASE_URL: '', ETL_CONFIG: '' },
    })
  }

  it('writes a workbook and says so; refuses --locale without --excel and --xlsx with --gzip, leaving nothing', async (ctx) => {
    if (!wh.url) return ctx.skip() // the child process needs a server database
    const out = path.join(dir, 'cli', 'sample.xlsx')
    const ok = run(['--table', 'getcourse.sheet_sample', '--account', 'msk', '--xlsx', '--out', out])
    expect(ok.status, ok.stderr).toBe(0)
    expect(ok.stdout).toBe(`getcourse.sheet_sample: ${db.length} rows → ${out}\n`)
    expect(readFileSync(out).subarray(0, 2).toString()).toBe('PK') // a zip container

    const locale = run(['--table', 'getcourse.sheet_sample', '--locale', 'en', '--out', path.join(dir, 'cli', 'x.csv')])
    expect(locale.status).toBe(1)
    expect(locale.stderr.trim().split('\n').at(-1)).toBe(
      'course-etl: USAGE: --locale applies to --excel CSV (an --xlsx workbook stores numbers, not their spelling)',
    )
    const gzip = run(['--table', 'getcourse.sheet_sample', '--xlsx', '--gzip', '--out', path.join(dir, 'cli', 'y.xlsx')])
    expect(gzip.status).toBe(1)
    expect(gzip.stderr.trim().split('\n').at(-1)).toMatch(/^course-etl: USAGE: --xlsx writes a workbook/)
    const bad = run(['--table', 'getcourse.sheet_sample', '--excel', '--locale', 'de', '--out', path.join(dir, 'cli', 'z.csv')])
    expect(bad.status).toBe(1)
    expect(bad.stderr).toContain("argument 'de' is invalid. Allowed choices are ru, en.")
    expect(readdirSync(path.join(dir, 'cli')).sort()).toEqual(['sample.xlsx'])
    expect(existsSync(path.join(dir, 'cli', 'y.xlsx'))).toBe(false)
  })
})
