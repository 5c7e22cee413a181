#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command, InvalidArgumentError, Option } from 'commander'
import { systemClock } from './clock.js'
import { sourceAccounts, type Config } from './config.js'
import type { FileLoader, SyncOptions } from './contract.js'
import { day, duration, openApp, positiveInt, requireAccount, requireFileTarget, type GlobalOptions } from './commands/app.js'
import { describeFailure, syncFailure } from './commands/failure.js'
import { registerOperatorCommands } from './commands/index.js'
import { statusCommand } from './commands/status-command.js'
import { migrateToLatest } from './db/migrate.js'
import { dumpAll, dumpTable, dumpableTables, type DumpResult } from './dump.js'
import { EtlError, errorMessage } from './errors.js'
import { loadJobs } from './jobs.js'
import { ProgressReporter } from './progress.js'
import { JobRunner } from './schedule.js'
import { createLogger, stacksLogged, type Logger } from './log.js'
import { allSources } from './sources/index.js'
import { runSync, type SyncSummary } from './sync.js'
import { isMainThread } from 'node:worker_threads'

export { openApp }

/** Our package.json's version: the nearest one above this module (src/, dist/ or a bundle alike). */
function packageVersion(): string {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'course-etl' && pkg.version) return pkg.version
    } catch {
      // no package.json here: look one folder up
    }
    if (path.dirname(dir) === dir) return 'unknown'
  }
}
const VERSION = packageVersion()
const list = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)

/**
 * SIGINT/SIGTERM: first signal aborts gracefully (sync: batches commit, pending exports stay pending;
 * dump: the unfinished file is removed); second forces exit. `doing` says which in the log.
 */
export function shutdownSignal(log: Logger, doing = 'finishing the current batch'): AbortSignal {
  const controller = new AbortController()
  const onSignal = (sig: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      log.warn({ signal: sig }, 'second signal: exiting now')
      process.exit(130)
    }
    log.warn({ signal: sig }, `shutdown requested: ${doing}`)
    controller.abort(new EtlError('ABORTED', `received ${sig}`))
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return controller.signal
}

export function printSummary(summary: SyncSummary): void {
  for (const r of summary.results) {
    const c = r.counts
    const line = `${r.status.padEnd(9)} ${r.source}/${r.account}/${r.stream}: ${c.read} read, ${c.inserted} inserted, ${c.updated} updated, ${c.rejected} rejected, ${c.requests} requests`
    process.stdout.write(`${line}${r.status === 'succeeded' ? '' : ` — ${r.message ?? ''}`}\n`)
  }
}

/**
 * `load-file --stream`: the source whose loader reads that stream; when several do, the one that has
 * `account` configured.
 */
function fileLoaderFor(config: Config, stream: string, account: string): FileLoader {
  const candidates = allSources.filter((s) => s.files?.streams.includes(stream))
  const chosen = candidates.length > 1 ? candidates.filter((s) => sourceAccounts(config, s).some((a) => a.name === account)) : candidates
  if (chosen.length !== 1 || !chosen[0]!.files) throw new EtlError('USAGE', `Cannot tell which source a ${stream} file of account "${account}" belongs to`)
  return chosen[0]!.files
}

