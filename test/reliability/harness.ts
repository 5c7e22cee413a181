/**
 * Reliability harness: the simulators run in the test process, the ETL runs as real child processes
 * (`course-etl … sync`, `schedule --run`, `load-file`, `dump`, `status`) against a real Postgres
 * database, so a child can be SIGKILLed at any moment and several children can race.
 *
 * Children run the same sources as `node --import tsx src/cli.ts`, bundled once per test file with
 * the esbuild that tsx itself uses (no type stripping differences): tsx compiles the ~80 modules on
 * every start, which costs 3–5 s per child on a loaded 2-core machine, the bundle ~1 s. Set
 * RELIABILITY_CLI=tsx to spawn `node --import tsx src/cli.ts` instead.
 */
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import pg from 'pg'
import { openWarehouse, type Warehouse } from '../../src/db/index.js'
import { startGetcourseSimulator, type GetcourseSim, type GetcourseSimOptions } from '../../src/simulators/getcourse/server.js'
import { startKwigaSimulator, type KwigaSim } from '../../src/simulators/kwiga/server.js'
import { schoolKey } from '../../src/sources/getcourse/ledger.js'
import { createTestWarehouse, hasServer, quietLog, type TestWarehouse } from '../support/database.js'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

/** Recognizable fake credentials: any occurrence outside the simulators is a leak. */
export const SECRETS = {
  gcKey: 'SECRET-GC-KEY-7f3a91c2e4b8d605',
  kwToken: 'SECRET-KW-TOKEN-3b9e7d21c0a4f6',
  kwHash: 'SECRET-KW-HASH-5c1d8e07ab',
  /** Configured for the error paths (901, 401): also registered as secrets by the config. */
  gcWrongKey: 'SECRET-GC-WRONGKEY-0d4e6a19b7',
  kwWrongToken: 'SECRET-KW-WRONGTOKEN-8e2f5c13',
}

export const GC_ACCOUNT = 'school'
export const KW_CABINET = 'main'

/**
 * Multi-process tests need a Postgres server. On CI (`CI` set) a missing server is a failure, never
 * a silent skip; elsewhere the caller skips.
 */
export async function serverAvailable(): Promise<boolean> {
  const ok = await hasServer()
  if (!ok && process.env.CI)
    throw new Error('CI is set but no Postgres server is available (TEST_DATABASE_URL): the reliability suite must run against a real server')
  return ok
}

// ── the CLI as a child process ────────────────────────────────────────────────────────────────

let cliPath: string | undefined

/** Builds the CLI bundle once per test process; `dispose` removes it. */
export async function prepareCli(): Promise<{ argv: string[]; dispose(): void }> {
  if (process.env.RELIABILITY_CLI === 'tsx') return { argv: ['--import', 'tsx', path.join(ROOT, 'src/cli.ts')], dispose() {} }
  if (!cliPath) {
    // Two directories below the repo root, so `src/db/migrate.ts`'s `../../migrations` still resolves.
    const dir = path.join(ROOT, '.data', `reliability-cli-${process.pid}-${randomBytes(3).toString('hex')}`)
    mkdirSync(dir, { recursive: true })
    const esbuild = await import('esbuild')
    await esbuild.build({
      entryPoints: [path.join(ROOT, 'src/cli.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      target: 'node20',
      outfile: path.join(dir, 'cli.mjs'),
      logLevel: 'silent',
    })
    cliPath = path.join(dir, 'cli.mjs')
  }
  const file = cliPath
  return {
    argv: [file],
    dispose() {
      rmSync(path.dirname(file), { recursive: true, force: true })
      cliPath = undefined
    },
  }
}

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  ms: number
  /** True when the harness killed it. */
  killed: boolean
}

export interface RunOptions {
  env?: Record<string, string>
  /** SIGKILL the child after this many ms (if still running). */
  killAfterMs?: number
  /** SIGKILL when this returns true (checked every 10 ms), e.g. once the simulator saw an export start. */
  killWhen?: () => boolean
  /** Safety net: SIGKILL and fail after this long. @default 120 s */
  timeoutMs?: number
  onSpawn?: (pid: number) => void
}

export function runCli(cli: { argv: string[] }, args: string[], options: RunOptions = {}): Promise<CliResult> {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cli.argv, ...args], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'info', ...options.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    let killed = false
    let timedOut = false
    const kill = () => {
      if (child.exitCode === null && child.signalCode === null) {
        killed = true
        child.kill('SIGKILL')
      }
    }
    const timers: NodeJS.Timeout[] = []
    if (options.killAfterMs !== undefined) timers.push(setTimeout(kill, options.killAfterMs))
    if (options.killWhen) {
      const poll = setInterval(() => options.killWhen!() && kill(), 10)
      timers.push(poll)
    }
    timers.push(
      setTimeout(() => {
        timedOut = true
        kill()
      }, options.timeoutMs ?? 120_000),
    )
    if (child.pid) options.onSpawn?.(child.pid)
    child.on('error', reject)
    child.on('close', (code, signal) => {
      for (const t of timers) clearTimeout(t)
      const result = {
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: Date.now() - started,
        killed: killed && !timedOut,
      }
      if (timedOut) reject(new Error(`course-etl ${args.join(' ')} did not finish in ${options.timeoutMs ?? 120_000} ms\n${result.stderr.slice(-3000)}`))
      else resolve(result)
    })
  })
}

