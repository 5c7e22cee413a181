import path from 'node:path'
import { Readable } from 'node:stream'
import type { GetcourseAccountConfig } from './config.js'
import type { Db } from '../../db/index.js'
import { DeferredError } from '../../errors.js'
import { rejected, type Batch, type StreamContext } from '../../contract.js'
import type { GetcourseClient } from './client.js'
import type { ExportStream } from './columns.js'
import { TABLES } from './columns.js'
import { describeError, errorKind, type ApiError } from './envelope.js'
import { advance, listingOf, settle, type ExportState } from './export-plan.js'
import { readExport } from './export-reader.js'
import type { ExportSlot, Readiness } from './export-slot.js'
import { countCheck, markFailed, markLoaded, markReady, readinessHistory, type ExportRecord } from './exports.js'
import { createNormalizer, type Normalizer } from './normalize.js'
import { nextCheckDelay, type ReadinessSample } from './poll-schedule.js'
import { rowsBatch } from './rows-batch.js'
import { covers, splitWindow, windowDays } from './windows.js'

/** A ready check: the unread body, when it was asked for, and the last "not ready" before it. */
type Ready = { response: Response; readyAt: number; lastPendingAt: number | null }

/** Waits for an export, loads it into batches (with its listing), and splits a window on 910. */
export class ExportCollector implements Readiness {
  /**
   * Readiness of exports this session loaded. The runner commits an export's last batch (which
   * marks it loaded, so `readinessHistory` sees it) while this generator already starts the next
   * export; without these the newest sample would be there or not depending on which query
   * finished first, and identical accounts would learn different first checks. Oldest first.
   */
  private measured: ReadinessSample[] = []

  constructor(
    private readonly ctx: StreamContext<ExportState>,
    private readonly account: GetcourseAccountConfig,
    private readonly stream: ExportStream,
    private readonly options: { readonly busyWaitMs: number },
    private readonly client: GetcourseClient,
    private readonly slot: ExportSlot,
  ) {}

  /** The account's readiness history, with this session's own exports whose load is not committed yet in front. */
  async history(): Promise<ReadinessSample[]> {
    const stored = await readinessHistory(this.ctx.db, this.account.name)
    // Once committed an export is in `stored` with the very same values (ms timestamps): drop it here.
    this.measured = this.measured.filter((m) => !stored.some((s) => sameSample(s, m)))
    return [...[...this.measured].reverse(), ...stored]
  }

  // ── waiting and loading ─────────────────────────────────────────────────────────────────────

  /**
   * Polls until the export is ready and streams it into batches. The last batch carries the new
   * stream state and marks the export loaded, in the same transaction as its rows.
   */
  async *collect(record: ExportRecord, learned: boolean, state: ExportState): AsyncGenerator<Batch<ExportState>, ExportState> {
    const response = await this.pollUntilReady(record, learned, false)
    if ('error' in response) return yield* this.failed(record, response.error, state, response.retry)
    // An export found ready by an earlier run keeps that run's ready_at; only a check of ours is a measurement.
    const measured = record.status === 'pending'
    const next = advance(state, record.window)
    const archive = this.ctx.options.archive ?? this.ctx.config.archiveExports
    const archivePath = archive ? path.join(this.ctx.config.dataDir, 'exports', this.account.name, this.stream, `${record.exportId}.json.gz`) : undefined
    const body = response.response.body ? Readable.fromWeb(response.response.body as never) : Readable.from([])
    const context = { account: this.account.name, timeZone: this.account.timezone, groupId: record.window.groupId }
    const listing = listingOf(record, state)
    const { table, key } = TABLES[this.stream]
    // The export completes its listing: the group's own, or the plan's with its last window.
    const completes = !listing
      ? []
      : record.window.groupId !== undefined
        ? [{ listing, table, key, scope: { account: this.account.name, group_id: record.window.groupId } }]
        : next.queue?.length
          ? []
          : [{ listing, table, key, scope: { account: this.account.name } }]
    const rowsListing = listing ? { id: listing, account: this.account.name, groupId: record.window.groupId } : undefined
    let normalizer: Normalizer | null = null
    let rows = 0
    for await (const event of readExport(body, { batchSize: this.ctx.config.batchSize, archivePath, label: `export ${record.exportId}` })) {
      if (event.type === 'end' && event.error) return yield* this.failed(record, event.error, state)
      if (event.fields === null) continue
      // The first batch carries the export's column titles (a title new to the account is a schema change).
      const fields = normalizer ? undefined : [{ scope: this.stream, names: event.fields }]
      normalizer ??= createNormalizer(this.stream, event.fields, context)
      const batch = { ...rowsBatch(this.stream, normalizer, event.rows, rowsListing), fields }
      rows += event.rows.length
      this.ctx.progress({ phase: `export ${record.exportId} loading`, done: rows })
      // The lease is held until the load commits: renewed as the download goes, so that a download
      // longer than the lease's expiry does not hand the slot (and this window) to another run.
      if (this.slot.holdsLease) await this.slot.renew(record.exportId)
      if (event.type === 'rows') {
        yield batch
        continue
      }
      const loadedAt = this.ctx.clock.now()
      const { account, slot } = this
      if (measured) this.measure(record, response, event.total)
      const listings = { ...batch.listings, complete: completes }
      const onCommit = async (trx: Db) => {
        await markLoaded(trx, account.name, record.exportId, event.total, loadedAt)
        // The slot was held from the start until the window is loaded, so that no other run starts
        // this window again meanwhile; it goes with the load. (Already taken again for the next
        // window, the lease names no export yet and is kept.)
        await slot.releaseLoaded(trx, record.exportId)
      }
      yield { ...batch, listings, state: completes.length && !record.window.groupId ? { ...next, listing: undefined } : next, onCommit }
      this.ctx.log.info({ exportId: record.exportId, rows: event.total }, 'export loaded')
    }
    return next
  }

