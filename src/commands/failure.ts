import { CommanderError } from 'commander'
import { isDatabaseUnavailable } from '../db/unavailable.js'
import { EtlError, errorMessage, type ErrorCode } from '../errors.js'
import { redact } from '../log.js'
import type { StreamResult, SyncSummary } from '../sync.js'

/** Commander's own outcomes that are not failures (help, version). */
const SUCCESS = new Set(['commander.helpDisplayed', 'commander.version', 'commander.help'])

export interface Failure {
  exitCode: number
  /** The last line: `course-etl: CODE: reason`. */
  line: string
  /** Written above it at debug level. */
  stack?: string
}

/** The one line (and exit code) every failure ends with, whoever raised it. */
export function describeFailure(err: unknown): Failure {
  if (err instanceof CommanderError) {
    if (SUCCESS.has(err.code) && err.exitCode === 0) return { exitCode: 0, line: '' }
    const reason = err.code === 'commander.help' ? 'no command given (see the list above)' : err.message.replace(/^error:\s*/i, '')
    return { exitCode: 1, line: `course-etl: USAGE: ${oneLine(reason)}` }
  }
  const code: ErrorCode = err instanceof EtlError ? err.code : isDatabaseUnavailable(err) ? 'DB_UNAVAILABLE' : 'UNEXPECTED'
  const stack = err instanceof Error && err.stack ? redact(err.stack) : undefined
  return { exitCode: 1, line: `course-etl: ${code}: ${oneLine(redact(errorMessage(err)))}`, stack }
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim()

/** Codes of ours a stream result may carry; anything else (a driver's `ECONNREFUSED`, a SQLSTATE) is mapped. */
const OUR_CODES = new Set<string>([
  'CONFIG_INVALID',
  'MIGRATION_FAILED',
  'HTTP_STATUS',
  'HTTP_NETWORK',
  'HTTP_TIMEOUT',
  'HTTP_REDIRECT',
  'RESPONSE_INVALID',
  'AUTH_FAILED',
  'BUDGET_EXHAUSTED',
  'EXPORT_BUSY',
  'EXPORT_FAILED',
  'EXPORT_TIMEOUT',
  'RATE_LIMITED',
  'NORMALIZE_INVALID',
  'DUMP_INVALID',
  'ABORTED',
  'USAGE',
  'DB_UNAVAILABLE',
  'UNEXPECTED',
])

function codeOf(r: StreamResult): ErrorCode {
  const c = r.errorCode ?? 'UNEXPECTED'
  if (OUR_CODES.has(c)) return c as ErrorCode
  return isDatabaseUnavailable({ code: c }) ? 'DB_UNAVAILABLE' : 'UNEXPECTED'
}

/**
 * The error a sync (or load-file, or a scheduled job) ends with when streams failed: the real code
 * of the first failed stream (a network failure is HTTP_NETWORK, not a usage error), its full reason,
 * and how many others failed with which codes.
 */
export function syncFailure(summary: SyncSummary): EtlError | null {
  if (summary.ok) return null
  const failed = summary.results.filter((r) => r.status === 'failed' || r.status === 'aborted')
  const first = failed[0]
  if (!first) return null
  // A failure that only skipped a stream after its upstream failed says less than the upstream's own.
  const primary = failed.find((r) => !r.message?.startsWith('skipped:')) ?? first
  const code = primary.status === 'aborted' ? 'ABORTED' : codeOf(primary)
  const name = (r: StreamResult) => `${r.source}/${r.account}/${r.stream}`
  const others = failed.filter((r) => r !== primary)
  const tail = others.length ? ` (and ${others.length} more stream(s) did not finish: ${others.map((r) => `${name(r)} ${codeOf(r)}`).join(', ')})` : ''
  return new EtlError(code, `${name(primary)}: ${primary.message ?? primary.status}${tail}`)
}
