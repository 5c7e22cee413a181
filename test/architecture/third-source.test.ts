import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { z } from 'zod'
import { main } from '../../src/cli.js'
import { loadConfig, type Config } from '../../src/config.js'
import { accountName, timeZone } from '../../src/config-fields.js'
import { rejected, type Batch, type Normalized, type SourceModule, type Stream } from '../../src/contract.js'
import { dumpableTables, dumpTable } from '../../src/dump.js'
import { loadJobs } from '../../src/jobs.js'
import { redact } from '../../src/log.js'
import { allSources, registerSource } from '../../src/sources/index.js'
import { collectStatus } from '../../src/status.js'
import { runSync } from '../../src/sync.js'
import { systemClock } from '../../src/clock.js'
import { createTestWarehouse, quietLog, type TestWarehouse } from '../support/database.js'

/**
 * A third source, written the way a new source folder would be: it describes its own config
 * section, secrets, time zone, tables' schema, status facts and file loader, and is registered once.
 * It then runs end to end through the real config parsing, runner, status, dump, jobs and CLI —
 * none of which was edited to know it.
 */
const TOKEN = 'lms-token-Зебра-42'

const lessonAccount = z
  .object({ name: accountName, token: z.string().min(8, 'expected the LMS token (set it through ${VAR})'), timezone: timeZone.default('Asia/Vladivostok') })
  .strict()
type LessonAccount = z.output<typeof lessonAccount>
interface LmsConfig {
  readonly lms: readonly LessonAccount[]
}

/** What the upstream API would answer: hard data (Cyrillic, commas and quotes, a blank title, a record without an id). */
const UPSTREAM = [
  { id: 1, title: 'Урок 1: «Введение», часть "А"', starts: '2026-03-01T23:30:00Z' },
  { id: 2, title: '', starts: '2026-03-02T10:00:00Z' },
  { id: null, title: 'без id', starts: '2026-03-03T10:00:00Z' },
  { id: 3, title: 'Урок 1: «Введение», часть "А"', starts: '2026-03-04T00:15:00Z' },
]

type LessonRow = { account: string; id: number; title: string | null; starts_at: string; course: number | null }

function normalizeLesson(account: string, item: (typeof UPSTREAM)[number], course: number | null = null): Normalized<LessonRow> {
  if (typeof item.id !== 'number') return rejected(`lesson has no id: ${JSON.stringify(item.id)}`, item)
  return { ok: true, row: { account, id: item.id, title: item.title || null, starts_at: item.starts, course } }
}

function lessonsBatch(account: string, items: typeof UPSTREAM, course: number | null = null): Batch<{ loaded: number }> {
  const results = items.map((i) => normalizeLesson(account, i, course))
  return {
    read: items.length,
    writes: [{ table: 'lms.lessons', key: ['account', 'id'], rows: results.flatMap((r) => (r.ok ? [r.row] : [])) }],
    rejects: results.flatMap((r) => (r.ok ? [] : [r])),
    state: { loaded: items.length },
  }
}

const stateSchema = z.object({ loaded: z.number() })

