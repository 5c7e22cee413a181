import type { GetcourseAccountConfig } from './config.js'
import { DeferredError, EtlError, errorMessage } from '../../errors.js'
import { httpTimeouts } from '../../http.js'
import type { AccessCheck, OperatorFacts } from '../operator.js'
import { GetcourseClient } from './client.js'
import { TABLES, type ExportStream } from './columns.js'
import { openExports } from './exports.js'
import { planGetcourse } from './plan-estimate.js'

const DIRECT: Record<string, string> = { fields: 'getcourse.fields', groups: 'getcourse.groups' }

/** GetCourse facts for `status --check`, `check` and `plan`. */
export const getcourseOperator: OperatorFacts = {
  streamTable(stream) {
    const table = DIRECT[stream] ?? TABLES[stream as ExportStream]?.table
    return table ? { table, accountColumn: 'account' } : null
  },

  async problems(db, config, now) {
    const out: string[] = []
    for (const account of config.getcourse) {
      for (const e of await openExports(db, account.name)) {
        const age = Math.round((now - e.startedAt) / 1000)
        // Pending longer than one run waits for it (poll.timeoutSeconds): given up at poll.maxPendingSeconds.
        if (e.status === 'pending' && age > account.poll.timeoutSeconds)
          out.push(
            `getcourse/${account.name}/${e.stream}: export ${e.exportId} pending for ${hours(age)} (poll.timeoutSeconds ${account.poll.timeoutSeconds} s; given up after ${account.poll.maxPendingSeconds} s)`,
          )
      }
    }
    return out
  },

  /**
   * One `groups` request per account: the cheapest call that needs the key (reference §5.1). It is
   * written to the budget ledger like any other, so it costs 1 of the 100 requests per 2 h window
   * (up to 4 when the network makes it retry); with the budget full the key is not checked.
   */
  async checkAccess(db, config, deps) {
    const out: AccessCheck[] = []
    for (const account of config.getcourse) out.push(await checkKey(db, account, config, deps))
    return out
  },

  plan: planGetcourse,
}

async function checkKey(
  db: Parameters<NonNullable<OperatorFacts['checkAccess']>>[0],
  account: GetcourseAccountConfig,
  config: Parameters<NonNullable<OperatorFacts['checkAccess']>>[1],
  deps: Parameters<NonNullable<OperatorFacts['checkAccess']>>[2],
): Promise<AccessCheck> {
  let requests = 0
  const client = new GetcourseClient(account, {
    db,
    clock: deps.clock,
    log: deps.log,
    signal: deps.signal,
    countRequest: () => requests++,
    budgetWaitMs: 0,
    http: httpTimeouts(config.http),
  })
  const what = `POST ${account.url}/pl/api/account/groups`
  try {
    const groups = await client.groups()
    return { account: account.name, ok: true, what, requests, detail: `key accepted (${groups.length} groups)` }
  } catch (err) {
    if (err instanceof DeferredError) return { account: account.name, ok: false, what, requests, detail: `not checked: ${err.message}` }
    const code = err instanceof EtlError ? `${err.code}: ` : ''
    return { account: account.name, ok: false, what, requests, detail: `${code}${errorMessage(err)}` }
  }
}

const hours = (s: number) => (s >= 7200 ? `${(s / 3600).toFixed(1)} h` : `${Math.round(s / 60)} min`)