// ── simulators and config ─────────────────────────────────────────────────────────────────────

export interface Sims {
  gc: GetcourseSim
  kw: KwigaSim
  close(): Promise<void>
}

export interface SimSizes {
  gc?: { users?: number; deals?: number; payments?: number; groups?: number }
  kw?: { contacts?: number; courses?: number; usersPerCourse?: number; coupons?: number; contactLists?: number }
  gcBudget?: { requests: number; windowSeconds: number }
  readyAfterMs?: GetcourseSimOptions['readyAfterMs']
}

/** Small deterministic datasets; exports become ready in tens of ms; KWIGA's rate limit out of the way. */
export async function startSims(sizes: SimSizes = {}): Promise<Sims> {
  const gc = await startGetcourseSimulator({
    accounts: [{ account: GC_ACCOUNT, key: SECRETS.gcKey, users: 40, deals: 50, payments: 35, groups: 3, seed: 7, ...sizes.gc }],
    budget: sizes.gcBudget ?? { requests: 100_000, windowSeconds: 7200 },
    readyAfterMs: sizes.readyAfterMs ?? (({ rows }) => 30 + rows * 2),
  })
  const kw = await startKwigaSimulator({
    cabinets: [
      { token: SECRETS.kwToken, cabinetHash: SECRETS.kwHash, contacts: 120, courses: 2, usersPerCourse: 8, coupons: 6, contactLists: 2, seed: 11, ...sizes.kw },
    ],
    rateLimit: { requests: 1_000_000, windowSeconds: 60 },
  })
  return {
    gc,
    kw,
    async close() {
      await gc.close()
      await kw.close()
    },
  }
}

export interface ConfigOptions {
  database: string
  dataDir: string
  sims: Sims
  budget?: { requests: number; windowSeconds: number; reserve: number }
  batchSize?: number
  jobsDir?: string
  /** Write the wrong key / token (error paths). */
  gcKey?: string
  kwToken?: string
  getcourse?: boolean
  kwiga?: boolean
  kwigaBaseUrl?: string
}

/**
 * The config file a child reads. Secrets come from the environment (`${VAR}`), as in production;
 * `configEnv` returns the matching variables.
 */
