/** The readiness model of `poll-schedule.ts`: log readiness against log rows, fitted by EM for censored data. */

/** One earlier export: it was still forming `pendingMs` after its start (if ever checked then) and ready at `readyMs`. */
export interface ReadinessSample {
  stream: string
  readyMs: number
  pendingMs: number | null
  rows: number
  days: number | null
  /** What it exported, when known: exports of the very same days in other series tell a window's rows. */
  window?: SampleWindow
}

/** An export's filter: the field and days it selected (and the group of a group_members export). */
export interface SampleWindow {
  field: string
  from: string
  to: string
  groupId?: string | null
}

/**
 * Without any export that was caught still forming, all we know are upper bounds: probe earlier
 * each time until one check comes too early. That miss brackets the real readiness.
 */
const PROBE = 0.7
/** Recent exports the readiness model is fitted to; older ones weigh less, so the model follows drift. */
export const HISTORY = 40
export const DECAY = 0.97
/** Prior spread of log readiness, worth this many exports, until brackets tell the real one. */
const SIGMA_PRIOR = 0.3
const SIGMA_PRIOR_WEIGHT = 3
/** Readiness proportional to rows (β = 1) unless the history clearly says otherwise; weight of that prior. */
const SLOPE_PRIOR_WEIGHT = 1
/** Pull of a stream's own offset towards the account's common curve, in exports. */
const STREAM_PRIOR_WEIGHT = 3

const bracketed = (s: ReadinessSample) => s.pendingMs !== null && s.pendingMs > 0 && s.pendingMs < s.readyMs

// ── readiness as a function of rows ─────────────────────────────────────────────────────────────

export interface ReadinessModel {
  alpha: number
  beta: number
  sigma: number
  offsets: Map<string, number>
  /** False when no sample was ever caught forming (then the fit is of PROBE × the ready checks). */
  bracketed: boolean
}

export const logRows = (rows: number) => Math.log(Math.max(0, rows) + 1)

/** Fits log readiness to log rows over `samples` (newest first), treating each as an interval. */
export function fitReadiness(samples: readonly ReadinessSample[]): ReadinessModel {
  const streams = [...new Set(samples.map((s) => s.stream))]
  const weights = samples.map((_, i) => DECAY ** i)
  const xs = samples.map((s) => logRows(s.rows))
  // Nothing was ever caught forming: the ready checks are upper bounds only, so take readiness a bit
  // below each of them (the next first check probes earlier); the fit is then an ordinary one.
  const anyBracket = samples.some(bracketed)
  const lo = samples.map((s) => (bracketed(s) ? Math.log(s.pendingMs!) : anyBracket ? -Infinity : Math.log(Math.max(1, s.readyMs * PROBE))))
  const hi = samples.map((s, i) => (anyBracket ? Math.log(Math.max(1, s.readyMs)) : lo[i]!))
  let theta = solve(
    samples,
    xs,
    weights,
    streams,
    samples.map((_, i) => (Number.isFinite(lo[i]!) ? (lo[i]! + hi[i]!) / 2 : hi[i]! - SIGMA_PRIOR)),
  )
  let sigma = SIGMA_PRIOR
  for (let iter = 0; iter < 60; iter++) {
    const means = samples.map((s, i) => predict(theta, streams, s.stream, xs[i]!))
    const ys: number[] = []
    const vars: number[] = []
    for (let i = 0; i < samples.length; i++) {
      const m = truncatedMoments((lo[i]! - means[i]!) / sigma, (hi[i]! - means[i]!) / sigma)
      ys.push(means[i]! + sigma * m.mean)
      vars.push(sigma ** 2 * m.variance)
    }
    const next = solve(samples, xs, weights, streams, ys)
    let ss = SIGMA_PRIOR_WEIGHT * SIGMA_PRIOR ** 2
    let ws = SIGMA_PRIOR_WEIGHT
    for (let i = 0; i < samples.length; i++) {
      ss += weights[i]! * (vars[i]! + (ys[i]! - predict(next, streams, samples[i]!.stream, xs[i]!)) ** 2)
      ws += weights[i]!
    }
    const nextSigma = Math.max(0.02, Math.sqrt(ss / ws))
    const moved = Math.abs(nextSigma - sigma) + next.reduce((d, v, k) => d + Math.abs(v - theta[k]!), 0)
    theta = next
    sigma = nextSigma
    if (moved < 1e-6) break
  }
  return { alpha: theta[0]!, beta: theta[1]!, sigma, offsets: new Map(streams.map((s, k) => [s, theta[2 + k]!])), bracketed: anyBracket }
}