  /**
   * Checks the export until it is ready (returns its unread body) or failed (returns the error).
   * `discard`: only wait for readiness (an export of another stream blocking the slot).
   */
  async pollUntilReady(record: ExportRecord, learned: boolean, discard: boolean): Promise<Ready | { error: ApiError; retry?: boolean }> {
    const { clock, db, log } = this.ctx
    const poll = this.account.poll
    // Another stream's export is waited for no longer than the busy wait (then this stream defers).
    const deadline = clock.now() + (discard ? Math.min(this.options.busyWaitMs, poll.timeoutSeconds * 1000) : poll.timeoutSeconds * 1000)
    const giveUpAt = record.startedAt + poll.maxPendingSeconds * 1000
    let misses = 0
    let lastPendingAt = record.lastPendingAt
    let nextAt =
      record.status === 'ready'
        ? clock.now()
        : record.lastPendingAt !== null
          ? record.lastPendingAt + nextCheckDelay(record.lastPendingAt - record.startedAt, learned, poll)
          : record.startedAt + (record.firstWaitMs ?? poll.firstCheckSeconds * 1000)
    for (;;) {
      const now = clock.now()
      if (record.status === 'pending' && now >= giveUpAt) {
        // Stuck: it would block the account's slot forever. Given up; its window is exported again.
        const reason = `not ready ${Math.round((now - record.startedAt) / 1000)} s after it was started (poll.maxPendingSeconds ${poll.maxPendingSeconds}); given up, its window is exported again`
        await markFailed(db, this.account.name, record.exportId, reason)
        if (this.slot.holdsLease && !discard) await this.slot.release()
        log.warn({ exportId: record.exportId, stream: record.stream }, `export ${record.exportId} ${reason}`)
        return { error: { code: null, message: reason }, retry: true }
      }
      // A stuck export is given up at its age limit, not waited for past it.
      if (record.status === 'pending' && nextAt > giveUpAt) nextAt = giveUpAt
      if (nextAt > deadline) {
        if (discard) throw this.slot.busy(`export ${record.exportId} of ${record.stream} is still forming`, nextAt)
        throw new DeferredError(
          'EXPORT_TIMEOUT',
          `export ${record.exportId} (${record.stream}) was not ready after ${poll.timeoutSeconds} s; it stays pending and is collected next run`,
          new Date(nextAt),
        )
      }
      this.ctx.progress({ phase: `export ${record.exportId} forming` })
      // Only waiting for GetCourse: the load slot goes to another account meanwhile.
      if (nextAt > now) await this.ctx.idle(clock.sleep(nextAt - now, this.ctx.signal))
      if (this.slot.holdsLease) await this.slot.renew(record.exportId)
      const checkedAt = clock.now()
      const result = await this.client.checkExport(record.exportId, record.stream)
      if (result.kind === 'error' && errorKind(result.error) === 'not_ready') {
        await countCheck(db, this.account.name, record.exportId, checkedAt)
        lastPendingAt = checkedAt
        nextAt = clock.now() + nextCheckDelay(checkedAt - record.startedAt, learned, poll, ++misses)
        continue
      }
      await countCheck(db, this.account.name, record.exportId, null)
      if (result.kind === 'error') {
        const kind = errorKind(result.error)
        if (kind !== 'no_file' && kind !== 'not_found') this.client.fail(result.error, `checking export ${record.exportId}`)
        await markFailed(db, this.account.name, record.exportId, describeError(result.error))
        if (this.slot.holdsLease && !discard) await this.slot.release()
        log.warn({ exportId: record.exportId, error: describeError(result.error) }, 'export failed')
        return { error: result.error }
      }
      await markReady(db, this.account.name, record.exportId, checkedAt)
      // Ready means formed at GetCourse; our lease is still held until the window is loaded (or failed).
      if (discard) {
        await result.response.body?.cancel()
        return { error: { code: null, message: 'discarded' } }
      }
      return { response: result.response, readyAt: checkedAt, lastPendingAt }
    }
  }