const lms: SourceModule<LessonAccount, LmsConfig> = {
  name: 'lms',
  title: 'LMS',
  streamNames: ['lessons'],
  accountSchema: lessonAccount,
  secrets: (a) => [a.token],
  timeZone: (a) => a.timezone,
  streams(config, options) {
    return config.lms
      .filter((a) => !options.accounts?.length || options.accounts.includes(a.name))
      .map(
        (a): Stream<{ loaded: number }> => ({
          source: 'lms',
          account: a.name,
          name: 'lessons',
          stateSchema,
          async *run(ctx) {
            ctx.countRequests(1)
            yield lessonsBatch(a.name, UPSTREAM)
          },
        }),
      )
  },
  async accountStatus(db, config) {
    const out: Record<string, Record<string, unknown>> = {}
    for (const a of config.lms) {
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from lms.lessons where account = ${a.name}`.execute(db)
      out[a.name] = { lessonsStored: rows[0]!.n, zone: a.timezone }
    }
    return out
  },
  files: {
    streams: ['lessons'],
    options: [
      {
        flags: '--course <id>',
        description: 'the course the saved lessons belong to',
        parse: (v) => {
          if (!/^\d+$/.test(v)) throw new Error(`expected a course id, got "${v}"`)
          return Number(v)
        },
      },
    ],
    source: ({ account, file, options }) => ({
      name: 'lms-file',
      streamNames: ['lessons'],
      streams: () => [
        {
          source: 'lms-file',
          account,
          name: 'lessons',
          async *run() {
            yield lessonsBatch(account, JSON.parse(readFileSync(file, 'utf8')), options.course as number)
          },
        },
      ],
    }),
  },
}

let wh: TestWarehouse
let dir: string
let config: Config
let configFile: string

beforeAll(async () => {
  registerSource(lms)
  wh = await createTestWarehouse()
  await sql`create schema lms`.execute(wh.db)
  await sql`create table lms.lessons (account text not null, id bigint not null, title text, starts_at timestamptz not null, course bigint,
    synced_at timestamptz not null default now(), primary key (account, id))`.execute(wh.db)
  dir = mkdtempSync(path.join(tmpdir(), 'third-source-'))
  configFile = path.join(dir, 'etl.config.yaml')
  writeFileSync(configFile, [`database: ${wh.url ?? ''}`, `dataDir: ${dir}`, 'lms:', '  - name: north', '    token: ${LMS_TOKEN}', ''].join('\n'))
  vi.stubEnv('LMS_TOKEN', TOKEN)
  config = loadConfig({ path: configFile })
}, 60_000)

afterAll(async () => {
  vi.unstubAllEnvs()
  await wh?.dispose()
  rmSync(dir, { recursive: true, force: true })
})

describe('a third source registered in one place', () => {
  it('gets its config section parsed and checked by its own schema, its secret redacted', () => {
    const section = (config as unknown as LmsConfig).lms
    expect(section).toEqual([{ name: 'north', token: TOKEN, timezone: 'Asia/Vladivostok' }])
    expect(redact(`answer for ${TOKEN}`)).not.toContain(TOKEN)
    expect(() => loadConfig({ path: configFile, env: { LMS_TOKEN: 'short' } })).toThrow(/`lms\[0\]\.token`: expected the LMS token/)
  })

  it('is synced by the runner: rows, reject and state in one transaction each, a run recorded', async () => {
    const summary = await runSync({ warehouse: wh, config, log: quietLog, clock: systemClock, sources: allSources }, { source: 'lms' })
    expect(summary.results.map((r) => [r.source, r.account, r.stream, r.status, r.counts.read, r.counts.inserted, r.counts.rejected])).toEqual([
      ['lms', 'north', 'lessons', 'succeeded', 4, 3, 1],
    ])
    const { rows } = await sql<{ id: string; title: string | null }>`select id, title from lms.lessons order by id`.execute(wh.db)
    expect(rows).toEqual([
      { id: '1', title: 'Урок 1: «Введение», часть "А"' },
      { id: '2', title: null },
      { id: '3', title: 'Урок 1: «Введение», часть "А"' },
    ])
    const { rows: rejects } = await sql<{ source: string; reason: string }>`select source, reason from etl.rejects`.execute(wh.db)
    expect(rejects).toEqual([{ source: 'lms', reason: 'lesson has no id: null' }])
    const { rows: state } = await sql<{ state: unknown }>`select state from etl.stream_state where source = 'lms'`.execute(wh.db)
    expect(state).toEqual([{ state: { loaded: 4 } }])
  })

  it('shows in status with its streams and its own facts', async () => {
    const report = await collectStatus(wh.db, config, allSources, wh.label)
    const entry = report.streams.find((s) => s.source === 'lms')
    expect(entry).toMatchObject({ account: 'north', stream: 'lessons', lastStatus: 'succeeded', rowsLastSuccess: 4, rejects: 1 })
    expect(report.accounts['lms:north']).toEqual({ lessonsStored: 3, zone: 'Asia/Vladivostok' })
  })

  it('is dumpable, with its dates in the account zone for --excel', async () => {
    expect(await dumpableTables(wh.db)).toContain('lms.lessons')
    const out = path.join(dir, 'lessons.csv')
    const res = await dumpTable(wh, config, { table: 'lms.lessons', out, excel: true, columns: ['id', 'title', 'starts_at'] })
    expect(res.rows).toBe(3)
    // 2026-03-01T23:30Z is 09:30 on 2 March in Vladivostok (UTC+10), not the config zone's (Moscow) 02:30.
    const text = readFileSync(out, 'utf8')
    expect(text).toContain('1;"Урок 1: «Введение», часть ""А""";2026-03-02 09:30:00\r\n')
    expect(text).toContain('3;"Урок 1: «Введение», часть ""А""";2026-03-04 10:15:00\r\n')
  })

  it('is a valid job source', () => {
    const jobs = path.join(dir, 'jobs')
    mkdirSync(jobs)
    writeFileSync(path.join(jobs, 'lms.yaml'), 'name: lms-hourly\ncron: "0 * * * *"\nsource: lms\n')
    expect(loadJobs(jobs).map((j) => [j.name, j.source])).toEqual([['lms-hourly', 'lms']])
    writeFileSync(path.join(jobs, 'lms.yaml'), 'name: lms-hourly\ncron: "0 * * * *"\nsource: moodle\n')
    expect(() => loadJobs(jobs)).toThrow(/`source`: expected one of .*"lms"/)
  })

  it('loads a saved file through the CLI (its own --course flag) and shows in the CLI status', async () => {
    const file = path.join(dir, 'saved-lessons.json')
    writeFileSync(file, JSON.stringify([{ id: 4, title: 'Сохранённый, "из файла"', starts: '2026-04-01T00:00:00Z' }]))
    const out: string[] = []
    const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out.push(String(chunk))
      return true
    })
    try {
      const cli = (args: string[]) => main(['node', 'course-etl', '--config', configFile, '--log-level', 'silent', ...args])
      expect(await cli(['load-file', '--account', 'north', '--stream', 'lessons', '--file', file, '--course', '7'])).toBe(0)
      expect(out.join('')).toMatch(/succeeded lms-file\/north\/lessons: 1 read, 1 inserted/)
      expect(await cli(['status', '--json'])).toBe(0)
    } finally {
      write.mockRestore()
    }
    const report = JSON.parse(out.slice(out.findIndex((o) => o.startsWith('{'))).join(''))
    expect(report.accounts['lms:north']).toEqual({ lessonsStored: 4, zone: 'Asia/Vladivostok' })
    const { rows } = await sql<{ course: string }>`select course from lms.lessons where id = 4`.execute(wh.db)
    expect(rows).toEqual([{ course: '7' }])
  })
})
