import { Counter, Registry } from 'prom-client'

/**
 * Counters that only the process itself can see (nothing in the warehouse records them), incremented
 * where the event happens. Everything else `/metrics` shows is read from the warehouse at scrape time.
 */
export const processRegistry = new Registry()

/** KWIGA answers 429 (each one, before the wait), per cabinet config name. */
export const kwigaRateLimited = new Counter({
  name: 'course_etl_kwiga_rate_limited_total',
  help: 'KWIGA answers with status 429 (Too Many Requests) received by this process',
  labelNames: ['cabinet'] as const,
  registers: [processRegistry],
})
