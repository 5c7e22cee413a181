import { hostname } from 'node:os'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { SchedulerDeps } from '../schedule.js'
import { budgetStatus } from '../sources/getcourse/ledger.js'
import { kwigaRateLimitedCounts } from './counters.js'
import { lastSuccesses, processExportWaits, processRunTotals } from './queries.js'

export interface Metrics {
  readonly contentType: string
  render(): Promise<string>
}

/** When this process started counting: its runs from here on are its counters. */
const PROCESS_START = new Date(Date.now() - Math.round(process.uptime() * 1000))

/**
 * The scheduler's Prometheus metrics. Counters are this process's own (its runs in `etl.runs`, by host
 * and pid, since it started), so summing over replicas counts each run once; gauges describe the
 * warehouse (freshness, GetCourse budget), the same on every replica. Labels carry config names, stream
 * names and statuses only: never a key, token, cabinet hash or URL.
 */
export function createMetrics(deps: SchedulerDeps): Metrics {
  const { warehouse, config } = deps
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'course_etl_' })
  const registers = [registry]
  new Counter({
    name: 'course_etl_kwiga_rate_limited_total',
    help: 'KWIGA answers with status 429 (Too Many Requests) received by this process',
    labelNames: ['cabinet'] as const,
    registers,
    // Counted in plain numbers where it happens (observe/counters.ts), read at scrape time.
    collect() {
      this.reset()
      for (const [cabinet, n] of kwigaRateLimitedCounts()) this.inc({ cabinet }, n)
    },
  })
  const runs = new Counter({
    name: 'course_etl_runs_total',
    help: 'Stream runs finished by this process, by outcome (succeeded, failed, deferred, aborted)',
    labelNames: ['source', 'account', 'stream', 'status'] as const,
    registers,
  })
  const loaded = new Counter({
    name: 'course_etl_rows_loaded_total',
    help: 'Rows upserted into the warehouse by this process (inserted + updated + unchanged)',
    labelNames: ['source', 'account', 'stream'] as const,
    registers,
  })
  const rejected = new Counter({
    name: 'course_etl_rows_rejected_total',
    help: 'Source records this process quarantined in etl.rejects',
    labelNames: ['source', 'account', 'stream'] as const,
    registers,
  })
  const requests = new Counter({
    name: 'course_etl_api_requests_total',
    help: 'GetCourse / KWIGA API requests sent by this process (every attempt)',
    labelNames: ['source', 'account'] as const,
    registers,
  })
  const lastSuccess = new Gauge({
    name: 'course_etl_last_success_timestamp_seconds',
    help: 'When the last successful run of the stream finished (UNIX seconds, any process)',
    labelNames: ['source', 'account', 'stream'] as const,
    registers,
  })
  const lastSuccessAge = new Gauge({
    name: 'course_etl_last_success_age_seconds',
    help: 'Seconds since the last successful run of the stream finished (database clock)',
    labelNames: ['source', 'account', 'stream'] as const,
    registers,
  })
  const budgetRemaining = new Gauge({
    name: 'course_etl_getcourse_budget_remaining',
    help: 'GetCourse requests still allowed in the current window (budget.requests - budget.reserve - used)',
    labelNames: ['account'] as const,
    registers,
  })
  const budgetUsed = new Gauge({
    name: 'course_etl_getcourse_budget_used',
    help: 'GetCourse requests recorded in the current budget window (all processes, shared per school)',
    labelNames: ['account'] as const,
    registers,
  })
  const exportWait = new Histogram({
    name: 'course_etl_getcourse_export_wait_seconds',
    help: 'From starting a GetCourse export until it was seen ready, exports started by this process',
    labelNames: ['account'] as const,
    buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600],
    registers,
  })
  const seenExports = new Set<string>()
  const host = hostname()

  async function refresh(): Promise<void> {
    const db = warehouse.db
    runs.reset()
    loaded.reset()
    rejected.reset()
    requests.reset()
    for (const r of await processRunTotals(db, host, process.pid, PROCESS_START)) {
      const stream = { source: r.source, account: r.account, stream: r.stream }
      if (r.status !== 'running') runs.inc({ ...stream, status: r.status }, r.runs)
      loaded.inc(stream, r.loaded)
      rejected.inc(stream, r.rejected)
      requests.inc({ source: r.source, account: r.account }, r.requests)
    }
    lastSuccess.reset()
    lastSuccessAge.reset()
    for (const s of await lastSuccesses(db)) {
      const labels = { source: s.source, account: s.account, stream: s.stream }
      lastSuccess.set(labels, s.at.getTime() / 1000)
      lastSuccessAge.set(labels, Math.max(0, s.age))
    }
    budgetRemaining.reset()
    budgetUsed.reset()
    for (const account of config.getcourse) {
      const b = await budgetStatus(db, account, Date.now())
      budgetUsed.set({ account: account.name }, b.used)
      budgetRemaining.set({ account: account.name }, b.blockedUntil ? 0 : Math.max(0, b.limit - b.used))
    }
    for (const e of await processExportWaits(db, host, process.pid, PROCESS_START)) {
      const key = `${e.account}\u0000${e.id}`
      if (seenExports.has(key)) continue
      seenExports.add(key)
      exportWait.observe({ account: e.account }, Math.max(0, e.seconds))
    }
  }

  return {
    contentType: registry.contentType,
    async render() {
      await refresh()
      return registry.metrics()
    },
  }
}
