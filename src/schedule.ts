import cron, { type ScheduledTask } from 'node-cron'
import type { Clock } from './clock.js'
import type { Config } from './config.js'
import type { Warehouse } from './db/index.js'
import { jobSyncOptions, type Job } from './jobs.js'
import type { Logger } from './log.js'
import type { SourceModule } from './contract.js'
import { runSync, type SyncSummary } from './sync.js'

export interface SchedulerDeps {
  warehouse: Warehouse
  config: Config
  log: Logger
  clock: Clock
  sources: readonly SourceModule[]
}

export type JobOutcome = { status: 'ran'; summary: SyncSummary } | { status: 'skipped'; reason: string }

/**
 * Runs a job unless another process (or this one) is already running it. On a server the guard is a
 * session-level advisory lock held on a dedicated connection for the whole run: if the process dies
 * the connection closes and the lock goes with it. The embedded database is one process by
 * construction, so an in-process set is enough there.
 */
export class JobRunner {
  private readonly local = new Set<string>()
  private readonly running = new Set<Promise<unknown>>()
  private readonly controller = new AbortController()

  constructor(private readonly deps: SchedulerDeps) {}

  get signal(): AbortSignal {
    return this.controller.signal
  }

  async run(job: Job): Promise<JobOutcome> {
    const { log } = this.deps
    if (this.controller.signal.aborted) return { status: 'skipped', reason: 'shutting down' }
    if (this.local.has(job.name)) return { status: 'skipped', reason: 'previous run still going in this process' }
    this.local.add(job.name)
    const work = this.runLocked(job)
    this.running.add(work)
    try {
      const outcome = await work
      if (outcome.status === 'skipped') log.info({ job: job.name, reason: outcome.reason }, 'job skipped')
      return outcome
    } finally {
      this.running.delete(work)
      this.local.delete(job.name)
    }
  }

  private async runLocked(job: Job): Promise<JobOutcome> {
    const { warehouse, log } = this.deps
    const pool = warehouse.pool
    const client = pool ? await pool.connect() : undefined
    try {
      if (client) {
        const { rows } = await client.query<{ ok: boolean }>(`select pg_try_advisory_lock(hashtextextended('course-etl:job:' || $1, 0)) as ok`, [job.name])
        if (!rows[0]?.ok) return { status: 'skipped', reason: 'running in another process' }
      }
      log.info({ job: job.name }, 'job started')
      const summary = await runSync({ ...this.deps, signal: this.controller.signal, concurrency: this.deps.config.concurrency }, jobSyncOptions(job))
      const failed = summary.results.filter((r) => r.status === 'failed').length
      log[failed ? 'warn' : 'info']({ job: job.name, invocation: summary.invocation, streams: summary.results.length, failed }, 'job finished')
      return { status: 'ran', summary }
    } finally {
      if (client) {
        await client.query(`select pg_advisory_unlock(hashtextextended('course-etl:job:' || $1, 0))`, [job.name]).catch(() => {})
        client.release()
      }
    }
  }

  /** Stop taking work, abort running syncs (their committed batches stay), wait at most `timeoutMs`. */
  async shutdown(timeoutMs: number): Promise<boolean> {
    this.controller.abort()
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs)
    })
    const done = Promise.allSettled([...this.running]).then(() => true)
    const finished = await Promise.race([done, timeout])
    clearTimeout(timer)
    return finished
  }
}

/** node-cron wiring only: every job fires `runner.run`; no business logic lives here. */
export function scheduleJobs(jobs: readonly Job[], runner: JobRunner, config: Config, log: Logger): ScheduledTask[] {
  return jobs.map((job) => {
    const task = cron.schedule(
      job.cron,
      async () => {
        try {
          await runner.run(job)
        } catch (err) {
          log.error({ job: job.name, err }, 'job failed')
        }
      },
      { name: job.name, timezone: job.timezone ?? config.timezone, noOverlap: true },
    )
    task.on('execution:overlap', () => log.warn({ job: job.name }, 'job skipped: previous run still going'))
    log.info({ job: job.name, cron: job.cron, timezone: job.timezone ?? config.timezone, next: task.getNextRun()?.toISOString() }, 'job scheduled')
    return task
  })
}
