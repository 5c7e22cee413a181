import type { Command } from 'commander'
import { systemClock } from '../clock.js'
import { listRejects, listRuns, listStates, resetState, type RunRecord } from '../db/history.js'
import { EtlError } from '../errors.js'
import { allSources } from '../sources/index.js'
import { day, positiveInt, requireAccount, withApp, type GlobalOptions } from './app.js'
import { table } from './table.js'

/** `runs`, `rejects`, `state show|reset`: run history, quarantined rows and stream cursors from the CLI. */
export function registerHistoryCommands(program: Command): void {
  program
    .command('runs')
    .description('run history, newest first: status, rows read / inserted / updated, rejects, requests, error')
    .option('--account <name>', 'only this account / cabinet')
    .option('--stream <name>', 'only this stream')
    .option('--source <name>', 'only this source')
    .option('--limit <n>', 'at most this many runs', positiveInt, 20)
    .option('--json', 'machine-readable output')
    .action(async (o: { account?: string; stream?: string; source?: string; limit: number; json?: boolean }, cmd: Command) =>
      withApp(cmd.optsWithGlobals<GlobalOptions>(), {}, async ({ warehouse }) => {
        const runs = await listRuns(warehouse.db, o)
        if (o.json) return void process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`)
        if (!runs.length) return void process.stdout.write('no runs recorded\n')
        process.stdout.write(
          `${table(
            ['id', 'started', 'source', 'account', 'stream', 'status', 'secs', 'read', 'ins', 'upd', 'rej', 'req', 'error'],
            runs.map((r) => [
              r.id,
              r.startedAt.slice(0, 19).replace('T', ' '),
              r.source,
              r.account,
              r.stream,
              r.status,
              r.seconds === null ? '-' : String(r.seconds),
              String(r.read),
              String(r.inserted),
              String(r.updated),
              String(r.rejected),
              String(r.requests),
              errorText(r),
            ]),
          )}\n`,
        )
      }),
    )

  program
    .command('rejects')
    .description('quarantined input records (etl.rejects), newest first: stream, key, reason')
    .option('--since <date>', 'rejected on or after this day (YYYY-MM-DD)', day)
    .option('--account <name>', 'only this account / cabinet')
    .option('--stream <name>', 'only this stream')
    .option('--limit <n>', 'at most this many', positiveInt, 50)
    .option('--json', 'machine-readable output (with the run id)')
    .action(async (o: { since?: string; account?: string; stream?: string; limit: number; json?: boolean }, cmd: Command) =>
      withApp(cmd.optsWithGlobals<GlobalOptions>(), {}, async ({ warehouse }) => {
        const rejects = await listRejects(warehouse.db, o)
        if (o.json) return void process.stdout.write(`${JSON.stringify(rejects, null, 2)}\n`)
        if (!rejects.length) return void process.stdout.write(`no rejects${o.since ? ` since ${o.since}` : ''}\n`)
        process.stdout.write(
          `${table(
            ['id', 'at', 'source', 'account', 'stream', 'key', 'reason'],
            rejects.map((r) => [
              r.id,
              r.createdAt.slice(0, 19).replace('T', ' '),
              r.source,
              r.account,
              r.stream,
              r.recordKey ?? '-',
              r.reason.replace(/\s+/g, ' '),
            ]),
          )}\n`,
        )
      }),
    )

  const state = program.command('state').description('stream cursors (etl.stream_state): show them, or reset one so its next run reads it completely')
  state
    .command('show')
    .description('saved state of every stream (or of one account / stream)')
    .option('--account <name>', 'only this account / cabinet')
    .option('--stream <name>', 'only this stream')
    .action(async (o: { account?: string; stream?: string }, cmd: Command) =>
      withApp(cmd.optsWithGlobals<GlobalOptions>(), {}, async ({ warehouse }) => {
        const states = await listStates(warehouse.db, o)
        process.stdout.write(`${JSON.stringify(states, null, 2)}\n`)
      }),
    )
  state
    .command('reset')
    .description("forget a stream's cursor: its next run reads it completely, as on its first run")
    .requiredOption('--account <name>', 'account / cabinet (config name)')
    .requiredOption('--stream <name>', 'stream')
    .option('--source <name>', 'source, when both have the account and stream')
    .action(async (o: { account: string; stream: string; source?: string }, cmd: Command) =>
      withApp(cmd.optsWithGlobals<GlobalOptions>(), {}, async ({ config, log, warehouse }) => {
        requireAccount(o.account, config, allSources, log)
        const candidates = allSources.filter(
          (m) =>
            (!o.source || m.name === o.source) &&
            m.streamNames.includes(o.stream) &&
            m.streams(config, { accounts: [o.account], streams: [o.stream] }, { clock: systemClock, log }).length > 0,
        )
        if (!candidates.length) throw new EtlError('USAGE', `No stream "${o.stream}" for account "${o.account}"${o.source ? ` in source ${o.source}` : ''}`)
        if (candidates.length > 1)
          throw new EtlError('USAGE', `Both ${candidates.map((m) => m.name).join(' and ')} have ${o.account}/${o.stream}: add --source`)
        const key = { source: candidates[0]!.name, account: o.account, stream: o.stream }
        const had = await resetState(warehouse.db, key)
        process.stdout.write(`${key.source}/${key.account}/${key.stream}: ${had ? 'state reset' : 'had no saved state'}; its next run reads it completely\n`)
      }),
    )
}

const errorText = (r: RunRecord) =>
  r.errorCode || (r.status !== 'succeeded' && r.message) ? `${r.errorCode ? `${r.errorCode}: ` : ''}${(r.message ?? '').replace(/\s+/g, ' ')}` : ''
