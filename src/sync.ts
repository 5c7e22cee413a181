import { randomUUID } from 'node:crypto'
import { setMaxListeners } from 'node:events'
import PQueue from 'p-queue'
import type { Clock } from './clock.js'
import { sourceAccounts, type Config } from './config.js'
import type { Warehouse } from './db/index.js'
import {
  addRunCounts,
  closeStaleRuns,
  emptyCounts,
  holdLiveness,
  finishRun,
  getState,
  heartbeat,
  insertRejects,
  saveState,
  startRun,
  type RunCounts,
  type StreamKey,
} from './db/runs.js'
import { registerAccounts, type AccountEntry } from './db/accounts.js'
import { applyListingOps, recordListingKeys } from './db/listings.js'
import { recordSeenFields, type NewFields } from './db/schema-changes.js'
import { isDatabaseUnavailable } from './db/unavailable.js'
import { upsertRows } from './db/upsert.js'
import { describeUnknownStatuses, unknownStatuses } from './db/vocabulary.js'
import { DeferredError, EtlError, errorMessage } from './errors.js'
import { redact, type Logger } from './log.js'
import { allSources } from './sources/index.js'
import type { Batch, Progress, SourceModule, Stream, SyncOptions } from './contract.js'

export interface SyncDeps {
  warehouse: Warehouse
  config: Config
  log: Logger
  clock: Clock
  sources: readonly SourceModule[]
  signal?: AbortSignal
  /**
   * How many accounts/cabinets load at once; a stream that only waits (a GetCourse export forming,
   * budget) lends its slot to the next account meanwhile. @default config.concurrency
   */
  concurrency?: number
  /** Progress of each stream (src/progress.ts); `ended` once the stream is over, whatever its outcome. */
  onProgress?: (stream: StreamKey, p: Progress & { rows: number; ended?: boolean }) => void
}

export interface StreamResult extends StreamKey {
  runId: string
  status: 'succeeded' | 'failed' | 'deferred' | 'aborted'
  counts: RunCounts
  message?: string
  errorCode?: string
  resumeAt?: Date
}

export interface SyncSummary {
  invocation: string
  results: StreamResult[]
  ok: boolean
}

/** Error codes after which the other streams of the same account are not attempted. */
const ACCOUNT_FATAL = new Set(['AUTH_FAILED'])

/**
 * One sync: every selected stream of every selected account. Accounts run in parallel (bounded),
 * the streams of one account run in order. A failing account never stops the others.
 */
export async function runSync(deps: SyncDeps, options: SyncOptions = {}): Promise<SyncSummary> {
  const { warehouse, log } = deps
  const invocation = randomUUID()
  // Held for the whole sync; lets the next sync tell at once that a killed process's runs are dead.
  const liveness = warehouse.pool ? await holdLiveness(warehouse.pool, invocation, log) : null
  try {
    const signal = liveness ? AbortSignal.any([deps.signal ?? new AbortController().signal, liveness.lost]) : (deps.signal ?? new AbortController().signal)
    // Every sleeping stream listens on it (tens of accounts at once): not a leak.
    setMaxListeners(0, signal)
    const dead = (await liveness?.closeDeadRuns()) ?? 0
    if (dead) log.info({ runs: dead }, 'closed the runs of a process that stopped without finishing them')
    await closeStaleRuns(warehouse.db)
    await registerAccounts(warehouse.db, configuredAccounts(deps.config, allSources))
    return await syncStreams(deps, options, invocation, signal)
  } finally {
    await liveness?.release()
  }
}

