import cron, { type ScheduledTask } from 'node-cron'
import { EtlError } from '../errors.js'
import type { Job } from '../jobs.js'
import { startObserveServer, type ObserveServer } from '../observe/server.js'
import { type JobRunner, type SchedulerDeps, scheduleJobs } from '../schedule.js'
import { Replica } from './replica.js'

export interface StartSchedulerOptions extends SchedulerDeps {
  jobs: readonly Job[]
  /** The in-process runner: the embedded database (one process) keeps using it. */
  runner: JobRunner
  /** `--http HOST:PORT`; else config `server`; else no server. */
  http?: string
}

export interface RunningScheduler {
  replica: Replica | null
  server: ObserveServer | null
  /** Stop the triggers, hand running accounts back (replicas) and close the server. */
  stop(): Promise<boolean>
}

/** `HOST:PORT` (`[::1]:9464` for IPv6). */
export function parseHostPort(value: string): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(value)
  const port = m ? Number(m[2]) : Number.NaN
  if (!m || port > 65535) throw new EtlError('USAGE', `--http expects HOST:PORT such as 127.0.0.1:9464, got "${value}"`)
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port }
}

/**
 * `schedule`: on a Postgres server every process is a replica (queue-backed, see replica.ts) and
 * node-cron only queues ticks; on the embedded database the in-process runner runs whole jobs.
 */
export async function startScheduler(o: StartSchedulerOptions): Promise<RunningScheduler> {
  const { config, log, warehouse } = o
  const address = o.http ? parseHostPort(o.http) : config.server ? { host: config.server.host, port: config.server.port } : null
  if (address && o.http && config.server?.token === undefined && !['127.0.0.1', 'localhost', '::1'].includes(address.host))
    throw new EtlError('USAGE', `--http ${o.http} is not loopback: set server.token in the config to expose the status page`)
  let replica: Replica | null = null
  let tasks: ScheduledTask[]
  if (warehouse.pool) {
    replica = new Replica({
      ...o,
      http: address ? `${address.host}:${address.port}` : null,
      // Without its lock session a replica can hold no account: stop through the normal SIGTERM path
      // (hand back, deregister, exit); a supervisor (compose `restart`, systemd) starts a fresh one.
      onLost: () => process.kill(process.pid, 'SIGTERM'),
    })
    await replica.start()
    const r = replica
    tasks = o.jobs.map((job) => {
      const timezone = job.timezone ?? config.timezone
      const task = cron.schedule(job.cron, (ctx) => r.tick(job, ctx.date).catch((err) => log.error({ job: job.name, err }, 'job tick could not be queued')), {
        name: job.name,
        timezone,
      })
      log.info({ job: job.name, cron: job.cron, timezone, next: task.getNextRun()?.toISOString() }, 'job scheduled (queued across replicas)')
      return task
    })
  } else {
    tasks = scheduleJobs(o.jobs, o.runner, config, log)
  }
  let server: ObserveServer | null = null
  try {
    if (address) server = await startObserveServer({ ...o, replica, host: address.host, port: address.port, token: config.server?.token })
  } catch (err) {
    for (const t of tasks) await t.stop()
    await replica?.stop(1000)
    throw err
  }
  return {
    replica,
    server,
    async stop() {
      for (const t of tasks) await t.stop()
      const clean = replica ? await replica.stop(config.shutdownSeconds * 1000) : true
      await server?.close()
      return clean
    },
  }
}