export function writeConfig(file: string, o: ConfigOptions): string {
  const lines = [
    `database: ${JSON.stringify(o.database)}`,
    `dataDir: ${JSON.stringify(o.dataDir)}`,
    `batchSize: ${o.batchSize ?? 8}`,
    'archiveExports: true',
    'shutdownSeconds: 5',
  ]
  if (o.jobsDir) lines.push(`jobsDir: ${JSON.stringify(o.jobsDir)}`)
  if (o.getcourse ?? true) {
    const b = o.budget ?? { requests: 100_000, windowSeconds: 7200, reserve: 10 }
    lines.push(
      'getcourse:',
      `  - name: ${GC_ACCOUNT}`,
      `    account: ${GC_ACCOUNT}`,
      `    baseUrl: ${o.sims.gc.urlFor(GC_ACCOUNT)}`,
      '    key: ${RELIABILITY_GC_KEY}',
      `    budget: { requests: ${b.requests}, windowSeconds: ${b.windowSeconds}, reserve: ${b.reserve} }`,
      '    poll: { firstCheckSeconds: 0.05, maxIntervalSeconds: 1, timeoutSeconds: 30 }',
    )
  }
  if (o.kwiga ?? true) {
    lines.push(
      'kwiga:',
      `  - name: ${KW_CABINET}`,
      '    token: ${RELIABILITY_KW_TOKEN}',
      '    cabinetHash: ${RELIABILITY_KW_HASH}',
      `    baseUrl: ${o.kwigaBaseUrl ?? o.sims.kw.url}`,
      '    rateLimit: { requests: 100000, windowSeconds: 60 }',
    )
  }
  writeFileSync(file, `${lines.join('\n')}\n`)
  return file
}

export function configEnv(o: { gcKey?: string; kwToken?: string } = {}): Record<string, string> {
  return { RELIABILITY_GC_KEY: o.gcKey ?? SECRETS.gcKey, RELIABILITY_KW_TOKEN: o.kwToken ?? SECRETS.kwToken, RELIABILITY_KW_HASH: SECRETS.kwHash }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `rel-${prefix}-`))
}

/**
 * A warehouse of its own for the test, with a connection of a different application name, so that
 * `pg_terminate_backend(… application_name = 'course-etl')` only hits the children.
 */
export interface TestDb {
  wh: TestWarehouse
  url: string
  /** The test's own view of the database (application_name `course-etl-test`). */
  db: Warehouse
  close(): Promise<void>
}

export async function createTestDb(): Promise<TestDb> {
  const wh = await createTestWarehouse()
  if (!wh.url) throw new Error('reliability tests need a Postgres server')
  // The fixture's own pool is named `course-etl`; close it so only children carry that name.
  await wh.close()
  const db = await openWarehouse({ database: wh.url, log: quietLog, pool: { application_name: 'course-etl-test', max: 4 } })
  return {
    wh,
    url: wh.url,
    db,
    async close() {
      await db.close().catch(() => {})
      await dropDatabase(wh.url!)
    },
  }
}

async function dropDatabase(url: string): Promise<void> {
  const u = new URL(url)
  const name = u.pathname.slice(1)
  u.pathname = '/postgres'
  const admin = new pg.Client({ connectionString: process.env.TEST_DATABASE_URL ?? u.toString() })
  await admin.connect()
  try {
    await admin.query(`drop database if exists ${name} with (force)`)
  } finally {
    await admin.end()
  }
}

// ── what the warehouse holds ──────────────────────────────────────────────────────────────────

/**
 * What legitimately differs between two complete loads of the same data at different moments:
 * when a row was written (`synced_at`, a status period opened by a load, a field title seen), when a
 * contact's products were last checked (`checked_at`),
 * and values the sources compute relative to the moment of the request — GetCourse's «давность»
 * (days since registration / last activity) and KWIGA's days left / available and "active now"
 * flags. A day count ticks at a different moment for every record, so over a few minutes of trials
 * some would. Everything else must be equal.
 */
