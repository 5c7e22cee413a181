/**
 * Counters that only the process itself can see (nothing in the warehouse records them), incremented
 * where the event happens. Plain numbers here, so that every command does not load prom-client for
 * them: `/metrics` (observe/metrics.ts) turns them into Prometheus counters at scrape time. Everything
 * else `/metrics` shows is read from the warehouse.
 */

const rateLimited = new Map<string, number>()

/** KWIGA answers 429 (each one, before the wait), per cabinet config name. */
export const kwigaRateLimited = {
  inc(labels: { cabinet: string }): void {
    rateLimited.set(labels.cabinet, (rateLimited.get(labels.cabinet) ?? 0) + 1)
  },
}

/** `course_etl_kwiga_rate_limited_total` by cabinet, as counted so far by this process. */
export function kwigaRateLimitedCounts(): ReadonlyMap<string, number> {
  return rateLimited
}
