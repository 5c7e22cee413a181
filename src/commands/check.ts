import type { Command } from 'commander'
import { sql } from 'kysely'
import { systemClock } from '../clock.js'
import type { Warehouse } from '../db/index.js'
import { listMigrations } from '../db/migrate.js'
import { isDatabaseUnavailable } from '../db/unavailable.js'
import { EtlError, errorMessage } from '../errors.js'
import type { Logger } from '../log.js'
import { allSources } from '../sources/index.js'
import { formatFact } from '../status.js'
import { withApp, type GlobalOptions } from './app.js'

interface Line {
  ok: boolean
  what: string
  detail: string
}

/**
 * `check` (Airbyte's `check`): the database is reachable and migrated, every credential is accepted,
 * and the budget left per account. Each credential check says what it cost; non-zero on any failure.
 */
export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description('database reachable and migrated, every GetCourse key and KWIGA token accepted (1 request each), budget left per account')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }, cmd: Command) =>
      withApp(cmd.optsWithGlobals<GlobalOptions>(), { migrate: false, requireConfig: true }, async ({ config, log, warehouse }) => {
        const lines: Line[] = [{ ok: true, what: 'config', detail: config.path ?? '(none)' }]
        const dbOk = await checkDatabase(warehouse, lines)
        const signal = AbortSignal.timeout(5 * 60_000)
        for (const m of allSources) {
          if (!m.operator?.checkAccess) continue
          let checks: Awaited<ReturnType<NonNullable<typeof m.operator.checkAccess>>>
          try {
            checks = await m.operator.checkAccess(warehouse.db, config, { clock: systemClock, log: quiet(log), signal })
          } catch (err) {
            // GetCourse books every request in the warehouse first: without the database nothing is sent.
            lines.push({ ok: false, what: m.name, detail: `not checked: ${dbOk ? errorMessage(err) : 'the database is not reachable or not migrated'}` })
            continue
          }
          for (const c of checks)
            lines.push({ ok: c.ok, what: `${m.name}/${c.account}`, detail: `${c.detail} — ${c.what}, ${c.requests} request${c.requests === 1 ? '' : 's'}` })
        }
        if (dbOk)
          for (const m of allSources) {
            if (!m.accountStatus) continue
            for (const [account, facts] of Object.entries(await m.accountStatus(warehouse.db, config, Date.now())))
              if (facts.budget !== undefined) lines.push({ ok: true, what: `${m.name}/${account} budget`, detail: budgetText(facts.budget) })
          }
        const failed = lines.filter((l) => !l.ok)
        if (o.json) process.stdout.write(`${JSON.stringify({ ok: !failed.length, checks: lines }, null, 2)}\n`)
        else for (const l of lines) process.stdout.write(`${l.ok ? 'ok  ' : 'FAIL'}  ${l.what}: ${l.detail}\n`)
        if (failed.length) throw new EtlError('CHECK_FAILED', `${failed.length} check(s) failed: ${failed.map((l) => `${l.what}: ${l.detail}`).join('; ')}`)
      }),
    )
}

/** True when the database is reachable and fully migrated (the budget ledger can then be read). */
async function checkDatabase(warehouse: Warehouse, lines: Line[]): Promise<boolean> {
  try {
    await sql`select 1`.execute(warehouse.db)
  } catch (err) {
    lines.push({
      ok: false,
      what: 'database',
      detail: `${isDatabaseUnavailable(err) ? 'DB_UNAVAILABLE' : 'UNEXPECTED'}: cannot reach ${warehouse.label}: ${errorMessage(err)}`,
    })
    return false
  }
  const wanted = listMigrations()
  let applied: number[] = []
  try {
    const { rows } = await sql<{ id: number }>`select id from etl.schema_migrations`.execute(warehouse.db)
    applied = rows.map((r) => Number(r.id))
  } catch {
    applied = [] // no bookkeeping table yet: nothing migrated
  }
  const pending = wanted.filter((m) => !applied.includes(m.id))
  lines.push({ ok: true, what: 'database', detail: `reachable (${warehouse.label}), 0 requests` })
  lines.push(
    pending.length
      ? { ok: false, what: 'migrations', detail: `${pending.length} pending: ${pending.map((m) => m.name).join(', ')} (run \`course-etl migrate\`)` }
      : { ok: true, what: 'migrations', detail: `all ${wanted.length} applied` },
  )
  return pending.length === 0
}

function budgetText(budget: unknown): string {
  const b = budget as { used?: number; remaining?: number; limit?: number; windowSeconds?: number; freesAt?: string | null }
  if (typeof b?.remaining !== 'number') return formatFact(budget)
  return `${b.remaining} of ${b.limit} requests left in the ${Number(b.windowSeconds) / 60} min window (${b.used} used)${b.freesAt ? `, frees at ${b.freesAt}` : ''}`
}

/** Retries are reported by the check's own line; their warnings would only repeat it. */
const quiet = (log: Logger) => log.child({}, { level: log.level === 'debug' || log.level === 'trace' ? log.level : 'error' })
