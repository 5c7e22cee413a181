import type { Clock } from '../clock.js'
import type { Config } from '../config.js'
import type { Db } from '../db/index.js'
import type { Logger } from '../log.js'
import type { SyncOptions } from './types.js'

/**
 * What the operator commands (`status --check`, `check`, `plan`) need to know of a source, told by
 * the source itself (its folder's `operator.ts`), so the commands never name a source.
 */
export interface OperatorFacts {
  /** The table a stream fills and the column holding our account name: "rows in the table now". */
  streamTable(stream: string): { table: string; accountColumn: string } | null
  /** Problems beyond run history for `status --check` (e.g. a GetCourse export pending too long), one line each. */
  problems?(db: Db, config: Config, now: number): Promise<string[]>
  /** Is every configured credential accepted? As cheap as the API allows; each result says what it cost. */
  checkAccess?(db: Db, config: Config, deps: { clock: Clock; log: Logger; signal: AbortSignal }): Promise<AccessCheck[]>
  /** What a sync with `options` would do per account, spending nothing. */
  plan?(db: Db, config: Config, options: SyncOptions, now: number): Promise<AccountPlan[]>
}

export interface AccessCheck {
  account: string
  ok: boolean
  /** What was asked: `POST /pl/api/account/groups`. */
  what: string
  /** Requests it cost (budget / rate limit), retries included. */
  requests: number
  detail: string
}

export interface AccountPlan {
  account: string
  /** Per stream: exports or pages it would ask for (null when the API gives no way to know in advance). */
  streams: { stream: string; exports: number | null; requests: number | null; note?: string }[]
  exports: number | null
  requests: number | null
  /** Budget windows needed (GetCourse: 100 requests / 2 h); null for a source without a budget. */
  budgetWindows: number | null
  windowSeconds: number | null
  /** Expected finish (ISO), from the budget and the readiness of recent exports; null when unknown. */
  expectedFinish: string | null
  notes: string[]
}