const predict = (theta: readonly number[], streams: readonly string[], stream: string, x: number) =>
  theta[0]! + theta[1]! * x + theta[2 + streams.indexOf(stream)]!

/**
 * Weighted least squares of `ys` on [1, x, one column a stream], with ridge priors β → 1 and
 * stream offsets → 0 (so identical rows or a single stream still give a determinate fit).
 */
function solve(
  samples: readonly ReadinessSample[],
  xs: readonly number[],
  weights: readonly number[],
  streams: readonly string[],
  ys: readonly number[],
): number[] {
  const k = 2 + streams.length
  const a = Array.from({ length: k }, () => new Array<number>(k + 1).fill(0))
  samples.forEach((s, i) => {
    const row = new Array<number>(k).fill(0)
    row[0] = 1
    row[1] = xs[i]!
    row[2 + streams.indexOf(s.stream)] = 1
    for (let r = 0; r < k; r++) {
      for (let c = 0; c < k; c++) a[r]![c]! += weights[i]! * row[r]! * row[c]!
      a[r]![k]! += weights[i]! * row[r]! * ys[i]!
    }
  })
  a[1]![1]! += SLOPE_PRIOR_WEIGHT
  a[1]![k]! += SLOPE_PRIOR_WEIGHT * 1
  for (let r = 2; r < k; r++) a[r]![r]! += STREAM_PRIOR_WEIGHT
  // Gauss–Jordan with partial pivoting; the ridge terms keep the system regular.
  for (let c = 0; c < k; c++) {
    let p = c
    for (let r = c + 1; r < k; r++) if (Math.abs(a[r]![c]!) > Math.abs(a[p]![c]!)) p = r
    ;[a[c], a[p]] = [a[p]!, a[c]!]
    const pivot = a[c]![c]!
    if (Math.abs(pivot) < 1e-12) continue
    for (let r = 0; r < k; r++) {
      if (r === c) continue
      const f = a[r]![c]! / pivot
      if (f) for (let j = c; j <= k; j++) a[r]![j]! -= f * a[c]![j]!
    }
  }
  return a.map((row, r) => (Math.abs(row[r]!) < 1e-12 ? 0 : row[k]! / row[r]!))
}

const SQRT2PI = Math.sqrt(2 * Math.PI)
const pdf = (z: number) => (Number.isFinite(z) ? Math.exp(-0.5 * z * z) / SQRT2PI : 0)
/** Standard normal CDF (Abramowitz–Stegun 7.1.26 on erf, |error| < 1.5e-7). */
export function cdf(z: number): number {
  if (z === Infinity) return 1
  if (z === -Infinity) return 0
  const x = Math.abs(z) / Math.SQRT2
  const t = 1 / (1 + 0.3275911 * x)
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x)
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf)
}

/** Mean and variance of a standard normal restricted to (a, b]. */
function truncatedMoments(a: number, b: number): { mean: number; variance: number } {
  if (a === b) return { mean: a, variance: 0 }
  const mass = cdf(b) - cdf(a)
  if (mass < 1e-9) {
    // Far in a tail: the interval's nearer end (or its middle if it is narrow).
    const edge = b <= 0 ? b : a >= 0 ? a : 0
    return { mean: Number.isFinite(a) && Number.isFinite(b) ? (a + b) / 2 : edge, variance: 0 }
  }
  const mean = (pdf(a) - pdf(b)) / mass
  const second = 1 + ((Number.isFinite(a) ? a * pdf(a) : 0) - (Number.isFinite(b) ? b * pdf(b) : 0)) / mass
  return { mean, variance: Math.max(0, second - mean * mean) }
}
