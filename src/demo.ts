#!/usr/bin/env node
/**
 * `npm run demo`: the quick start on a fresh machine. Starts the built-in GetCourse and KWIGA
 * simulators on loopback, writes a config pointing at them, syncs everything into the warehouse with
 * the same runSync as `course-etl sync`, dumps the main tables and the analytics views to CSV and
 * prints where to look. Re-runnable: the simulators serve the same data all day, so a second run is
 * an incremental sync that finds (almost) nothing new.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { sql } from 'kysely'
import { systemClock } from './clock.js'
import { loadConfig, type Config } from './config.js'
import { openWarehouse, type Warehouse } from './db/index.js'
import { migrateToLatest } from './db/migrate.js'
import { dumpTable, type DumpResult } from './dump.js'
import { EtlError, errorMessage } from './errors.js'
import { createLogger, redact, type Logger } from './log.js'
import { ProgressReporter } from './progress.js'
import { allSources } from './sources/index.js'
import { runSync, type SyncSummary } from './sync.js'
import { EXAMPLE_QUERIES, formatTable, queryRows, type Cell } from './demo/queries.js'
import { DEMO_ACCOUNTS, DEMO_LIMITS, DEMO_SIZES, startDemoSimulators, type DemoSizes } from './demo/simulators.js'
import { startDemoSimulatorsInChild } from './demo/simulators-child.js'
import { isMainThread } from 'node:worker_threads'

export { DEMO_SIZES, type DemoSizes } from './demo/simulators.js'

export interface DemoOptions {
  /** Simulator sizes; missing fields take DEMO_SIZES. */
  sizes?: { getcourse?: Partial<DemoSizes['getcourse']>; kwiga?: Partial<DemoSizes['kwiga']> }
  /** CSV dumps and the generated config. @default ./demo-out */
  outDir?: string
  /** Embedded warehouse (`<dataDir>/warehouse`) and export archive. @default ./.data */
  dataDir?: string
  /** Postgres URL of the warehouse; written to the config as `${DATABASE_URL}`. @default env DATABASE_URL, else embedded */
  database?: string
  /** An already open warehouse to use instead (tests); the demo migrates it and leaves it open. */
  warehouse?: Warehouse
  /** Where the fake keys and DATABASE_URL are read from. @default process.env */
  env?: NodeJS.ProcessEnv
  /** Output lines. @default process.stdout */
  print?: (line: string) => void
  /** @default env LOG_LEVEL, else 'warn' */
  log?: Logger
  signal?: AbortSignal
  /** Live progress line on a terminal. @default true when stderr is a TTY */
  progress?: boolean
  /** Rows shown per example query. @default 5 */
  exampleRows?: number
  /** The simulators' "now" at start (their data is generated backwards from it). @default start of the current UTC day */
  simulatorAnchor?: number
  /**
   * Where the simulators run: in this process, or in a child process (`npm run demo`: their data and
   * request handling then stay out of the process that holds the embedded warehouse). @default 'in-process'
   */
  simulators?: 'in-process' | 'child'
}

export interface DemoResult {
  configPath: string
  summary: SyncSummary
  dumps: DumpResult[]
  examples: { title: string; sql: string; columns: string[]; rows: Cell[][] }[]
  seconds: number
}

/** Tables dumped to CSV (group members and course users: see their analytics views), then Excel variants. */
const DUMP_TABLES = [
  'getcourse.users',
  'getcourse.deals',
  'getcourse.payments',
  'kwiga.contacts',
  'kwiga.orders',
  'kwiga.payments',
  'analytics.revenue_daily',
  'analytics.orders',
  'analytics.payments',
  'analytics.people',
  'analytics.course_progress',
  'analytics.group_membership',
  'analytics.sync_freshness',
  'etl.runs',
] as const
const EXCEL_TABLES = ['analytics.revenue_daily', 'analytics.orders'] as const

export function configYaml(urls: { getcourse: string; kwiga: string }, withDatabase: boolean, dataDir: string): string {
  const { getcourse: gc, kwiga: kw } = DEMO_ACCOUNTS
  const b = DEMO_LIMITS.getcourseBudget
  const p = DEMO_LIMITS.getcoursePoll
  const r = DEMO_LIMITS.kwigaRateLimit
  return `# Written by \`npm run demo\` for the built-in simulators (their ports change every run).
# The keys are fake; they come through env like real ones would, so logs redact them.
${withDatabase ? 'database: ${DATABASE_URL}\n' : ''}dataDir: ${JSON.stringify(path.resolve(dataDir))}
# The simulators can serve every export again; keeping gzip copies would only cost time here.
archiveExports: false
timezone: Europe/Moscow
getcourse:
  - name: ${gc.name}
    account: ${gc.name}
    baseUrl: ${urls.getcourse}
    key: \${${gc.keyEnv}:-${gc.key}}
    timezone: Europe/Moscow
    # Simulator limits (same numbers as the simulator enforces); real GetCourse: 100 requests / 7200 s.
    budget: { requests: ${b.requests}, windowSeconds: ${b.windowSeconds}, reserve: ${b.reserve} }
    poll: { firstCheckSeconds: ${p.firstCheckSeconds}, maxIntervalSeconds: ${p.maxIntervalSeconds}, timeoutSeconds: ${p.timeoutSeconds} }
kwiga:
  - name: ${kw.name}
    baseUrl: ${urls.kwiga}
    token: \${${kw.tokenEnv}:-${kw.token}}
    cabinetHash: \${${kw.hashEnv}:-${kw.hash}}
    # Same value as the simulator enforces; real KWIGA: 200 requests / 60 s.
    rateLimit: { requests: ${r.requests}, windowSeconds: ${r.windowSeconds} }
`
}