async function syncStreams(deps: SyncDeps, options: SyncOptions, invocation: string, signal: AbortSignal): Promise<SyncSummary> {
  const { warehouse, config, log } = deps

  const modules = deps.sources.filter((s) => !options.source || s.name === options.source)
  if (options.source && !modules.length)
    throw new EtlError('USAGE', `Unknown source "${options.source}"; expected one of: ${deps.sources.map((s) => s.name).join(', ')}`)
  // A stream name no selected source has is a typo: refused before any run is recorded.
  const unknownStreams = (options.streams ?? []).filter((n) => !modules.some((m) => m.streamNames.includes(n)))
  if (unknownStreams.length)
    throw new EtlError('USAGE', `Unknown stream(s) ${unknownStreams.join(', ')}; ${modules.map((m) => `${m.name}: ${m.streamNames.join(', ')}`).join('; ')}`)
  const streams = modules.flatMap((m) => m.streams(config, options, { clock: deps.clock, log }))
  if (options.accounts?.length) {
    const known = new Set(streams.map((s) => s.account))
    const unknown = options.accounts.filter((a) => !known.has(a))
    if (unknown.length) throw new EtlError('USAGE', `No configured account named ${unknown.map((u) => `"${u}"`).join(', ')}`)
  }

  const groups = new Map<string, Stream<any>[]>()
  for (const s of streams) {
    const k = `${s.source}\u0000${s.account}`
    groups.set(k, [...(groups.get(k) ?? []), s])
  }
  const results: StreamResult[] = []
  const slots = new Slots(deps.concurrency ?? config.concurrency)
  for (const group of groups.values()) {
    void slots.queue.add(async () => {
      let fatal: StreamResult | undefined
      for (const stream of group) {
        try {
          if (fatal || signal.aborted) {
            const runId = await startRun(warehouse.db, invocation, keyOf(stream))
            const status = fatal ? 'failed' : 'aborted'
            const message = fatal ? `skipped: ${fatal.message}` : 'shutdown requested before the stream started'
            await finishRun(warehouse.db, runId, { status, requests: 0, message, errorCode: fatal?.errorCode })
            results.push({ ...keyOf(stream), runId, status, counts: emptyCounts(), message, errorCode: fatal?.errorCode })
            continue
          }
          const result = await runStream(deps, stream, invocation, options, signal, slots.idle)
          results.push(result)
          if (result.status === 'failed' && result.errorCode && ACCOUNT_FATAL.has(result.errorCode)) fatal = result
        } catch (err) {
          // The run row itself could not be written (database gone): report it, never an unhandled rejection.
          const message = redact(errorMessage(err))
          const errorCode = err instanceof EtlError ? err.code : ((err as { code?: string }).code ?? 'UNEXPECTED')
          log.error({ ...keyOf(stream), err }, `stream could not be run: ${message}`)
          results.push({ ...keyOf(stream), runId: '', status: signal.aborted ? 'aborted' : 'failed', counts: emptyCounts(), message, errorCode })
        }
      }
    })
  }
  await slots.queue.onIdle()
  const ok = results.every((r) => r.status === 'succeeded' || r.status === 'deferred')
  return { invocation, results, ok }
}

/**
 * The accounts of the config with their zones, for `etl.accounts` (the zone analytics views cut days
 * in). KWIGA does not say a cabinet's zone: Europe/Kyiv, the zone its cabinets use.
 */
/** Every account the config names, whichever sources this sync runs (a `load-file` runs one). */
export function configuredAccounts(config: Config, sources: readonly SourceModule[]): AccountEntry[] {
  return sources.flatMap((m) =>
    sourceAccounts(config, m).map((a) => ({
      source: m.name,
      account: a.name,
      timeZone: m.accountZone?.(a) ?? m.timeZone?.(a) ?? config.timezone,
      currency: null,
    })),
  )
}

const keyOf = (s: Stream<any>): StreamKey => ({ source: s.source, account: s.account, stream: s.name })

/**
 * The saved state, checked against the stream's schema. A state that does not fit (saved by an older
 * version) is set aside: the stream starts fresh, as on its first run, and the log says why.
 */
