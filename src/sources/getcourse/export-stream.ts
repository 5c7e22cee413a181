import type { GetcourseAccountConfig } from './config.js'
import { httpTimeouts } from '../../http.js'
import type { Batch, Stream, StreamContext } from '../../contract.js'
import { GetcourseClient } from './client.js'
import type { ExportStream } from './columns.js'
import { ExportCollector } from './export-collect.js'
import { advance, ExportPlanner, exportStateSchema, type ExportState } from './export-plan.js'
import { ExportSlot } from './export-slot.js'
import { openExports } from './exports.js'
import { LocalTime } from './local-time.js'

export { exportStateSchema, type ExportState } from './export-plan.js'

export interface ExportStreamOptions {
  /** A request that would break the budget waits this long at most. @default 5 min */
  budgetWaitMs: number
  /** How long to wait for the account's export slot (our lease or a 905) before deferring. @default 15 min */
  busyWaitMs: number
  /** Where a full export starts. @default FULL_START */
  fullStart: string
}

export function exportStream(account: GetcourseAccountConfig, stream: ExportStream, options: ExportStreamOptions): Stream<ExportState> {
  return {
    source: 'getcourse',
    account: account.name,
    name: stream,
    stateSchema: exportStateSchema,
    async *run(ctx) {
      const session = new ExportSession(ctx, account, stream, options)
      try {
        yield* session.run()
      } finally {
        await session.close()
      }
    },
  }
}

/**
 * One run of one export stream of one account: the plan (windows, fairness, export-plan.ts), the
 * account's export slot (lease, 905, export-slot.ts) and the collecting of each export (poll,
 * download, load, 910, export-collect.ts).
 */
class ExportSession {
  private readonly planner: ExportPlanner
  private readonly slot: ExportSlot
  private readonly collector: ExportCollector

  constructor(
    private readonly ctx: StreamContext<ExportState>,
    private readonly account: GetcourseAccountConfig,
    private readonly stream: ExportStream,
    options: ExportStreamOptions,
  ) {
    const client = new GetcourseClient(account, {
      db: ctx.db,
      clock: ctx.clock,
      log: ctx.log,
      signal: ctx.signal,
      countRequest: () => ctx.countRequests(1),
      budgetWaitMs: options.budgetWaitMs,
      http: httpTimeouts(ctx.config.http),
    })
    const time = new LocalTime(account.timezone)
    this.planner = new ExportPlanner(ctx, account, stream, options, time)
    this.slot = new ExportSlot(ctx, account, stream, options, client, time)
    this.collector = new ExportCollector(ctx, account, stream, options, client, this.slot)
  }

  async *run(): AsyncGenerator<Batch<ExportState>> {
    let state: ExportState = { ...(this.ctx.state ?? {}) }
    const forced = Boolean(this.ctx.options.from || this.ctx.options.to || this.ctx.options.full)
    // A forced plan comes first, so that an export left by an earlier run counts towards it (and its
    // listing) when it covers one of its windows.
    if (forced) state = yield* this.planner.replan(state)
    for (const open of await openExports(this.ctx.db, this.account.name, { stream: this.stream, orphaned: true })) {
      this.ctx.log.info({ exportId: open.exportId, window: open.window }, 'collecting an export started by an earlier run')
      state = yield* this.collector.collect(open, false, state)
    }
    if (!forced && !state.queue?.length && state.watermark && (await this.planner.shouldGiveWay())) return
    if (!forced && !state.queue?.length) state = yield* this.planner.replan(state)
    while (state.queue?.length) {
      const window = state.queue[0]!
      await this.slot.ensureBudget(state.queue.length)
      const started = await this.slot.start(window, this.collector)
      if (!started) {
        // Loaded by a concurrent run under its own plan: this plan's listings miss its rows.
        const abandon = [...(state.listing ? [state.listing] : []), ...(window.listing ? [window.listing] : [])]
        state = advance({ ...state, listing: undefined }, window)
        yield { writes: [], read: 0, state, listings: { abandon } }
        continue
      }
      state = yield* this.collector.collect(started.record, started.learned, state)
    }
  }

  async close(): Promise<void> {
    if (this.slot.holdsLease) await this.slot.release()
  }
}
