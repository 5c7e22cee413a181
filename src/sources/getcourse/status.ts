import type { Db } from '../../db/index.js'
import type { GetcourseConfig } from './config.js'
import { averageRequestsPerExport, openExports } from './exports.js'
import { budgetStatus } from './ledger.js'

/** Per account: budget used in the current window and when it frees, pending export ids, mean requests per export. */
export async function getcourseStatus(db: Db, config: Pick<GetcourseConfig, 'getcourse'>, now: number): Promise<Record<string, Record<string, unknown>>> {
  const out: Record<string, Record<string, unknown>> = {}
  for (const account of config.getcourse) {
    const budget = await budgetStatus(db, account, now)
    const pending = await openExports(db, account.name)
    const avg = await averageRequestsPerExport(db, account.name)
    out[account.name] = {
      budget: `${budget.used}/${budget.limit} in ${account.budget.windowSeconds / 60} min`,
      budgetFreesAt: budget.freesAt?.toISOString() ?? null,
      blockedUntil: budget.blockedUntil?.toISOString() ?? null,
      pendingExports: pending.map((e) => `${e.exportId} (${e.stream}, ${e.status}, ${Math.round((now - e.startedAt) / 1000)} s)`),
      // Pending longer than one run waits (poll.timeoutSeconds): given up at poll.maxPendingSeconds.
      stuckExports: pending
        .filter((e) => e.status === 'pending' && now - e.startedAt > account.poll.timeoutSeconds * 1000)
        .map((e) => `${e.exportId} (${e.stream}, pending ${Math.round((now - e.startedAt) / 1000)} s, given up after ${account.poll.maxPendingSeconds} s)`),
      requestsPerExport: avg === null ? null : Number(avg.toFixed(2)),
    }
  }
  return out
}
