import { Option, type Command } from 'commander'
import { systemClock } from '../clock.js'
import { EtlError } from '../errors.js'
import type { AccountPlan } from '../sources/operator.js'
import { allSources } from '../sources/index.js'
import { day, withApp, type GlobalOptions } from './app.js'
import { table } from './table.js'

const list = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)

/** `plan`: what a sync or backfill would do per account, without sending a request. */
export function registerPlanCommand(program: Command): void {
  program
    .command('plan')
    .description('what a sync or backfill would do per account: exports, expected requests, budget windows, expected finish; spends nothing')
    .addOption(new Option('--source <name>', 'only this source').choices(allSources.map((s) => s.name)))
    .option('--account <name...>', 'only these accounts / cabinets')
    .option('--streams <list>', 'only these streams, comma-separated', list)
    .option('--from <date>', 'a forced window from this day (YYYY-MM-DD, account time zone)', day)
    .option('--to <date>', 'a forced window to this day, inclusive', day)
    .option('--full', 'a full re-read (reconciliation)')
    .option('--json', 'machine-readable output')
    .action(async (o: { source?: string; account?: string[]; streams?: string[]; from?: string; to?: string; full?: boolean; json?: boolean }, cmd: Command) =>
      withApp(cmd.optsWithGlobals<GlobalOptions>(), { requireConfig: true }, async ({ config, log, warehouse }) => {
        if (o.from && o.to && o.from > o.to) throw new EtlError('USAGE', `--from ${o.from} is after --to ${o.to}`)
        const modules = allSources.filter((m) => !o.source || m.name === o.source)
        const unknown = (o.streams ?? []).filter((s) => !modules.some((m) => m.streamNames.includes(s)))
        if (unknown.length) throw new EtlError('USAGE', `Unknown stream(s) ${unknown.join(', ')}`)
        const options = { source: o.source, accounts: o.account, streams: o.streams, from: o.from, to: o.to, full: o.full }
        const known = new Set(modules.flatMap((m) => m.streams(config, {}, { clock: systemClock, log }).map((s) => s.account)))
        const missing = (o.account ?? []).filter((a) => !known.has(a))
        if (missing.length) throw new EtlError('USAGE', `No configured account named ${missing.map((a) => `"${a}"`).join(', ')}`)
        const plans: { source: string; plan: AccountPlan }[] = []
        const now = Date.now()
        for (const m of modules)
          if (m.operator?.plan) for (const p of await m.operator.plan(warehouse.db, config, options, now)) plans.push({ source: m.name, plan: p })
        if (o.json)
          return void process.stdout.write(
            `${JSON.stringify(
              plans.map((p) => ({ source: p.source, ...p.plan })),
              null,
              2,
            )}\n`,
          )
        if (!plans.length) return void process.stdout.write('no accounts configured: nothing to plan\n')
        for (const { source, plan } of plans) process.stdout.write(`${formatPlan(source, plan)}\n\n`)
        process.stdout.write('nothing was sent: plan spends no request\n')
      }),
    )
}

const span = (s: number) => (s % 3600 === 0 ? `${s / 3600} h` : s % 60 === 0 ? `${s / 60} min` : `${s} s`)
const n = (v: number | null) => (v === null ? '?' : String(v))

export function formatPlan(source: string, p: AccountPlan): string {
  const head = [
    `${source}/${p.account}: ${p.exports === null ? '' : `${p.exports} export(s), `}${p.requests === null ? 'requests unknown' : `~${p.requests} request(s)`}`,
    p.budgetWindows === null ? '' : `, ${p.budgetWindows} budget window(s) of ${span(Number(p.windowSeconds))}`,
    p.expectedFinish ? `, expected to finish by ${p.expectedFinish.slice(0, 16).replace('T', ' ')} UTC` : '',
  ].join('')
  const rows = p.streams.map((s) => [`  ${s.stream}`, n(s.exports), n(s.requests), s.note ?? ''])
  return [head, table(['  stream', 'exports', 'requests', 'what'], rows), ...p.notes.map((x) => `  note: ${x}`)].join('\n')
}