const SUB = ['raw', 'aggregated_subscription']
const VOLATILE: Record<string, string[][]> = {
  '*': [['synced_at']],
  'kwiga.contact_product_checks': [['checked_at']],
  'getcourse.deals': [
    ['extra', 'Клиент: давность регистрации'],
    ['extra', 'Клиент: давность последней активности'],
  ],
  'kwiga.contact_products': [
    ...['count_available_days', 'count_left_days', 'is_active', 'state_id', 'state_label'].map((c) => [c]),
    ...['count_available_days', 'count_left_days', 'is_active', 'state'].flatMap((k) => [
      ['raw', k],
      [...SUB, k],
    ]),
  ],
  'kwiga.product_subscriptions': [['is_active'], ['raw', 'is_active']],
  'kwiga.offers': [['is_active'], ['raw', 'is_active']],
  // A status period starts at the source's change time where it gives one, else at the load that saw it.
  'getcourse.deal_status_history': [['seen_from'], ['seen_to']],
  'getcourse.payment_status_history': [['seen_from'], ['seen_to']],
  'kwiga.order_status_history': [['seen_from'], ['seen_to']],
  'getcourse.field_titles': [['first_seen_at'], ['last_seen_at']],
}

const literal = (s: string) => `'${s.replaceAll("'", "''")}'`

/** The row as jsonb without its volatile paths (`#-` ignores a path that is not there). */
function stableRow(table: string): string {
  const paths = [...VOLATILE['*']!, ...(VOLATILE[table] ?? [])]
  return `to_jsonb(t) ${paths.map((p) => `#- array[${p.map(literal).join(', ')}]::text[]`).join(' ')}`
}

export async function dataTables(db: Warehouse): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`
    select table_schema || '.' || table_name as name from information_schema.tables
    where table_schema in ('getcourse', 'kwiga') and table_type = 'BASE TABLE' order by 1`.execute(db.db)
  return rows.map((r) => r.name)
}

/** Per data table: row count and an md5 over its rows (as jsonb without the volatile columns), order-independent. */
export async function tableDigests(db: Warehouse): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const table of await dataTables(db)) {
    const { rows } = await sql<{ n: number; digest: string }>`
      select count(*)::int as n, md5(coalesce(string_agg(r, E'\n' order by r), '')) as digest
      from (select (${sql.raw(stableRow(table))})::text as r from ${sql.table(table)} t) x`.execute(db.db)
    out[table] = `${rows[0]!.n}:${rows[0]!.digest}`
  }
  return out
}

/** The stable rows of one table (as compared by `tableDigests`), sorted: for explaining a difference. */
export async function stableRows(db: Warehouse, table: string): Promise<string[]> {
  const { rows } = await sql<{ r: string }>`select (${sql.raw(stableRow(table))})::text as r from ${sql.table(table)} t order by 1`.execute(db.db)
  return rows.map((x) => x.r)
}

/** A few rows only in `actual` / only in `expected`. */
export function rowsDiff(actual: string[], expected: string[], max = 3): { extra: string[]; missing: string[] } {
  const a = new Set(actual)
  const e = new Set(expected)
  return { extra: actual.filter((r) => !e.has(r)).slice(0, max), missing: expected.filter((r) => !a.has(r)).slice(0, max) }
}

/** Stable rows of every data table (small datasets), to explain a digest difference. */
export async function snapshotRows(db: Warehouse): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {}
  for (const t of await dataTables(db)) out[t] = await stableRows(db, t)
  return out
}

/** Like digestDiff, with a few differing rows of each table when the reference rows are known. */
export async function explainDiff(
  db: Warehouse,
  reference: Record<string, string>,
  referenceRows?: Record<string, string[]>,
): Promise<Record<string, unknown>> {
  const diff: Record<string, unknown> = digestDiff(await tableDigests(db), reference)
  if (referenceRows) for (const t of Object.keys(diff)) diff[t] = { ...(diff[t] as object), rows: rowsDiff(await stableRows(db, t), referenceRows[t] ?? [], 2) }
  return diff
}

/** Tables whose digest differs, with both values (empty when equal). */
export function digestDiff(actual: Record<string, string>, expected: Record<string, string>): Record<string, { actual?: string; expected?: string }> {
  const diff: Record<string, { actual?: string; expected?: string }> = {}
  for (const t of new Set([...Object.keys(actual), ...Object.keys(expected)])) {
    if (actual[t] !== expected[t]) diff[t] = { actual: actual[t], expected: expected[t] }
  }
  return diff
}