  /** Notes a loaded export's readiness as `readinessHistory` will read it once the load commits. */
  private measure(record: ExportRecord, ready: Ready, rows: number): void {
    this.measured.push({
      stream: record.stream,
      readyMs: ready.readyAt - record.startedAt,
      pendingMs: ready.lastPendingAt === null ? null : ready.lastPendingAt - record.startedAt,
      rows,
      days: record.window.from && record.window.to ? windowDays(record.window) : null,
      window: { field: record.window.field, from: record.window.from, to: record.window.to, groupId: record.window.groupId ?? null },
    })
  }

  /**
   * 910 «Файл не создан, попробуйте другой фильтр» is permanent for that filter (reference §3.1):
   * split the window and try the halves; a one-day window is skipped with a reject saying so.
   * An export GetCourse no longer knows («Объект не найден») is simply started again.
   */
  private async *failed(record: ExportRecord, error: ApiError, state: ExportState, retry = false): AsyncGenerator<Batch<ExportState>, ExportState> {
    if (this.slot.holdsLease) await this.slot.release()
    // Given up as stuck (already marked with its reason): the window stays queued for a new export.
    if (retry) return state
    await markFailed(this.ctx.db, this.account.name, record.exportId, describeError(error))
    if (errorKind(error) === 'not_found') return state
    const queue = (state.queue ?? []).filter((w) => !covers(record.window, w))
    const halves = splitWindow(record.window)
    const rest = halves ? [...halves, ...queue] : queue
    // Halves of a group window are not the whole group; a skipped window leaves a hole in the plan's listing.
    const abandon = [
      ...(listingOf(record, state) && record.window.groupId !== undefined ? [listingOf(record, state)!] : []),
      ...(!halves && state.listing ? [state.listing] : []),
    ]
    const next = settle({ ...state, queue: rest, listing: halves ? state.listing : undefined })
    const rejects = halves
      ? []
      : [
          rejected(
            `export ${record.exportId} failed (${describeError(error)}) for ${record.window.field} ${record.window.from}..${record.window.to}; window skipped`,
            { exportId: record.exportId, filters: record.filters },
            record.exportId,
          ),
        ]
    yield { writes: [], read: 0, rejects, state: next, listings: { abandon } }
    return next
  }
}

/** Times are whole milliseconds in both (clock and timestamptz), so a stored sample equals the measured one. */
const sameSample = (a: ReadinessSample, b: ReadinessSample) =>
  a.stream === b.stream &&
  a.rows === b.rows &&
  a.readyMs === b.readyMs &&
  a.pendingMs === b.pendingMs &&
  a.window?.field === b.window?.field &&
  a.window?.from === b.window?.from &&
  a.window?.to === b.window?.to &&
  (a.window?.groupId ?? null) === (b.window?.groupId ?? null)
