import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import type pg from 'pg'
import type PgBoss from 'pg-boss'
import { claimDeadReplicas, deleteReplica, holdReplicaLock, liveReplicaLoad, saveReplica, tryLockAccount, unlockAccount, type HeldJob } from '../db/replicas.js'
import { EtlError, errorMessage } from '../errors.js'
import { jobSyncOptions, type Job } from '../jobs.js'
import type { SchedulerDeps } from '../schedule.js'
import { runSync } from '../sync.js'
import { ACCOUNT_QUEUE, enqueueTick, settleJobs, startQueue, tickOf, type AccountJobData } from './queue.js'

export interface ReplicaDeps extends SchedulerDeps {
  jobs: readonly Job[]
  /** HOST:PORT of this process's metrics / status server, shown to the others. */
  http?: string | null
  /** Called once when the lock session is lost (after the syncs were told to stop). */
  onLost?: (err: Error) => void
}

type Fetched = PgBoss.JobWithMetadata<AccountJobData>

/**
 * One `schedule` process among any number sharing a Postgres server. node-cron fires on every
 * replica; each inserts the tick's account jobs into the pg-boss queue under ids derived from (job,
 * tick, account), so the tick is queued once. Replicas fetch a fair share of the queue (SKIP LOCKED),
 * lock each account on their lock session (never two replicas on one account) and sync it with the
 * ordinary runner. A replica is alive while it heartbeats within `replicas.leaseSeconds` and its lock
 * session is open; the others take a dead replica's row and fail its jobs, which pg-boss retries
 * elsewhere. README "Replicas".
 */
export class Replica {
  readonly id = randomUUID()
  readonly host = hostname()
  private boss?: PgBoss
  private client?: pg.PoolClient
  /** Account jobs held now, by job id. */
  private readonly held = new Map<string, HeldJob>()
  private readonly controller = new AbortController()
  private readonly running = new Set<Promise<void>>()
  private timers: NodeJS.Timeout[] = []
  private stopping = false
  private lostError: Error | null = null
  private polling = false
  private pollAgain = false
  private lockChain: Promise<unknown> = Promise.resolve()

  constructor(private readonly deps: ReplicaDeps) {}

  /** False once the lock session is lost or the replica is stopping (`/healthz` answers 503). */
  get healthy(): boolean {
    return !!this.client && !this.lostError && !this.stopping
  }

  get doing(): HeldJob[] {
    return [...this.held.values()]
  }

  /** At most this many accounts held at once; slot lending inside each sync bounds the work to `concurrency`. */
  private get maxHeld(): number {
    return this.deps.config.concurrency * 4
  }

  async start(): Promise<void> {
    const { warehouse, config, log } = this.deps
    if (!warehouse.pool) throw new EtlError('USAGE', 'replicas need a Postgres server (config `database`)')
    const r = config.replicas
    this.boss = await startQueue(config, log, { retryDelaySeconds: Math.max(1, Math.ceil(r.heartbeatSeconds)) })
    const client = await warehouse.pool.connect()
    client.on('error', (err) => this.lose(err))
    try {
      await holdReplicaLock(client, this.id)
      this.client = client
      await saveReplica(client, this.row())
    } catch (err) {
      client.release(err as Error)
      throw err
    }
    const every = (seconds: number, fn: () => Promise<unknown>) => {
      const t = setInterval(() => void fn().catch((err) => log.warn({ err }, `replica: ${errorMessage(err)}`)), seconds * 1000)
      t.unref()
      this.timers.push(t)
    }
    every(r.heartbeatSeconds, () => this.exclusive((c) => saveReplica(c, this.row())))
    every(r.pollSeconds, async () => {
      await this.sweep()
      await this.poll()
    })
    log.info({ replica: this.id, host: this.host, pid: process.pid, leaseSeconds: r.leaseSeconds }, 'replica started')
    await this.sweep()
    await this.poll()
  }

  /** A node-cron tick: queue the job's accounts (once across replicas), then look for work. */
  async tick(job: Job, scheduled: Date): Promise<void> {
    if (!this.boss || this.stopping) return
    const tick = tickOf(scheduled)
    const n = await enqueueTick(this.boss, job, this.deps.config, tick)
    this.deps.log.info({ job: job.name, tick, accounts: n }, 'job tick queued')
    await this.poll()
  }

