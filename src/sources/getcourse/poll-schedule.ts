/**
 * When to check an export. Every check costs one request of a 100-per-2h budget (reference §3.4),
 * so the first check is timed from history: exports of this account became ready after a time that
 * grows with their row count, and we aim just past the predicted moment so that most exports need
 * exactly one check — which then is the download.
 */

export interface PollSettings {
  firstCheckSeconds: number
  maxIntervalSeconds: number
}

/** One earlier export: it was still forming `pendingMs` after its start (if ever checked then) and ready at `readyMs`. */
export interface ReadinessSample {
  stream: string
  readyMs: number
  pendingMs: number | null
  rows: number
  days: number | null
}

/** Aim this much past the predicted readiness. */
const HEADROOM = 1.1
/**
 * Without any export that was caught still forming, all we know are upper bounds: probe earlier
 * each time until one check comes too early. That miss brackets the real readiness.
 */
const PROBE = 0.7
/** Recent exports considered; a bracket older than this is re-probed, so the estimate follows drift. */
const HISTORY = 12

const bracketed = (s: ReadinessSample) => s.pendingMs !== null && s.pendingMs < s.readyMs

/** Best guess of when a past export really became ready (between its last "not ready" and its ready check). */
export function readinessEstimate(s: ReadinessSample): number {
  return bracketed(s) ? (s.pendingMs! + s.readyMs) / 2 : s.readyMs * PROBE
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/** Least-squares fit `readiness = base + perRow × rows`, both ≥ 0; null when rows do not vary. */
function fitByRows(samples: readonly ReadinessSample[]): { base: number; perRow: number } | null {
  if (samples.length < 3) return null
  const xs = samples.map((s) => s.rows)
  const ys = samples.map(readinessEstimate)
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length
  const my = ys.reduce((a, b) => a + b, 0) / ys.length
  let sxx = 0
  let sxy = 0
  for (let i = 0; i < xs.length; i++) {
    sxx += (xs[i]! - mx) ** 2
    sxy += (xs[i]! - mx) * (ys[i]! - my)
  }
  if (sxx === 0) return null
  const perRow = Math.max(0, sxy / sxx)
  return { base: Math.max(0, my - perRow * mx), perRow }
}

/** Rows an export of `days` days will have, from the rows per day of earlier exports of the stream. */
function expectedRows(samples: readonly ReadinessSample[], days: number | null): number | null {
  const rates = samples.filter((s) => s.days && s.days > 0).map((s) => s.rows / s.days!)
  if (!rates.length || days === null) return null
  return median(rates) * days
}

export interface FirstCheck {
  waitMs: number
  /** True when the wait comes from history (then a miss is expected to be close). */
  learned: boolean
}

/**
 * The wait before the first check of a new export of `stream` over `days` days. Uses the stream's own
 * history when there is some, else the account's other streams, else `firstCheckSeconds`.
 */
export function firstCheckDelay(history: readonly ReadinessSample[], stream: string, days: number | null, poll: PollSettings): FirstCheck {
  const own = history.filter((s) => s.stream === stream).slice(0, HISTORY)
  const recent = own.length >= 2 ? own : history.slice(0, HISTORY)
  if (!recent.length) return { waitMs: poll.firstCheckSeconds * 1000, learned: false }
  const brackets = recent.filter(bracketed)
  const samples = brackets.length ? brackets : recent
  const fit = fitByRows(samples)
  const rows = expectedRows(own.length ? own : samples, days)
  const predicted = fit && rows !== null ? fit.base + fit.perRow * rows : median(samples.map(readinessEstimate))
  // Up to two intervals (the lease covers that): capped at one, every export longer than it costs an extra check.
  const waitMs = Math.min(2 * poll.maxIntervalSeconds * 1000, Math.max(1, predicted * HEADROOM))
  return { waitMs, learned: true }
}

/**
 * The wait after the `misses`-th "not ready" answer at `elapsedMs` since the start. A predicted
 * check should be close: step 10 % of the elapsed time, doubling with each further miss, so the
 * bracket around the real readiness stays tight. Unpredicted: double the elapsed time. Never more
 * than `maxIntervalSeconds`.
 */
export function nextCheckDelay(elapsedMs: number, learned: boolean, poll: PollSettings, misses = 1): number {
  const step = learned ? elapsedMs * 0.1 * 2 ** Math.max(0, misses - 1) : Math.max(elapsedMs, poll.firstCheckSeconds * 1000)
  return Math.min(poll.maxIntervalSeconds * 1000, Math.max(1, step))
}
