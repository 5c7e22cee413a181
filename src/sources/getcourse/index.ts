import { EtlError } from '../../errors.js'
import type { SourceModule, Stream } from '../../contract.js'
import { getcourseAccountSchema, type GetcourseAccountConfig, type GetcourseConfig } from './config.js'
import { dictionaryStream } from './dictionary-streams.js'
import { exportStream, type ExportStreamOptions } from './export-stream.js'
import { FULL_START } from './windows.js'

export { budgetStatus, type BudgetStatus } from './ledger.js'
export { averageRequestsPerExport, openExports } from './exports.js'
export { loadFileSource } from './load-file.js'
import { getcourseFiles } from './load-file.js'
import { getcourseOperator } from './operator.js'
import { getcourseStatus } from './status.js'

/** Streams of one account, in the order they run: groups before their members. */
export const GETCOURSE_STREAMS = ['fields', 'groups', 'users', 'group_members', 'deals', 'payments'] as const
export type GetcourseStreamName = (typeof GETCOURSE_STREAMS)[number]

export interface GetcourseSourceOptions {
  /** A request that would break the budget waits this long at most, else the stream is deferred. @default 300_000 */
  budgetWaitMs?: number
  /** How long to wait for the account's export slot before deferring. @default min(15 min, poll.timeoutSeconds) */
  busyWaitMs?: number
  /** First day of a full export. @default '2010-01-01' */
  fullStart?: string
}

export const BUDGET_WAIT_MS = 5 * 60_000
const BUSY_WAIT_MS = 15 * 60_000

export function createGetcourseSource(options: GetcourseSourceOptions = {}): SourceModule<GetcourseAccountConfig, GetcourseConfig> {
  return {
    name: 'getcourse',
    title: 'GetCourse',
    streamNames: GETCOURSE_STREAMS,
    accountSchema: getcourseAccountSchema,
    secrets: (account) => [account.key],
    // Export dates are the school's wall clock: dumps show them in the account's zone.
    timeZone: (account) => account.timezone,
    accountStatus: getcourseStatus,
    files: getcourseFiles,
    operator: getcourseOperator,
    streams(config, sync) {
      const unknown = (sync.streams ?? []).filter((s) => !(GETCOURSE_STREAMS as readonly string[]).includes(s))
      // Without --source the names may belong to another source; only complain when GetCourse was asked for.
      if (unknown.length && sync.source === 'getcourse')
        throw new EtlError('USAGE', `Unknown GetCourse stream(s) ${unknown.join(', ')}; expected: ${GETCOURSE_STREAMS.join(', ')}`)
      const wanted = GETCOURSE_STREAMS.filter((s) => !sync.streams?.length || sync.streams.includes(s))
      const accounts = config.getcourse.filter((a) => !sync.accounts?.length || sync.accounts.includes(a.name))
      const budgetWaitMs = options.budgetWaitMs ?? BUDGET_WAIT_MS
      return accounts.flatMap((account) => {
        const exportOptions: ExportStreamOptions = {
          budgetWaitMs,
          busyWaitMs: options.busyWaitMs ?? Math.min(BUSY_WAIT_MS, account.poll.timeoutSeconds * 1000),
          fullStart: options.fullStart ?? FULL_START,
        }
        return wanted.map(
          (name): Stream<any> =>
            name === 'fields' || name === 'groups' ? dictionaryStream(account, name, budgetWaitMs) : exportStream(account, name, exportOptions),
        )
      })
    },
  }
}

/** The GetCourse source with default waits. */
export const getcourseSource = createGetcourseSource()