/**
 * Back to an empty warehouse for the next trial, keeping the GetCourse request ledger and budget row
 * (the simulator keeps counting those requests too, so the two stay comparable).
 */
export async function resetWarehouse(db: Warehouse): Promise<void> {
  const tables = await dataTables(db)
  const etl = ['etl.runs', 'etl.stream_state', 'etl.rejects', 'etl.getcourse_exports', 'etl.getcourse_leases']
  await sql.raw(`truncate ${[...tables, ...etl].join(', ')} restart identity cascade`).execute(db.db)
}

export async function count(db: Warehouse, table: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(db.db)
  return rows[0]!.n
}

/**
 * Most ledger rows of the school inside any window of `windowSeconds` (each row opens a window). The
 * ledger is keyed by the school (the host of its URL), not by our config name: pass `schoolOf(…)`.
 */
export async function ledgerMaxInWindow(db: Warehouse, account: string, windowSeconds: number): Promise<number> {
  const { rows } = await sql<{ n: number | null }>`
    select max(n)::int as n from (
      select count(*) over (order by sent_at range between make_interval(secs => ${windowSeconds}) preceding and current row) as n
      from etl.getcourse_requests where account = ${account}) w`.execute(db.db)
  return rows[0]!.n ?? 0
}

/** The ledger key of the simulated school `account` (see `schoolKey`). */
export const schoolOf = (sim: GetcourseSim, account: string) => schoolKey({ url: sim.urlFor(account) })

