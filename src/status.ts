import { sql } from 'kysely'
import { sourceAccounts, type Config } from './config.js'
import type { Db } from './db/index.js'
import type { SourceModule } from './contract.js'

export interface StreamStatus {
  source: string
  account: string
  stream: string
  lastStatus: string | null
  lastRunAt: string | null
  lastSuccessAt: string | null
  /** Seconds since the last successful run finished. */
  ageSeconds: number | null
  rowsLastSuccess: number | null
  rejects: number
  /** Rows the last run marked deleted (absent from a complete listing) and undeleted (read again). README "Deletions". */
  markedDeleted: number
  undeleted: number
  /** Full message of the last run when it failed, was deferred or aborted. */
  lastError: string | null
  /** Its error code (`HTTP_NETWORK`, `BUDGET_EXHAUSTED` …). */
  errorCode: string | null
  resumeAt: string | null
}

export interface StatusReport {
  database: string
  streams: StreamStatus[]
  /** Per-source extras (GetCourse budget, pending exports…), keyed by `source:account`. */
  accounts: Record<string, Record<string, unknown>>
}

interface RunRow {
  source: string
  account: string
  stream: string
  status: string
  started_at: Date
  finished_at: Date | null
  rows_read: string
  rows_marked_deleted: string
  rows_undeleted: string
  message: string | null
  error_code: string | null
  resume_at: Date | null
  kind: 'last' | 'success'
}

/** One entry per configured account × stream, plus any stream seen in history. */
export async function collectStatus(db: Db, config: Config, sources: readonly SourceModule[], label: string): Promise<StatusReport> {
  const { rows } = await sql<RunRow>`
    select * from (
      select distinct on (source, account, stream) source, account, stream, status, started_at, finished_at, rows_read, rows_marked_deleted, rows_undeleted, message, error_code, resume_at, 'last' as kind
      from etl.runs order by source, account, stream, id desc) l
    union all
    select * from (
      select distinct on (source, account, stream) source, account, stream, status, started_at, finished_at, rows_read, rows_marked_deleted, rows_undeleted, message, error_code, resume_at, 'success' as kind
      from etl.runs where status = 'succeeded' order by source, account, stream, id desc) s`.execute(db)
  const { rows: rejectRows } = await sql<{ source: string; account: string; stream: string; n: number }>`
    select source, account, stream, count(*)::int as n from etl.rejects group by 1, 2, 3`.execute(db)

  const key = (s: string, a: string, t: string) => `${s}\u0000${a}\u0000${t}`
  const entries = new Map<string, StreamStatus>()
  const ensure = (source: string, account: string, stream: string) => {
    const k = key(source, account, stream)
    let e = entries.get(k)
    if (!e) {
      e = {
        source,
        account,
        stream,
        lastStatus: null,
        lastRunAt: null,
        lastSuccessAt: null,
        ageSeconds: null,
        rowsLastSuccess: null,
        rejects: 0,
        markedDeleted: 0,
        undeleted: 0,
        lastError: null,
        errorCode: null,
        resumeAt: null,
      }
      entries.set(k, e)
    }
    return e
  }
  for (const m of sources) {
    for (const a of sourceAccounts(config, m)) for (const s of m.streamNames) ensure(m.name, a.name, s)
  }
  const now = Date.now()
  // Only the sources asked about: a `load-file` run (source getcourse-file) is reported by that command
  // and never turns the account's sync streams red here.
  const known = new Set(sources.map((m) => m.name))
  for (const r of rows) {
    if (!known.has(r.source)) continue
    const e = ensure(r.source, r.account, r.stream)
    if (r.kind === 'last') {
      e.lastStatus = r.status
      e.lastRunAt = new Date(r.started_at).toISOString()
      e.lastError = r.status === 'failed' || r.status === 'deferred' || r.status === 'aborted' ? r.message : null
      e.errorCode = e.lastError === null ? null : r.error_code
      e.resumeAt = r.resume_at ? new Date(r.resume_at).toISOString() : null
      e.markedDeleted = Number(r.rows_marked_deleted)
      e.undeleted = Number(r.rows_undeleted)
    } else if (r.finished_at) {
      e.lastSuccessAt = new Date(r.finished_at).toISOString()
      e.ageSeconds = Math.round((now - new Date(r.finished_at).getTime()) / 1000)
      e.rowsLastSuccess = Number(r.rows_read)
    }
  }
  for (const r of rejectRows) if (known.has(r.source)) ensure(r.source, r.account, r.stream).rejects = r.n
  const streams = [...entries.values()].sort((a, b) => a.source.localeCompare(b.source) || a.account.localeCompare(b.account))
  const accounts: StatusReport['accounts'] = {}
  for (const m of sources) {
    if (!m.accountStatus) continue
    for (const [account, facts] of Object.entries(await m.accountStatus(db, config, now))) accounts[`${m.name}:${account}`] = facts
  }
  return { database: label, streams, accounts }
}

