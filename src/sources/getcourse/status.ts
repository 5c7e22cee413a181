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
    const exportFacts = (e: (typeof pending)[number]) => ({
      exportId: e.exportId,
      stream: e.stream,
      status: e.status,
      ageSeconds: Math.round((now - e.startedAt) / 1000),
    })
    out[account.name] = {
      // Numbers, not prose (status --json); the table prints `used/limit in N min`.
      budget: {
        used: budget.used,
        remaining: budget.blockedUntil ? 0 : Math.max(0, budget.limit - budget.used),
        limit: budget.limit,
        windowSeconds: account.budget.windowSeconds,
        freesAt: budget.freesAt?.toISOString() ?? null,
      },
      blockedUntil: budget.blockedUntil?.toISOString() ?? null,
      pendingExports: pending.map(exportFacts),
      // Pending longer than one run waits (poll.timeoutSeconds): given up at poll.maxPendingSeconds.
      stuckExports: pending
        .filter((e) => e.status === 'pending' && now - e.startedAt > account.poll.timeoutSeconds * 1000)
        .map((e) => ({ ...exportFacts(e), givenUpAfterSeconds: account.poll.maxPendingSeconds })),
      requestsPerExport: avg === null ? null : Number(avg.toFixed(2)),
    }
  }
  return out
}