async function loadState<S>(deps: SyncDeps, stream: Stream<S>, key: StreamKey, log: Logger): Promise<S | null> {
  const saved = await getState(deps.warehouse.db, key)
  if (saved === null || !stream.stateSchema) return saved as S | null
  const parsed = stream.stateSchema.safeParse(saved)
  if (parsed.success) return parsed.data
  log.warn(
    { ...key, issues: parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.')}: ${i.message}`) },
    'saved state does not fit this version of the stream; it starts fresh',
  )
  return null
}

async function runStream<S>(
  deps: SyncDeps,
  stream: Stream<S>,
  invocation: string,
  options: SyncOptions,
  signal: AbortSignal,
  idle: <T>(work: Promise<T>) => Promise<T>,
): Promise<StreamResult> {
  const { warehouse, log: rootLog } = deps
  const db = warehouse.db
  const key = keyOf(stream)
  const log = rootLog.child(key)
  const runId = await startRun(db, invocation, key)
  const counts = emptyCounts()
  let pendingRequests = 0
  let lastProgress: Progress = {}
  const started = Date.now()
  log.info({ runId }, 'stream started')

  const heart = setInterval(() => void heartbeat(db, runId).catch(() => {}), 60_000)
  heart.unref()
  try {
    const state = await loadState(deps, stream, key, log)
    const iterator = stream
      .run({
        db,
        config: deps.config,
        log,
        signal,
        clock: deps.clock,
        options,
        runId,
        copyIn: warehouse.kind === 'server',
        state,
        idle,
        countRequests: (n = 1) => {
          pendingRequests += n
        },
        progress: (p) => {
          lastProgress = { ...lastProgress, ...p }
          deps.onProgress?.(key, { ...lastProgress, rows: counts.read })
        },
      })
      [Symbol.asyncIterator]()
    // Prefetch: the source parses / fetches batch n+1 while Postgres writes batch n.
    let next = iterator.next()
    let finished = false
    try {
      for (;;) {
        const item = await next
        if (item.done) {
          finished = true
          break
        }
        next = iterator.next()
        next.catch(() => {}) // surfaced when awaited on the next turn
        await commitBatch(deps, key, runId, item.value, counts, () => {
          const n = pendingRequests
          pendingRequests = 0
          return n
        })
        deps.onProgress?.(key, { ...lastProgress, rows: counts.read })
        if (signal.aborted) throw new EtlError('ABORTED', 'shutdown requested; committed batches are kept, the stream resumes next run')
      }
    } finally {
      // Whatever ended the loop (a failed commit, a shutdown), the source is closed: its files,
      // sockets and leases are released. The prefetched step finishes first (a generator cannot be
      // closed while it runs).
      if (!finished) await closeSource(iterator, next, log)
    }
    // A source may stop quietly when the signal fires; that is not a complete run.
    if (signal.aborted) throw new EtlError('ABORTED', 'shutdown requested; committed batches are kept, the stream resumes next run')
    let message = `${counts.read} read, ${counts.inserted} inserted, ${counts.updated} updated, ${counts.rejected} rejected`
    // Status values the vocabulary does not know are kept raw; the run says so (and `status` lists them).
    const unknown = await unknownStatuses(db, { source: stream.source, account: stream.account, sinceRun: runId })
    if (unknown.length) {
      message += `; ${describeUnknownStatuses(unknown)}`
      log.warn({ runId, unknownStatuses: unknown.map((u) => `${u.table}.${u.column}=${u.value}`) }, describeUnknownStatuses(unknown))
    }
    await finishRun(db, runId, { status: 'succeeded', requests: pendingRequests, message })
    counts.requests += pendingRequests
    log.info({ runId, ...counts, ms: Date.now() - started }, 'stream succeeded')
    return { ...key, runId, status: 'succeeded', counts, message }
  } catch (err) {
    counts.requests += pendingRequests
    const message = redact(errorMessage(err))
    // A warehouse that went away mid-run is named as such, not as an unexpected error.
    const code = err instanceof EtlError ? err.code : isDatabaseUnavailable(err) ? 'DB_UNAVAILABLE' : 'UNEXPECTED'
    if (err instanceof DeferredError) {
      await finishRun(db, runId, { status: 'deferred', requests: pendingRequests, message, errorCode: code, resumeAt: err.resumeAt ?? null })
      log.warn({ runId, code, resumeAt: err.resumeAt }, `stream deferred: ${message}`)
      return { ...key, runId, status: 'deferred', counts, message, errorCode: code, resumeAt: err.resumeAt }
    }
    const status = code === 'ABORTED' || signal.aborted ? 'aborted' : 'failed'
    await finishRun(db, runId, { status, requests: pendingRequests, message, errorCode: code }).catch((e) => log.error({ err: e }, 'could not record run end'))
    log.error({ runId, code, err }, `stream ${status}: ${message}`)
    return { ...key, runId, status, counts, message, errorCode: code }
  } finally {
    clearInterval(heart)
    deps.onProgress?.(key, { ...lastProgress, rows: counts.read, ended: true })
  }
}

/** Ends a source that did not run to its end; errors on the way are logged, the original error wins. */
async function closeSource<S>(iterator: AsyncIterator<Batch<S>>, pending: Promise<IteratorResult<Batch<S>>>, log: Logger): Promise<void> {
  try {
    const last = await pending.catch(() => ({ done: true }) as IteratorResult<Batch<S>>)
    if (!last.done) await iterator.return?.()
  } catch (err) {
    log.debug({ err }, 'closing the source after a failure failed')
  }
}

async function commitBatch<S>(deps: SyncDeps, key: StreamKey, runId: string, batch: Batch<S>, counts: RunCounts, takeRequests: () => number): Promise<void> {
  const add = emptyCounts()
  add.read = batch.read
  add.rejected = batch.rejects?.length ?? 0
  let fresh: NewFields[] = []
  await deps.warehouse.withTransaction(async (trx, copy) => {
    for (const write of batch.writes) {
      const c = await upsertRows(trx, write, copy)
      add.inserted += c.inserted
      add.updated += c.updated
      add.unchanged += c.unchanged
      add.deleted += c.deleted
      add.markedDeleted += c.markedDeleted
      add.undeleted += c.undeleted
      if (write.listing) await recordListingKeys(trx, key, write.listing, write.table, write.key, write.rows, write.encoded)
    }
    if (batch.listings) {
      for (const done of await applyListingOps(trx, key, batch.listings)) {
        add.markedDeleted += done.marked
        if (done.closedBefore) deps.log.info({ ...key, table: done.table }, 'listing closed already by another run of this stream; nothing marked by this one')
        else if (done.skipped) deps.log.warn({ ...key, table: done.table }, `deletions not marked: ${done.skipped}`)
        else deps.log.info({ ...key, table: done.table, marked: done.marked }, 'complete listing: rows absent upstream marked deleted')
      }
    }
    if (batch.rejects?.length) await insertRejects(trx, key, runId, batch.rejects)
    if (batch.fields?.length) fresh = await recordSeenFields(trx, key, runId, batch.fields)
    if (batch.onCommit) await batch.onCommit(trx)
    if (batch.state) await saveState(trx, key, batch.state, runId)
    add.requests = takeRequests()
    await addRunCounts(trx, runId, add)
  })
  for (const f of fresh) deps.log.warn({ ...key, scope: f.scope, names: f.names }, `the source sent new field(s) in ${f.scope}: ${f.names.join(', ')}`)
  counts.read += add.read
  counts.inserted += add.inserted
  counts.updated += add.updated
  counts.unchanged += add.unchanged
  counts.deleted += add.deleted
  counts.markedDeleted += add.markedDeleted
  counts.undeleted += add.undeleted
  counts.rejected += add.rejected
  counts.requests += add.requests
}

/**
 * The account queue (p-queue) with lendable slots. `idle(work)` marks the calling task as only
 * waiting: the queue's concurrency grows by one, so the next account starts; when `work` settles,
 * the task takes a slot again and, if all are busy, waits for one to free up (a task ending or
 * going idle) before it goes on. At most `size` tasks do work at any moment.
 */
export class Slots {
  readonly queue: PQueue
  private idleCount = 0
  private waiters: (() => void)[] = []

  constructor(private readonly size: number) {
    this.queue = new PQueue({ concurrency: size })
    this.queue.on('next', () => this.wake())
  }

  /** Tasks doing work now (started, not idle). */
  get active(): number {
    return this.queue.pending - this.idleCount
  }

  readonly idle = async <T>(work: Promise<T>): Promise<T> => {
    this.idleCount++
    this.queue.concurrency = this.size + this.idleCount
    this.wake()
    try {
      return await work
    } finally {
      this.idleCount--
      // Counted as working from here on, so the queue starts no new account before this one goes on.
      this.queue.concurrency = this.size + this.idleCount
      while (this.active > this.size) await new Promise<void>((resolve) => this.waiters.push(resolve))
    }
  }

  private wake(): void {
    const waiting = this.waiters
    this.waiters = []
    for (const resolve of waiting) resolve()
  }
}