const plural = (n: number, word: string) => `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`

function summaryLines(summary: SyncSummary): string[] {
  const lines: string[] = []
  for (const source of ['getcourse', 'kwiga']) {
    const results = summary.results.filter((r) => r.source === source)
    if (!results.length) continue
    const sum = (k: 'read' | 'inserted' | 'updated' | 'requests') => results.reduce((n, r) => n + r.counts[k], 0)
    lines.push(
      `  ${source}: ${plural(sum('read'), 'record')} read, ${plural(sum('inserted'), 'row')} inserted, ${sum('updated').toLocaleString('en-US')} updated, ${plural(sum('requests'), 'API request')}`,
    )
    for (const r of results) {
      const c = r.counts
      const tail = r.status === 'succeeded' ? '' : ` — ${r.status}: ${r.message ?? ''}`
      lines.push(
        `    ${r.stream.padEnd(16)} ${String(c.read).padStart(6)} read ${String(c.inserted).padStart(6)} new ${String(c.updated).padStart(6)} updated ${String(c.rejected).padStart(3)} rejected${tail}`,
      )
    }
  }
  return lines
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const started = Date.now()
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`))
  const baseEnv = options.env ?? process.env
  const { getcourse: gc, kwiga: kw } = DEMO_ACCOUNTS
  const env: Record<string, string> = {
    [gc.keyEnv]: baseEnv[gc.keyEnv] || gc.key,
    [kw.tokenEnv]: baseEnv[kw.tokenEnv] || kw.token,
    [kw.hashEnv]: baseEnv[kw.hashEnv] || kw.hash,
  }
  const database = options.database ?? (options.warehouse ? undefined : baseEnv.DATABASE_URL || undefined)
  if (database) env.DATABASE_URL = database
  const outDir = path.resolve(options.outDir ?? './demo-out')
  const dataDir = options.dataDir ?? './.data'
  const sizes: DemoSizes = {
    getcourse: { ...DEMO_SIZES.getcourse, ...options.sizes?.getcourse },
    kwiga: { ...DEMO_SIZES.kwiga, ...options.sizes?.kwiga },
  }
  const log = options.log ?? createLogger({ level: baseEnv.LOG_LEVEL ?? 'warn' })

  print(
    `course-etl demo: simulated GetCourse school (${plural(sizes.getcourse.users, 'user')}, ${plural(sizes.getcourse.deals, 'deal')}, ${plural(sizes.getcourse.payments, 'payment')}, ${plural(sizes.getcourse.groups, 'group')})`,
  )
  print(
    `                 and KWIGA cabinet (${plural(sizes.kwiga.contacts, 'contact')}, ${sizes.kwiga.courses} courses × ${sizes.kwiga.usersPerCourse} students)`,
  )
  const sims =
    options.simulators === 'child'
      ? await startDemoSimulatorsInChild(sizes, env, options.simulatorAnchor)
      : await startDemoSimulators(sizes, env, options.simulatorAnchor)
  let warehouse: Warehouse | undefined
  const ownWarehouse = !options.warehouse
  try {
    await mkdir(outDir, { recursive: true })
    const configPath = path.join(outDir, 'etl.config.yaml')
    await writeFile(configPath, configYaml({ getcourse: sims.getcourseUrl, kwiga: sims.kwigaUrl }, Boolean(database), dataDir))
    const config: Config = loadConfig({ path: configPath, env: { ...baseEnv, ...env } })
    const b = DEMO_LIMITS.getcourseBudget
    const r = DEMO_LIMITS.kwigaRateLimit
    print(`simulators on ${sims.getcourseUrl} (GetCourse) and ${sims.kwigaUrl} (KWIGA); config ${path.relative(process.cwd(), configPath) || configPath}`)
    print(`limits, enforced by the simulators and declared in the config alike: GetCourse ${b.requests} requests / ${b.windowSeconds} s (real: 100 / 7200 s),`)
    print(`  KWIGA ${r.requests.toLocaleString('en-US')} requests / ${r.windowSeconds} s (real: 200 / 60 s); GetCourse exports are ready after 0.05–0.5 s`)

    warehouse = options.warehouse ?? (await openWarehouse({ database: config.database, dataDir: config.dataDir, log, optimizeWasm: true }))
    await migrateToLatest(warehouse, log)
    const first = !(await sql<{ n: number }>`select count(*)::int as n from etl.runs where account in (${gc.name}, ${kw.name})`.execute(warehouse.db)).rows[0]!
      .n
    print(`warehouse ${warehouse.label}: ${first ? 'empty, full sync' : 'seen before, incremental sync'}…`)

    const syncStarted = Date.now()
    const progress = new ProgressReporter(log, options.progress === false ? { terminal: undefined } : {}).start()
    const summary = await runSync({
      warehouse,
      config,
      log,
      clock: systemClock,
      sources: allSources,
      signal: options.signal,
      onProgress: progress.update,
    }).finally(() => progress.stop())
    print(`synced in ${((Date.now() - syncStarted) / 1000).toFixed(1)} s:`)
    for (const line of summaryLines(summary)) print(line)
    if (!summary.ok) {
      const failed = summary.results.filter((x) => x.status === 'failed' || x.status === 'aborted')
      throw new EtlError(
        failed.some((x) => x.status === 'aborted') ? 'ABORTED' : 'USAGE',
        `${failed.length} stream(s) did not finish: ${failed.map((x) => `${x.source}/${x.stream} (${x.message ?? x.status})`).join('; ')}`,
      )
    }

    const dumps: DumpResult[] = []
    for (const table of DUMP_TABLES) dumps.push(await dumpTable(warehouse, config, { table, out: path.join(outDir, `${table}.csv`) }))
    for (const table of EXCEL_TABLES) dumps.push(await dumpTable(warehouse, config, { table, out: path.join(outDir, `${table}.excel.csv`), excel: true }))
    const rel = (f: string) => path.relative(process.cwd(), f) || f
    print('')
    print(`CSV dumps in ${rel(outDir)}/ (UTF-8, ISO dates in UTC; *.excel.csv: BOM, ";", local dates, for Excel / LibreOffice):`)
    for (const d of dumps) print(`  ${rel(d.file).padEnd(52)} ${String(d.rows).padStart(7)} rows`)

    const examples: DemoResult['examples'] = []
    const limit = options.exampleRows ?? 5
    for (const q of EXAMPLE_QUERIES) {
      const { columns, rows } = await queryRows(warehouse.db, q.sql, limit)
      examples.push({ ...q, columns, rows })
      print('')
      print(`-- ${q.title} (first ${limit} rows)`)
      print(q.sql)
      print(columns.length ? formatTable(columns, rows) : '(no rows)')
    }

    print('')
    print('Where to look:')
    print(
      `  analyst views: analytics.revenue_daily, orders, payments, people, course_progress, group_membership, sync_freshness (\\d+ analytics.* for their comments)`,
    )
    if (warehouse.kind === 'embedded') {
      const where = ownWarehouse ? rel(path.resolve(config.dataDir, 'warehouse')) : warehouse.label
      print(`  the warehouse is an embedded Postgres in ${where}: open it through the CLI (one process at a time), e.g.`)
      print(`    npx course-etl -c ${rel(configPath)} status`)
      print(`    npx course-etl -c ${rel(configPath)} dump --table analytics.revenue_daily --out revenue.csv --excel`)
      print(`  or set DATABASE_URL=postgres://… and run the demo again to load a Postgres server you can query with psql`)
    } else {
      print(`  the warehouse is ${warehouse.label}: psql "$DATABASE_URL" -c 'select * from analytics.revenue_daily order by day desc limit 10'`)
      print(`    npx course-etl -c ${rel(configPath)} status     (needs DATABASE_URL set, as for this run)`)
    }
    print(`  run \`npm run demo\` again for an incremental sync; \`npx course-etl dump --list\` shows every dumpable table;`)
    print(`  \`npm run sim\` starts the simulators on their own, to try sync, status, check, plan and schedule by hand`)
    const seconds = (Date.now() - started) / 1000
    print(`demo finished in ${seconds.toFixed(1)} s`)
    return { configPath, summary, dumps, examples, seconds }
  } finally {
    await sims.close()
    if (ownWarehouse) await warehouse?.close()
  }
}

async function main(): Promise<number> {
  const controller = new AbortController()
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(130)
    process.stderr.write(`\ndemo: ${sig}: stopping after the current batch (again to quit now)\n`)
    controller.abort(new EtlError('ABORTED', `received ${sig}`))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  try {
    await runDemo({ signal: controller.signal, simulators: 'child' })
    return 0
  } catch (err) {
    const code = err instanceof EtlError ? `${err.code}: ` : ''
    process.stderr.write(`demo failed: ${code}${redact(errorMessage(err)).split('\n')[0]}\n`)
    return 1
  }
}

const isEntry = isMainThread && process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!)
if (isEntry) {
  main().then((code) => {
    process.exitCode = code
  })
}
