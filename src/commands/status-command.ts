import type { Config } from '../config.js'
import type { Db } from '../db/index.js'
import { countAccountRows, lastRunCounts, rejectsSinceMark, saveMark, streamKey } from '../db/history.js'
import { recentSchemaChanges } from '../db/schema-changes.js'
import { unknownStatuses, type UnknownStatus } from '../db/vocabulary.js'
import { replicaStatus } from '../replicas/status.js'
import { EtlError } from '../errors.js'
import { allSources } from '../sources/index.js'
import type { SourceModule } from '../sources/types.js'
import { collectStatus, formatAge, formatStatus, type StatusReport } from '../status.js'
import { withApp, type GlobalOptions } from './app.js'
import { maxAgeFromJobs } from './max-age.js'

/** The mark `status --check` keeps in etl.check_marks between two checks. */
const CHECK_MARK = 'status --check'

/**
 * `status` with the numbers of issue 16: rows in each stream's table now, what the last run changed,
 * and the schema changes seen; `--check` adds the problems and exits non-zero when there are any.
 */
export async function statusCommand(o: { json?: boolean; check?: boolean; maxAge?: number }, global: GlobalOptions): Promise<void> {
  await withApp(global, {}, async ({ config, warehouse }) => {
    const report = await collectStatus(warehouse.db, config, allSources, warehouse.label)
    const full = await addNumbers(warehouse.db, report, allSources)
    const problems = o.check ? await checkProblems(warehouse.db, config, full, allSources, o.maxAge) : null
    // The scheduler replicas sharing this database, and what each is doing (README "Replicas").
    const replicas = await replicaStatus(warehouse, config)
    if (o.json) process.stdout.write(`${JSON.stringify({ ...full, ...replicas.json, ...(problems ? { problems } : {}) }, null, 2)}\n`)
    else {
      const lines = [formatStatus(full) + replicas.text]
      if (full.schemaChanges.length) {
        lines.push('new source fields (first seen, newest first):')
        for (const c of full.schemaChanges.slice(0, 20)) lines.push(`  ${c.firstSeenAt.slice(0, 16)}  ${c.source}/${c.account} ${c.scope}: ${c.name}`)
      }
      if (full.unknownStatuses.length) {
        lines.push('status values the vocabulary does not know (kept raw, counted as unclassified revenue):')
        for (const u of full.unknownStatuses.slice(0, 20))
          lines.push(`  ${u.source}/${u.account} ${u.table}.${u.column} ${JSON.stringify(u.value)}: ${u.rows} row${u.rows === 1 ? '' : 's'}`)
      }
      if (problems) lines.push(...(problems.length ? problems.map((p) => `PROBLEM ${p}`) : ['check: no problems']))
      process.stdout.write(`${lines.join('\n')}\n`)
    }
    if (problems?.length) throw new EtlError('CHECK_FAILED', `${problems.length} problem(s): ${problems[0]}${problems.length > 1 ? ' …' : ''}`)
  })
}

export type FullStatus = StatusReport & {
  streams: (StatusReport['streams'][number] & {
    rowsInTable: number | null
    rowsChanged: number | null
    lastRun: {
      read: number
      inserted: number
      updated: number
      unchanged: number
      rejected: number
      markedDeleted: number
      undeleted: number
      requests: number
    } | null
  })[]
  schemaChanges: Awaited<ReturnType<typeof recentSchemaChanges>>
  /** Status values stored raw because the vocabulary does not know them (README "Status vocabulary"). */
  unknownStatuses: UnknownStatus[]
}

/** Rows in the stream's table now (present upstream), the last run's counts, new source fields. */
export async function addNumbers(db: Db, report: StatusReport, sources: readonly SourceModule[]): Promise<FullStatus> {
  const last = await lastRunCounts(db)
  const facts = new Map(sources.map((m) => [m.name, m.operator]))
  const streams: FullStatus['streams'] = []
  for (const s of report.streams) {
    const table = facts.get(s.source)?.streamTable(s.stream)
    const rowsInTable = table ? await countAccountRows(db, table.table, table.accountColumn, s.account) : null
    const run = last.get(streamKey(s.source, s.account, s.stream))
    const lastRun = run
      ? {
          read: run.read,
          inserted: run.inserted,
          updated: run.updated,
          unchanged: run.unchanged,
          rejected: run.rejected,
          markedDeleted: run.markedDeleted,
          undeleted: run.undeleted,
          requests: run.requests,
        }
      : null
    const rowsChanged = run ? run.inserted + run.updated + run.markedDeleted + run.undeleted : null
    streams.push({ ...s, rowsInTable, rowsChanged, lastRun })
  }
  const known = new Set(sources.map((m) => m.name))
  const schemaChanges = (await recentSchemaChanges(db)).filter((c) => known.has(c.source))
  const unknown = (await unknownStatuses(db)).filter((u) => known.has(u.source))
  return { ...report, streams, schemaChanges, unknownStatuses: unknown }
}

/**
 * One line per problem: a stream whose last success is older than its max age (or that never
 * succeeded), whose last run failed, a source's own problems (a stuck export), rejects that arrived
 * since the previous check. The check moves its reject mark forward.
 */
export async function checkProblems(db: Db, config: Config, report: FullStatus, sources: readonly SourceModule[], maxAge?: number): Promise<string[]> {
  const problems: string[] = []
  const ageLimit = maxAge === undefined ? maxAgeFromJobs(config) : () => maxAge
  for (const s of report.streams) {
    const name = `${s.source}/${s.account}/${s.stream}`
    const limit = ageLimit(s.source, s.account, s.stream)
    if (s.lastStatus === 'failed' || s.lastStatus === 'aborted')
      problems.push(`${name}: last run ${s.lastStatus}${s.errorCode ? ` (${s.errorCode})` : ''}: ${(s.lastError ?? '').replace(/\s+/g, ' ')}`)
    if (s.ageSeconds === null) problems.push(`${name}: no successful run yet`)
    else if (s.ageSeconds > limit) problems.push(`${name}: last success ${formatAge(s.ageSeconds)} ago, older than ${formatAge(limit)} (--max-age)`)
  }
  for (const m of sources) if (m.operator?.problems) problems.push(...(await m.operator.problems(db, config, Date.now())))
  const rejects = await rejectsSinceMark(db, CHECK_MARK)
  for (const g of rejects.grew) problems.push(`${g.source}/${g.account}/${g.stream}: ${g.n} new reject(s) since the last check (see \`course-etl rejects\`)`)
  await saveMark(db, CHECK_MARK, rejects.top)
  return problems
}
