import pg from 'pg'
import { createHash } from 'node:crypto'
import PgBoss from 'pg-boss'
import { sourceAccounts, type Config } from '../config.js'
import type { Job } from '../jobs.js'
import type { Logger } from '../log.js'
import { allSources } from '../sources/index.js'

/** pg-boss keeps its tables in their own schema of the warehouse database. */
export const QUEUE_SCHEMA = 'etl_queue'
/** One queue: one job per (scheduled job, tick, account). */
export const ACCOUNT_QUEUE = 'course-etl-account'

/** What one queued job asks for: sync one account of one scheduled job, for one tick. */
export interface AccountJobData {
  job: string
  /** The tick (scheduled time, whole seconds, ISO) the job fired for. */
  tick: string
  source: string
  account: string
}

/**
 * The same id on every replica for the same job, tick and account: each replica's node-cron inserts the
 * tick's jobs, and pg-boss's `insert … on conflict do nothing` keeps the first. So a job fires once per
 * tick across replicas, whatever their number. (A UUID v5-shaped SHA-1 of the four parts.)
 */
export function accountJobId(d: AccountJobData): string {
  const h = createHash('sha1').update(`course-etl\u0000${d.job}\u0000${d.tick}\u0000${d.source}\u0000${d.account}`).digest()
  h[6] = (h[6]! & 0x0f) | 0x50
  h[8] = (h[8]! & 0x3f) | 0x80
  const x = h.subarray(0, 16).toString('hex')
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20, 32)}`
}

/** The tick a node-cron run is for: its scheduled time to the whole second, identical on every host. */
export function tickOf(date: Date): string {
  return new Date(Math.floor(date.getTime() / 1000) * 1000).toISOString()
}

/** The accounts a job covers, per source, in config order (unknown names in `job.accounts` are left out). */
export function jobAccounts(job: Job, config: Config): { source: string; account: string }[] {
  const all = allSources.flatMap((m) => sourceAccounts(config, m).map((a) => ({ source: m.name, account: a.name })))
  return all.filter((a) => (!job.source || a.source === job.source) && (!job.accounts?.length || job.accounts.includes(a.account)))
}

export interface QueueOptions {
  /** A retried job (its replica died) whose account is still locked waits this long before the next try. */
  retryDelaySeconds: number
}

/** pg-boss on the warehouse database: no cron of its own (node-cron triggers), its maintenance on. */
export async function startQueue(config: Config, log: Logger, options: QueueOptions): Promise<PgBoss> {
  if (!config.database) throw new Error('the queue needs a Postgres server')
  const boss = new PgBoss({
    connectionString: config.database,
    schema: QUEUE_SCHEMA,
    application_name: 'course-etl-queue',
    max: 3,
    schedule: false,
    supervise: true,
    migrate: true,
  })
  boss.on('error', (err) => log.warn({ err }, 'job queue error'))
  // Replicas starting together would install the queue's schema and create its queue (DDL) at the same
  // moment, which Postgres may answer with a deadlock: they take turns on a session advisory lock.
  const setup = new pg.Client({ connectionString: config.database, application_name: 'course-etl-queue-setup' })
  await setup.connect()
  try {
    await setup.query(`select pg_advisory_lock(hashtextextended('course-etl:queue-setup', 0))`)
    await boss.start()
    if (!(await boss.getQueue(ACCOUNT_QUEUE))) {
      await boss.createQueue(ACCOUNT_QUEUE, {
        name: ACCOUNT_QUEUE,
        policy: 'standard',
        // A retry is a takeover (the replica died, or left and handed its accounts back); a sync's own
        // failures are in etl.runs and retried by the next tick, never by the queue.
        retryLimit: 50,
        retryDelay: options.retryDelaySeconds,
        retryBackoff: false,
        // Backstop only: replicas are watched by their lease; a sync may legitimately take many hours.
        expireInSeconds: 23 * 3600,
        retentionMinutes: 24 * 60,
      })
    }
  } finally {
    // Ending the session releases the lock as well.
    await setup.end().catch(() => {})
  }
  return boss
}

/** Inserts the tick's account jobs; the ones another replica already inserted are kept as they are. */
export async function enqueueTick(boss: PgBoss, job: Job, config: Config, tick: string): Promise<number> {
  const accounts = jobAccounts(job, config)
  if (!accounts.length) return 0
  const rows = accounts.map((a) => {
    const data: AccountJobData = { job: job.name, tick, ...a }
    return { id: accountJobId(data), name: ACCOUNT_QUEUE, data }
  })
  await boss.insert(rows)
  return rows.length
}

/** pg-boss takes an array of ids with output data at run time; its types only name one id for that form. */
export async function settleJobs(boss: PgBoss, ids: string[], how: 'complete' | 'fail', output: object): Promise<void> {
  const call = (how === 'complete' ? boss.complete : boss.fail).bind(boss) as (name: string, ids: string[], data: object) => Promise<unknown>
  await call(ACCOUNT_QUEUE, ids, output)
}