export function buildProgram(): Command {
  const titles = allSources.map((s) => s.title ?? s.name)
  const fileStreams = [...new Set(allSources.flatMap((s) => s.files?.streams ?? []))]
  const fileOptions = allSources.flatMap((s) => s.files?.options ?? [])
  const program = new Command('course-etl')
    .description(`Load ${titles.join(' and ')} data into Postgres`)
    .option('-c, --config <path>', 'config file (YAML or JSON); else $ETL_CONFIG; else ./etl.config.yaml')
    .addOption(new Option('--log-level <level>', 'log level').choices(['trace', 'debug', 'info', 'warn', 'error', 'silent']))
    .option('--debug', 'debug logs, and the stack trace of a failure')
    .version(VERSION, '-V, --version', 'print the version')
    // Commander's own errors end like ours, in one line `course-etl: USAGE: …` (main): no extra output here.
    .exitOverride()
    .configureOutput({ outputError: () => {} })

  program
    .command('migrate')
    .description('apply pending database migrations')
    .action(async (_o, cmd: Command) => {
      // The same open (and close) path as every other command; it migrates here to report what it applied.
      const { log, warehouse } = await openApp(cmd.optsWithGlobals<GlobalOptions>(), { migrate: false })
      try {
        const applied = await migrateToLatest(warehouse, log)
        process.stdout.write(applied.length ? `applied ${applied.join(', ')} on ${warehouse.label}\n` : `${warehouse.label} is up to date\n`)
      } finally {
        await warehouse.close()
      }
    })

  program
    .command('sync')
    .description('extract, normalize and load the selected streams (migrates first)')
    .addOption(new Option('--source <name>', 'only this source').choices(allSources.map((s) => s.name)))
    .option('--account <name...>', 'only these accounts / cabinets (config name)')
    .option('--streams <list>', 'only these streams, comma-separated', list)
    .option('--from <date>', 'force the window start (YYYY-MM-DD, account time zone)', day)
    .option('--to <date>', 'force the window end, inclusive', day)
    .option('--full', 're-read everything instead of the incremental window')
    .option('--no-archive', 'do not keep downloaded export files under dataDir/exports')
    .option('--concurrency <n>', 'accounts / cabinets synced at once (default: config concurrency, 32)', positiveInt)
    .action(
      async (
        o: { source?: string; account?: string[]; streams?: string[]; from?: string; to?: string; full?: boolean; archive: boolean; concurrency?: number },
        cmd: Command,
      ) => {
        const { config, log, warehouse } = await openApp(cmd.optsWithGlobals<GlobalOptions>(), { requireConfig: true, loads: true })
        try {
          if (o.from && o.to && o.from > o.to) throw new EtlError('USAGE', `--from ${o.from} is after --to ${o.to}`)
          const options: SyncOptions = {
            source: o.source,
            accounts: o.account,
            streams: o.streams,
            from: o.from,
            to: o.to,
            full: o.full,
            archive: o.archive && config.archiveExports,
          }
          if (!allSources.some((s) => sourceAccounts(config, s).length)) log.warn('no accounts configured: nothing to sync (see README, Configuration)')
          const progress = new ProgressReporter(log).start()
          const summary = await runSync(
            {
              warehouse,
              config,
              log,
              clock: systemClock,
              sources: allSources,
              signal: shutdownSignal(log),
              onProgress: progress.update,
              concurrency: o.concurrency ?? config.concurrency,
            },
            options,
          ).finally(() => progress.stop())
          printSummary(summary)
          const failure = syncFailure(summary)
          if (failure) throw failure
        } finally {
          await warehouse.close()
        }
      },
    )

  const loadFile = program
    .command('load-file')
    .description('load a saved export file (whole JSON answer or its `info`, plain or .gz) with the sync normalizer')
    .requiredOption('--account <name>', 'configured account name (its time zone reads the dates)')
    .addOption(new Option('--stream <name>', 'what the export holds').choices(fileStreams).makeOptionMandatory())
    .requiredOption('--file <path>', 'the saved export')
  // Each source's own flags (e.g. `--group-id`), checked by the source.
  for (const f of fileOptions) {
    loadFile.option(f.flags, f.description, (v: string) => {
      try {
        return f.parse ? f.parse(v) : v
      } catch (err) {
        throw new InvalidArgumentError(errorMessage(err))
      }
    })
  }
  loadFile.action(async (o: { account: string; stream: string; file: string } & Record<string, unknown>, cmd: Command) => {
    const { config, log, warehouse } = await openApp(cmd.optsWithGlobals<GlobalOptions>(), { requireConfig: true, loads: true })
    try {
      const { account, stream, file, ...options } = o
      const source = fileLoaderFor(config, stream, account).source({ account, stream, file, options })
      const progress = new ProgressReporter(log).start()
      const summary = await runSync({
        warehouse,
        config,
        log,
        clock: systemClock,
        sources: [source],
        signal: shutdownSignal(log),
        onProgress: progress.update,
      }).finally(() => progress.stop())
      printSummary(summary)
      const failure = syncFailure(summary)
      if (failure) throw failure
    } finally {
      await warehouse.close()
    }
  })

  program
    .command('status')
    .description('per account and stream: last run, last success, age, rows in the table, rows changed, rejects, last error')
    .option('--json', 'machine-readable output (numbers, not prose)')
    .option('--check', 'exit non-zero with one line per problem (stale, failed, stuck export, new rejects): for cron and health checks')
    .option('--max-age <duration>', 'with --check: a stream whose last success is older is stale (default: its job interval + 2 h, else 26h)', duration)
    .action(async (o: { json?: boolean; check?: boolean; maxAge?: number }, cmd: Command) => statusCommand(o, cmd.optsWithGlobals<GlobalOptions>()))

  program
    .command('dump')
    .description('write a warehouse table or view to CSV or xlsx (streamed; the file appears complete or not at all)')
    .option('--table <schema.table>', 'table or view to dump (see --list)')
    .option('--all', 'dump every dumpable table and view, one file each')
    .option('--out <file>', 'output file (with --table)')
    .option('--out-dir <dir>', 'output directory (with --all)')
    .option('--columns <list>', 'only these columns, in this order', list)
    .option('--since <date>', 'rows with created_at (else synced_at) on or after this day', day)
    .option('--account <name>', 'only this account / cabinet')
    .option('--excel', 'CSV for spreadsheets: UTF-8 BOM, CRLF, local dates, separator and decimal mark of --locale')
    .addOption(new Option('--locale <locale>', 'with --excel: ru = ";" and decimal commas (default), en = "," and decimal points').choices(['ru', 'en']))
    .option('--xlsx', 'a real workbook: numbers, dates and text as typed cells, frozen header, autofilter')
    .option('--gzip', 'gzip the file (adds .gz)')
    .option('--list', 'print the dumpable tables and views')
    .action(
      async (
        o: {
          table?: string
          all?: boolean
          out?: string
          outDir?: string
          columns?: string[]
          since?: string
          account?: string
          excel?: boolean
          locale?: 'ru' | 'en'
          xlsx?: boolean
          gzip?: boolean
          list?: boolean
        },
        cmd: Command,
      ) => {
        const { config, log, warehouse } = await openApp(cmd.optsWithGlobals<GlobalOptions>())
        try {
          // Refused before a temporary file exists: a directory as --out, an account no config has.
          if (o.out && !o.all) requireFileTarget(o.out)
          if (o.account) requireAccount(o.account, config, allSources, log)
          if (o.list) {
            process.stdout.write(`${(await dumpableTables(warehouse.db)).join('\n')}\n`)
            return
          }
          // Ctrl-C / SIGTERM stop the dump and remove its temporary file (the default action would leave it).
          const signal = shutdownSignal(log, 'removing the unfinished file')
          if (o.locale && !o.excel) throw new EtlError('USAGE', '--locale applies to --excel CSV (an --xlsx workbook stores numbers, not their spelling)')
          const common = { since: o.since, account: o.account, excel: o.excel, locale: o.locale, xlsx: o.xlsx, gzip: o.gzip, signal }
          let results: DumpResult[]
          if (o.all) {
            if (!o.outDir || o.table) throw new EtlError('USAGE', 'use --all with --out-dir DIR (and without --table)')
            results = await dumpAll(warehouse, config, o.outDir, common)
          } else {
            if (!o.table || !o.out) throw new EtlError('USAGE', 'use --table SCHEMA.TABLE --out FILE, or --all --out-dir DIR')
            results = [await dumpTable(warehouse, config, { ...common, table: o.table, out: o.out, columns: o.columns })]
          }
          for (const r of results) {
            const cut = r.truncated ? ` (${r.truncated} text cell(s) cut to Excel's 32,767 characters)` : ''
            process.stdout.write(`${r.table}: ${r.rows} rows → ${r.file}${cut}\n`)
          }
        } finally {
          await warehouse.close()
        }
      },
    )

  program
    .command('schedule')
    .description('long-running scheduler: fires the jobs in jobsDir (node-cron); SIGTERM/SIGINT stop it gracefully')
    .option('--jobs <dir>', 'jobs folder (default: config jobsDir, ./jobs)')
    .option('--run <job>', 'run this job once now (same locking as a scheduled run) and exit')
    .option('--http <host:port>', 'serve /metrics, /healthz and the status page (default: config server; loopback unless server.token)')
    .action(async (o: { jobs?: string; run?: string; http?: string }, cmd: Command) => {
      const { config, log, warehouse } = await openApp(cmd.optsWithGlobals<GlobalOptions>(), { requireConfig: true, loads: true })
      const jobs = loadJobs(o.jobs ?? config.jobsDir)
      const runner = new JobRunner({ warehouse, config, log, clock: systemClock, sources: allSources })
      if (o.run) {
        try {
          const job = jobs.find((j) => j.name === o.run)
          if (!job) throw new EtlError('USAGE', `No job named "${o.run}"; jobs: ${jobs.map((j) => j.name).join(', ') || 'none'}`)
          const stop = () => void runner.shutdown(config.shutdownSeconds * 1000)
          process.once('SIGINT', stop)
          process.once('SIGTERM', stop)
          const outcome = await runner.run(job)
          if (outcome.status === 'skipped') process.stdout.write(`skipped ${job.name}: ${outcome.reason}\n`)
          else {
            printSummary(outcome.summary)
            const failure = runner.signal.aborted ? null : syncFailure(outcome.summary)
            if (failure) throw new EtlError(failure.code, `job ${job.name}: ${failure.message}`)
          }
        } finally {
          await warehouse.close()
        }
        return
      }
      if (!jobs.length) log.warn({ dir: o.jobs ?? config.jobsDir }, 'no jobs found')
      // pg-boss and prom-client load only for `schedule`.
      const { startScheduler } = await import('./replicas/start.js')
      const scheduler = await startScheduler({ warehouse, config, log, clock: systemClock, sources: allSources, jobs, runner, http: o.http }).catch(
        async (err) => {
          await warehouse.close()
          throw err
        },
      )
      await new Promise<void>((resolve) => {
        const stop = async (sig: NodeJS.Signals) => {
          log.info({ signal: sig }, 'scheduler stopping: no new jobs, waiting for running ones')
          const clean = (await scheduler.stop()) && (await runner.shutdown(config.shutdownSeconds * 1000))
          if (!clean) log.warn({ seconds: config.shutdownSeconds }, 'running jobs did not finish in time; their committed batches are kept')
          await warehouse.close().catch(() => {})
          log.info('scheduler stopped')
          resolve()
        }
        process.once('SIGINT', stop)
        process.once('SIGTERM', stop)
      })
    })

  registerOperatorCommands(program)
  return program
}

export async function main(argv = process.argv): Promise<number> {
  try {
    await buildProgram().parseAsync(argv)
    return 0
  } catch (err) {
    const failure = describeFailure(err)
    if (failure.exitCode === 0) return 0
    // Stack traces belong to debug level (--debug, --log-level debug, LOG_LEVEL=debug).
    const debug = stacksLogged() || argv.includes('--debug') || process.env.LOG_LEVEL === 'debug'
    // As a JSON debug log line like every other, through the same stream so that it lands above the last line.
    if (debug && failure.stack) createLogger({ level: 'debug', destination: process.stderr }).debug({ err }, 'the failure in detail')
    process.stderr.write(`${failure.line}\n`)
    return failure.exitCode
  }
}

const isEntry = isMainThread && process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/').split('/').pop()!)
if (isEntry) {
  main().then((code) => {
    process.exitCode = code
  })
}