  private row() {
    return { id: this.id, host: this.host, pid: process.pid, http: this.deps.http ?? null, doing: this.doing }
  }

  private lose(err: Error): void {
    if (this.lostError) return
    this.lostError = err
    this.deps.log.error({ err }, 'replica lost its database session: its account locks are gone, stopping its syncs (other replicas take them over)')
    this.controller.abort(new EtlError('ABORTED', 'the replica lost its database session'))
    this.deps.onLost?.(err)
  }

  /** Queries on the lock session, one at a time (a fetch is a transaction there). */
  private exclusive<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = this.client
    if (!client || this.lostError) return Promise.reject(this.lostError ?? new Error('replica not started'))
    const next = this.lockChain.then(() => fn(client))
    this.lockChain = next.catch(() => {})
    return next
  }

  /** Fails the jobs of dead replicas: pg-boss retries them, and a live replica (maybe this one) takes them. */
  private async sweep(): Promise<void> {
    if (!this.boss || this.stopping) return
    const dead = await this.exclusive((c) => claimDeadReplicas(c, this.id, this.deps.config.replicas.leaseSeconds))
    for (const d of dead) {
      const ids = d.doing.map((j) => j.jobId)
      if (ids.length) await settleJobs(this.boss, ids, 'fail', { message: `replica ${d.host}/${d.pid} stopped; its accounts are taken over` })
      this.deps.log.warn({ replica: d.id, host: d.host, pid: d.pid, accounts: d.doing.map((j) => `${j.source}/${j.account}`) }, 'took over a dead replica')
    }
  }

  /** Takes this replica's share of the queued account jobs and starts them. */
  async poll(): Promise<void> {
    if (!this.boss || this.stopping || this.lostError) return
    if (this.polling) {
      this.pollAgain = true
      return
    }
    this.polling = true
    try {
      do {
        this.pollAgain = false
        const free = this.maxHeld - this.held.size
        if (free <= 0) break
        const queued = await this.boss.getQueueSize(ACCOUNT_QUEUE)
        if (!queued) break
        const load = await this.exclusive((c) => liveReplicaLoad(c, this.deps.config.replicas.leaseSeconds))
        // An even share of everything queued or held among the live replicas, less what this one holds.
        const share = Math.ceil((queued + load.held) / Math.max(1, load.live)) - this.held.size
        const n = Math.min(free, Math.max(share, this.held.size ? 0 : 1))
        if (n <= 0) break
        const jobs = await this.exclusive((c) => this.fetch(c, n))
        if (!jobs.length) break
        await this.dispatch(jobs)
      } while (this.pollAgain)
    } finally {
      this.polling = false
    }
  }

  /** Fetch and record as held in one transaction: a job is never active without a replica row naming it. */
  private async fetch(client: pg.PoolClient, n: number): Promise<Fetched[]> {
    await client.query('begin')
    let jobs: Fetched[] = []
    try {
      jobs = await this.boss!.fetch<AccountJobData>(ACCOUNT_QUEUE, {
        batchSize: n,
        includeMetadata: true,
        db: { executeSql: (text, values) => client.query(text, values) },
      })
      const since = new Date().toISOString()
      for (const j of jobs) this.held.set(j.id, { jobId: j.id, ...j.data, since })
      await saveReplica(client, this.row())
      await client.query('commit')
      return jobs
    } catch (err) {
      for (const j of jobs) this.held.delete(j.id)
      await client.query('rollback').catch(() => {})
      throw err
    }
  }

  /** Locks each fetched account and starts one sync per (job, tick, source); the rest are skipped or retried. */
  private async dispatch(jobs: Fetched[]): Promise<void> {
    const { log } = this.deps
    const groups = new Map<string, { job: Job; tick: string; source: string; items: Fetched[] }>()
    const busyHere = new Set(this.doing.filter((h) => !jobs.some((j) => j.id === h.jobId)).map((h) => `${h.source}:${h.account}`))
    for (const j of jobs) {
      const def = this.deps.jobs.find((d) => d.name === j.data.job)
      const key = `${j.data.source}:${j.data.account}`
      let skip: string | undefined
      if (!def) skip = `no job named "${j.data.job}" on this replica (replicas must share one jobs folder)`
      else if (busyHere.has(key)) skip = 'previous run still going on this replica'
      else if (!(await this.exclusive((c) => tryLockAccount(c, j.data.source, j.data.account)))) {
        if (j.retryCount > 0) {
          // A takeover whose dead replica's session the server has not closed yet: try again shortly.
          await this.release([j], 'retry', { message: 'account still locked by a replica being taken over' })
          continue
        }
        skip = 'running on another replica'
      }
      if (skip || !def) {
        log.info({ job: j.data.job, account: key, reason: skip }, 'account job skipped')
        await this.release([j], 'complete', { skipped: skip })
        continue
      }
      busyHere.add(key)
      const gk = `${def.name}\u0000${j.data.tick}\u0000${j.data.source}`
      const g = groups.get(gk) ?? { job: def, tick: j.data.tick, source: j.data.source, items: [] }
      g.items.push(j)
      groups.set(gk, g)
    }
    for (const g of groups.values()) {
      const work = this.runGroup(g.job, g.source, g.items)
      this.running.add(work)
      void work.finally(() => {
        this.running.delete(work)
        void this.poll().catch((err) => log.warn({ err }, `replica: ${errorMessage(err)}`))
      })
    }
  }

  private async runGroup(job: Job, source: string, items: Fetched[]): Promise<void> {
    const { log, config } = this.deps
    const accounts = items.map((j) => j.data.account)
    log.info({ job: job.name, source, accounts: accounts.length, tick: items[0]!.data.tick }, 'replica syncing accounts')
    const handBack: Fetched[] = []
    const done: Fetched[] = []
    try {
      const summary = await runSync(
        { ...this.deps, signal: this.controller.signal, concurrency: config.concurrency },
        { ...jobSyncOptions(job), source, accounts },
      )
      for (const j of items) {
        const mine = summary.results.filter((r) => r.account === j.data.account)
        // Aborted because this replica is leaving: another replica finishes the account.
        if (this.controller.signal.aborted && mine.some((r) => r.status === 'aborted')) handBack.push(j)
        else done.push(j)
      }
      const failed = summary.results.filter((r) => r.status === 'failed').length
      log[failed ? 'warn' : 'info']({ job: job.name, source, accounts: accounts.length, streams: summary.results.length, failed }, 'replica synced accounts')
      if (done.length) await this.release(done, 'complete', { invocation: summary.invocation })
    } catch (err) {
      log.error({ err, job: job.name, source }, `replica could not sync accounts: ${errorMessage(err)}`)
      handBack.push(...items.filter((j) => !done.includes(j)))
    } finally {
      if (handBack.length) await this.release(handBack, 'retry', { message: 'handed back by a replica that stopped' }).catch(() => {})
      if (!this.lostError) {
        for (const j of items) await this.exclusive((c) => unlockAccount(c, j.data.source, j.data.account)).catch(() => {})
      }
    }
  }

  /** Completes or fails (→ pg-boss retries elsewhere) jobs, then forgets them. */
  private async release(jobs: Fetched[], how: 'complete' | 'retry', output: object): Promise<void> {
    const ids = jobs.map((j) => j.id)
    try {
      await settleJobs(this.boss!, ids, how === 'complete' ? 'complete' : 'fail', output)
    } finally {
      for (const id of ids) this.held.delete(id)
      await this.exclusive((c) => saveReplica(c, this.row())).catch(() => {})
    }
  }

  /** Stop fetching, abort running syncs (committed batches stay; their accounts go back to the queue), deregister. */
  async stop(timeoutMs: number): Promise<boolean> {
    this.stopping = true
    for (const t of this.timers) clearInterval(t)
    this.controller.abort(new EtlError('ABORTED', 'the replica is stopping'))
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs)
    })
    const finished = await Promise.race([Promise.allSettled([...this.running]).then(() => true), timeout])
    clearTimeout(timer)
    if (this.client) {
      if (!this.lostError) await this.exclusive((c) => deleteReplica(c, this.id)).catch(() => {})
      // Destroyed, not returned to the pool: closing the session frees every lock it holds.
      this.client.release(true)
      this.client = undefined
    }
    await this.boss?.stop({ graceful: false, close: true, wait: true, timeout: 5000 }).catch(() => {})
    return finished
  }
}