export async function ledgerCount(db: Warehouse, account: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from etl.getcourse_requests where account = ${account}`.execute(db.db)
  return rows[0]!.n
}

/** Budget-counted requests the simulator received from us: every authenticated Export-API call. */
export function simCounted(gc: GetcourseSim, since = 0): number {
  return gc.requests.filter(
    (r) => r.account === GC_ACCOUNT && r.at >= since && r.status !== 0 && r.errorCode !== 901 && r.errorCode !== 904 && isApiPath(r.path),
  ).length
}

const isApiPath = (p: string) => /^\/pl\/api\/(account\/(users|deals|payments|groups(\/\d+\/users)?|exports\/[^/]+|fields)|fields)$/.test(p)

export const isStartPath = (p: string) => /^\/pl\/api\/account\/(users|deals|payments|groups\/\d+\/users)$/.test(p)

export interface ExportRow {
  export_id: string
  stream: string
  group_id: string | null
  filters: Record<string, string>
  started_at: Date
  ready_at: Date | null
  loaded_at: Date | null
  status: string
}

export async function exportRows(db: Warehouse): Promise<ExportRow[]> {
  const { rows } = await sql<ExportRow>`
    select export_id::text, stream, group_id::text, filters, started_at, ready_at, loaded_at, status from etl.getcourse_exports order by started_at`.execute(
    db.db,
  )
  return rows
}

/** The filters of a start request as our exports table stores them (query without key, group from the path). */
export function startKey(path: string, query: Record<string, string>): string {
  const group = /groups\/(\d+)\/users/.exec(path)?.[1] ?? null
  const stream = group ? 'group_members' : path.split('/').pop()!
  return JSON.stringify([stream, group, Object.entries(query).sort(([a], [b]) => a.localeCompare(b))])
}

export function exportKey(e: ExportRow): string {
  return JSON.stringify([e.stream, e.group_id, Object.entries(e.filters).sort(([a], [b]) => a.localeCompare(b))])
}

/**
 * Starts (from the simulator's log, since `since`) of a window while an export of the same window,
 * recorded in etl.getcourse_exports, was still pending (started, not yet seen ready or failed).
 */
export function startsWhilePending(gc: GetcourseSim, exports: ExportRow[], since: number): string[] {
  const problems: string[] = []
  const starts = gc.requests.filter((r) => r.account === GC_ACCOUNT && r.at >= since && isStartPath(r.path) && r.exportId !== undefined)
  for (const s of starts) {
    const key = startKey(s.path, s.query)
    for (const e of exports) {
      if (exportKey(e) !== key || String(s.exportId) === e.export_id) continue
      const from = e.started_at.getTime()
      const to = e.ready_at?.getTime() ?? e.loaded_at?.getTime() ?? Number.POSITIVE_INFINITY
      if (s.at > from && s.at < to && e.status !== 'failed')
        problems.push(
          `export ${s.exportId} started at ${new Date(s.at).toISOString()} while export ${e.export_id} of the same window (${key}) was pending since ${e.started_at.toISOString()}`,
        )
    }
  }
  return problems
}

/** Mulberry32: a small seeded PRNG so that a failing trial can be replayed (RELIABILITY_SEED). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** The tables each stream writes (bookkeeping such as kwiga.contact_product_checks left out). */
export const STREAM_TABLES: Record<string, Record<string, string[]>> = {
  getcourse: {
    fields: ['getcourse.fields'],
    groups: ['getcourse.groups'],
    users: ['getcourse.users'],
    group_members: ['getcourse.group_members'],
    deals: ['getcourse.deals'],
    payments: ['getcourse.payments'],
  },
  kwiga: {
    timezones: ['kwiga.timezones'],
    products: ['kwiga.products'],
    offers: ['kwiga.offers', 'kwiga.offer_products'],
    courses: ['kwiga.courses', 'kwiga.course_offers'],
    coupons: ['kwiga.coupons'],
    contact_lists: ['kwiga.contact_lists', 'kwiga.contact_list_members'],
    contacts: [
      'kwiga.contacts',
      'kwiga.tags',
      'kwiga.contact_tags',
      'kwiga.contact_offers',
      'kwiga.orders',
      'kwiga.order_products',
      'kwiga.payments',
      'kwiga.transactions',
      'kwiga.certificates',
    ],
    contact_products: ['kwiga.contact_products', 'kwiga.product_subscriptions'],
    course_users: ['kwiga.course_users', 'kwiga.course_nodes', 'kwiga.lesson_progress', 'kwiga.module_progress', 'kwiga.quiz_progress'],
  },
}

export interface RunRow {
  id: string
  source: string
  account: string
  stream: string
  status: string
  error_code: string | null
  message: string | null
}

export async function runRows(db: Warehouse, afterId = 0): Promise<RunRow[]> {
  const { rows } = await sql<RunRow>`
    select id::text, source, account, stream, status, error_code, message from etl.runs where id > ${afterId} order by id`.execute(db.db)
  return rows
}

export async function maxRunId(db: Warehouse): Promise<number> {
  const { rows } = await sql<{ id: string | null }>`select max(id)::text as id from etl.runs`.execute(db.db)
  return Number(rows[0]!.id ?? 0)
}

/**
 * "Succeeded ⇒ complete": every run row after `afterId` recorded as succeeded has its stream's
 * tables equal to the reference (a clean run). Returns the violations.
 */
export async function partialSuccesses(
  db: Warehouse,
  reference: Record<string, string>,
  afterId = 0,
  referenceRows?: Record<string, string[]>,
): Promise<string[]> {
  const digests = await tableDigests(db)
  const problems: string[] = []
  for (const run of await runRows(db, afterId)) {
    if (run.status !== 'succeeded') continue
    for (const table of STREAM_TABLES[run.source]?.[run.stream] ?? []) {
      if (digests[table] === reference[table]) continue
      const diff = referenceRows?.[table] ? ` ${JSON.stringify(rowsDiff(await stableRows(db, table), referenceRows[table]!))}` : ''
      problems.push(`${run.source}/${run.stream} run ${run.id} succeeded but ${table} is ${digests[table]}, expected ${reference[table]}${diff}`)
    }
  }
  return problems
}

/**
 * A child that died of an uncaught error prints a stack; ours write JSON log lines and one
 * `course-etl: [CODE: ]reason` line (pino's buffered lines may come after it).
 */
export function unexpectedStderr(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.trim() && !l.startsWith('{') && !/^course-etl: /.test(l))
}

/** The one-line reason a failed command printed. */
export function failureLine(stderr: string): string | undefined {
  return stderr.split('\n').find((l) => l.startsWith('course-etl: '))
}
