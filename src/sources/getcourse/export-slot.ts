import { randomUUID } from 'node:crypto'
import type { GetcourseAccountConfig } from './config.js'
import type { Db } from '../../db/index.js'
import { DeferredError, EtlError } from '../../errors.js'
import type { StreamContext } from '../../contract.js'
import type { GetcourseClient } from './client.js'
import type { ExportStream } from './columns.js'
import type { ExportState } from './export-plan.js'
import { loadedSince, openExports, recordStarted, type ExportRecord } from './exports.js'
import { acquireLease, releaseLease, renewLease } from './lease.js'
import { budgetLimit, whenAvailable } from './ledger.js'
import type { LocalTime } from './local-time.js'
import { firstCheckDelay, type ReadinessSample } from './poll-schedule.js'
import { windowDays, windowFilters, type ExportWindow } from './windows.js'

/** Requests an export needs at least: the start and one check. */
const MIN_EXPORT_REQUESTS = 2

export type Started = { record: ExportRecord; learned: boolean } | null

/** What starting an export needs from collecting: readiness learned so far, and waiting for an export to be ready. */
export interface Readiness {
  history(): Promise<ReadinessSample[]>
  pollUntilReady(record: ExportRecord, learned: boolean, discard: boolean): Promise<unknown>
}

/** The account's export slot (a lease, reference §3.4) and the start of an export in it. */
export class ExportSlot {
  private readonly holder: { id: string; runId: string; stream: string }
  private readonly startedAt: number
  private holding = false

  constructor(
    private readonly ctx: StreamContext<ExportState>,
    private readonly account: GetcourseAccountConfig,
    private readonly stream: ExportStream,
    private readonly options: { readonly budgetWaitMs: number; readonly busyWaitMs: number },
    private readonly client: GetcourseClient,
    private readonly time: LocalTime,
  ) {
    this.holder = { id: randomUUID(), runId: ctx.runId, stream }
    this.startedAt = ctx.clock.now()
  }

  get holdsLease(): boolean {
    return this.holding
  }

  /** Defers the stream when the budget cannot pay for one more export soon. */
  async ensureBudget(queued: number): Promise<void> {
    const need = Math.min(MIN_EXPORT_REQUESTS, budgetLimit(this.account))
    for (;;) {
      const now = this.ctx.clock.now()
      const at = await whenAvailable(this.ctx.db, this.account, now, need)
      if (at === null) return
      if (at - now > this.options.budgetWaitMs) {
        const resumes = `${this.time.hourMinute(at)} (${this.account.timezone})`
        throw new DeferredError('BUDGET_EXHAUSTED', `budget exhausted, resumes at ${resumes}; ${queued} export(s) queued for the next run`, new Date(at))
      }
      this.ctx.progress({ phase: 'waiting for request budget' })
      await this.ctx.idle(this.ctx.clock.sleep(at - now, this.ctx.signal))
    }
  }

  // ── starting ────────────────────────────────────────────────────────────────────────────────

  /** Takes the account's export slot and starts the window's export; null when another run just loaded it. */
  async start(window: ExportWindow, readiness: Readiness): Promise<Started> {
    const { clock, db, log } = this.ctx
    const poll = this.account.poll
    const filters = windowFilters(window)
    const deadline = clock.now() + this.options.busyWaitMs
    let busyDelay = Math.max(50, poll.firstCheckSeconds * 1000)
    for (;;) {
      if (!(await this.acquire())) {
        if (clock.now() >= deadline) throw this.busy('another run of this account holds the export slot', deadline)
        this.ctx.progress({ phase: 'waiting for the export slot' })
        await this.ctx.idle(clock.sleep(Math.min(5000, Math.max(50, poll.firstCheckSeconds * 1000)), this.ctx.signal))
        continue
      }
      await this.waitForOtherExports(readiness)
      if (await loadedSince(db, this.account.name, this.stream, window, filters, this.startedAt)) {
        log.info({ window }, 'window already loaded by a concurrent run; skipped')
        await this.release()
        return null
      }
      const history = await readiness.history()
      const first = firstCheckDelay(history, this.stream, windowDays(window), poll, window)
      const result = await this.client.startExport(this.stream, filters, window.groupId)
      if (result.kind === 'busy') {
        // Another integration's export is forming (905, nothing started): wait, never "no data" (reference §6.3).
        if (clock.now() + busyDelay > deadline) throw this.busy('another integration keeps the export slot busy (905)', clock.now() + busyDelay)
        log.info({ delayMs: busyDelay }, 'export slot busy (905), retrying later')
        await this.renew()
        await this.ctx.idle(clock.sleep(busyDelay, this.ctx.signal))
        busyDelay = Math.min(poll.maxIntervalSeconds * 1000, busyDelay * 2)
        continue
      }
      const record = await recordStarted(db, {
        account: this.account.name,
        exportId: result.exportId,
        stream: this.stream,
        window,
        filters,
        startedAt: clock.now(),
        firstWaitMs: first.waitMs,
        requests: result.requests,
        runId: this.ctx.runId,
      })
      await this.renew(result.exportId)
      log.info({ exportId: result.exportId, window, firstCheckMs: Math.round(first.waitMs) }, 'export started')
      return { record, learned: first.learned }
    }
  }

  /**
   * Exports of other streams left forming by a run that died: the slot is theirs until they are
   * ready, so wait for them (marking them ready; their own stream downloads them later).
   */
  private async waitForOtherExports(readiness: Readiness): Promise<void> {
    for (const other of await openExports(this.ctx.db, this.account.name)) {
      if (other.status !== 'pending') continue
      this.ctx.log.info({ exportId: other.exportId, stream: other.stream }, 'waiting for an unfinished export of this account before starting another')
      await readiness.pollUntilReady(other, false, true)
    }
  }

  busy(why: string, resumeAt: number): DeferredError {
    return new DeferredError(
      'EXPORT_BUSY',
      `${why}; gave up waiting after ${Math.round(this.options.busyWaitMs / 1000)} s, retried next run`,
      new Date(resumeAt),
    )
  }

  // ── the lease ───────────────────────────────────────────────────────────────────────────────

  /** Long enough to cover the longest sleep between two renewals. */
  private leaseTtl(): number {
    return 2 * this.account.poll.maxIntervalSeconds * 1000 + this.options.budgetWaitMs + 60_000
  }

  private async acquire(): Promise<boolean> {
    this.holding = await acquireLease(this.ctx.db, this.account, this.holder, this.ctx.clock.now(), this.leaseTtl())
    return this.holding
  }

  async renew(exportId?: string): Promise<void> {
    const kept = await renewLease(this.ctx.db, this.account, this.holder.id, this.ctx.clock.now(), this.leaseTtl(), exportId)
    if (!kept && this.holding) {
      this.holding = false
      throw new EtlError('EXPORT_FAILED', 'lost the export lease of this account (expired while waiting); the export stays pending for the next run')
    }
  }

  async release(): Promise<void> {
    this.holding = false
    await releaseLease(this.ctx.db, this.account, this.holder.id)
  }

  /** Releases the lease in a load's transaction, when it still names that export. */
  async releaseLoaded(trx: Db, exportId: string): Promise<void> {
    if (await releaseLease(trx, this.account, this.holder.id, exportId)) this.holding = false
  }
}