export function formatAge(seconds: number | null): string {
  if (seconds === null) return 'never'
  if (seconds < 120) return `${seconds}s`
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`
  if (seconds < 172800) return `${Math.round(seconds / 3600)}h`
  return `${Math.round(seconds / 86400)}d`
}

/** Plain-text table for terminals. */
export function formatStatus(report: StatusReport): string {
  const lines = [`warehouse: ${report.database}`]
  if (!report.streams.length) return [...lines, 'no accounts configured and no runs recorded yet'].join('\n')
  // `in table`: rows present now (when the caller counted them, see commands/status-command.ts); `changed`: by the last run.
  const header = ['source', 'account', 'stream', 'last run', 'age', 'in table', 'changed', 'read', 'rejects', 'deleted', 'note']
  const num = (n: number | null | undefined) => (n === null || n === undefined ? '-' : String(n))
  const table = report.streams.map((s: StreamStatus & { rowsInTable?: number | null; rowsChanged?: number | null }) => [
    s.source,
    s.account,
    s.stream,
    s.lastStatus ?? '-',
    formatAge(s.ageSeconds),
    num(s.rowsInTable),
    num(s.rowsChanged),
    num(s.rowsLastSuccess),
    String(s.rejects),
    // Last run: rows marked deleted / undeleted.
    s.markedDeleted || s.undeleted ? `+${s.markedDeleted}/-${s.undeleted}` : '-',
    // The whole reason, on one line (it is the last column, so nothing after it is pushed out of view).
    s.lastError === null ? '' : `${s.errorCode ? `${s.errorCode}: ` : ''}${s.lastError.replace(/\s+/g, ' ')}`,
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((r) => r[i]!.length)))
  const fmt = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd()
  lines.push(fmt(header), ...table.map(fmt))
  for (const [k, v] of Object.entries(report.accounts)) {
    lines.push(
      `${k}: ${Object.entries(v)
        .map(([a, b]) => `${a}=${formatFact(b)}`)
        .join(', ')}`,
    )
  }
  return lines.join('\n')
}

/** One account fact for the table: a budget as `used/limit in N min`, lists of objects compactly, numbers as they are. */
export function formatFact(value: unknown): string {
  if (value === null || value === undefined) return '-'
  if (Array.isArray(value)) return `[${value.map(formatFact).join('; ')}]`
  if (typeof value !== 'object') return String(value)
  const v = value as Record<string, unknown>
  if (typeof v.used === 'number' && typeof v.limit === 'number' && typeof v.windowSeconds === 'number')
    return `${v.used}/${v.limit} in ${v.windowSeconds / 60} min${v.freesAt ? ` (frees ${v.freesAt})` : ''}`
  return Object.entries(v)
    .map(([k, x]) => `${k} ${formatFact(x)}`)
    .join(', ')
}
