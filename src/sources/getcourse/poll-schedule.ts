/**
 * When to check an export. Every check costs one request of a 100-per-2h budget (reference §3.4),
 * so the first check is timed from history: exports of this account became ready after a time that
 * grows with their row count, and we aim a little past the predicted moment (how far depends on how
 * sure the prediction is, see `bestAim`) so that most exports need exactly one check — which then
 * is the download.
 *
 * The model is log-normal: log readiness = α + β·log(rows + 1) + (stream offset) + ε, ε ~ N(0, σ²),
 * fitted to what past checks saw — an interval (last "not ready", ready] or only an upper bound
 * (ready at the first check) — by EM for censored data. The rows of the new window are not known
 * before it is exported, so they are predicted from the exports of the same days in other series
 * (`sameDaysRows`) or else from the windows just exported (`predictRows`), and that prediction's
 * own error widens σ.
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
 * What one more check is worth in exports fetched on time (see `bestAim`). Tuned on the
 * getcourse-polling bench and on synthetic histories: 0.9 → 2.30–2.31 requests an export,
 * 0.95 → 2.29, 1.1 → 2.25–2.29 with a median extra wait 4–6 points higher; the budget is ≤ 2.3.
 */
const REQUEST_PRICE = 0.95
/**
 * The first check is aimed no later than this many σ past the predicted median (the 93rd
 * percentile): an unsure prediction would save little more in requests and wait much longer
 * (bench: p90 extra wait 81 % instead of 87 %, the same requests).
 */
const AIM_MAX = 1.5
/** After a miss, check again at this multiple of the elapsed time (the miss says readiness is later). */
const STEP = 1.25
/**
 * Without any export that was caught still forming, all we know are upper bounds: probe earlier
 * each time until one check comes too early. That miss brackets the real readiness.
 */
const PROBE = 0.7
/** Recent exports the readiness model is fitted to; older ones weigh less, so the model follows drift. */
const HISTORY = 40
const DECAY = 0.97
/** Prior spread of log readiness, worth this many exports, until brackets tell the real one. */
const SIGMA_PRIOR = 0.3
const SIGMA_PRIOR_WEIGHT = 3
/** Readiness proportional to rows (β = 1) unless the history clearly says otherwise; weight of that prior. */
const SLOPE_PRIOR_WEIGHT = 1
/** Pull of a stream's own offset towards the account's common curve, in exports. */
const STREAM_PRIOR_WEIGHT = 3
/** Spread of a rows prediction with nothing similar to go by. */
const ROWS_SIGMA_UNKNOWN = 0.5
/** Exports `readinessHistory` reads: more than HISTORY, so earlier windows shared with other series are still there. */
export const ROWS_HISTORY = 160

const bracketed = (s: ReadinessSample) => s.pendingMs !== null && s.pendingMs > 0 && s.pendingMs < s.readyMs

export interface FirstCheck {
  waitMs: number
  /** True when the wait comes from history (then a miss is expected to be close). */
  learned: boolean
  /** The predicted median readiness and the log-spread of that prediction (for logs and tests). */
  predictedMs?: number
  sigma?: number
}

/**
 * The wait before the first check of a new export of `stream` over `days` days, from the account's
 * recent exports (newest first); `firstCheckSeconds` without any.
 */
export function firstCheckDelay(history: readonly ReadinessSample[], stream: string, days: number | null, poll: PollSettings, window?: SampleWindow): FirstCheck {
  const recent = history.slice(0, HISTORY)
  if (!recent.length) return { waitMs: poll.firstCheckSeconds * 1000, learned: false }
  const model = fitReadiness(recent)
  const rows = (window && sameDaysRows(history, stream, window, days)) ?? predictRows(recent, stream, days)
  const offset = model.offsets.get(stream) ?? 0
  const logMedian = model.alpha + model.beta * rows.log + offset
  const sigma = Math.sqrt(model.sigma ** 2 + (model.beta * rows.sigma) ** 2)
  // Only upper bounds so far: check at the estimate itself (below every earlier ready check), no headroom.
  const aim = model.bracketed ? bestAim(logMedian, sigma, poll) : 0
  const waitMs = firstWait(logMedian + aim, poll)
  return { waitMs, learned: true, predictedMs: Math.exp(logMedian), sigma }
}

/** Up to two intervals (the lease covers that): capped at one, every export longer than it costs an extra check. */
const firstWait = (logMs: number, poll: PollSettings) => Math.min(2 * poll.maxIntervalSeconds * 1000, Math.max(1, Math.exp(logMs)))

/**
 * Where to aim the first check, in log time past the predicted median, for a prediction of spread
 * `sigma`. An export is fetched on time when the check that finds it ready comes within STEP of its
 * readiness (the tolerance every later check keeps too); each check that finds it still forming
 * costs a request. The aim maximizes P(on time) − REQUEST_PRICE × E[extra checks] under the
 * log-normal prediction, over the very schedule `nextCheckDelay` follows: a sure prediction is
 * aimed just past the median, an unsure one later, so that its likely misses do not eat the budget.
 */
export function bestAim(logMedian: number, sigma: number, poll: PollSettings): number {
  const tolerance = Math.log(STEP)
  let best = { aim: 0, value: -Infinity }
  for (let k = -50; k <= AIM_MAX * 50; k++) {
    const aim = (k / 50) * sigma
    let t = firstWait(logMedian + aim, poll)
    let onTime = 0
    let extra = 0
    let before = -Infinity
    for (let check = 1; check <= 24; check++) {
      const z = (Math.log(t) - logMedian) / sigma
      // Ready in (previous check, this one] and no more than STEP before this one.
      onTime += Math.max(0, cdf(z) - cdf(Math.max(before, z - tolerance / sigma)))
      const later = 1 - cdf(z)
      if (later < 1e-6) break
      extra += later
      before = z
      t += nextCheckDelay(t, true, poll, check)
    }
    const value = onTime - REQUEST_PRICE * extra
    if (value > best.value) best = { aim, value }
  }
  return best.aim
}

/**
 * The wait after the `misses`-th "not ready" answer at `elapsedMs` since the start. A predicted
 * check should be close: check again at STEP × the elapsed time, so the extra wait stays under
 * STEP − 1 of the readiness; after the second miss the prediction was clearly off and the steps
 * grow faster. Unpredicted: double the elapsed time. Never more than `maxIntervalSeconds`.
 */
export function nextCheckDelay(elapsedMs: number, learned: boolean, poll: PollSettings, misses = 1): number {
  const step = learned ? elapsedMs * (STEP - 1) * 2 ** Math.max(0, misses - 2) : Math.max(elapsedMs, poll.firstCheckSeconds * 1000)
  return Math.min(poll.maxIntervalSeconds * 1000, Math.max(1, step))
}

// ── readiness as a function of rows ─────────────────────────────────────────────────────────────

export interface ReadinessModel {
  alpha: number
  beta: number
  sigma: number
  offsets: Map<string, number>
  /** False when no sample was ever caught forming (then the fit is of PROBE × the ready checks). */
  bracketed: boolean
}

const logRows = (rows: number) => Math.log(Math.max(0, rows) + 1)

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
  let theta = solve(samples, xs, weights, streams, samples.map((_, i) => (Number.isFinite(lo[i]!) ? (lo[i]! + hi[i]!) / 2 : hi[i]! - SIGMA_PRIOR)))
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

const predict = (theta: readonly number[], streams: readonly string[], stream: string, x: number) => theta[0]! + theta[1]! * x + theta[2 + streams.indexOf(stream)]!

/**
 * Weighted least squares of `ys` on [1, x, one column a stream], with ridge priors β → 1 and
 * stream offsets → 0 (so identical rows or a single stream still give a determinate fit).
 */
function solve(samples: readonly ReadinessSample[], xs: readonly number[], weights: readonly number[], streams: readonly string[], ys: readonly number[]): number[] {
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
function cdf(z: number): number {
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

// ── rows of the next window ─────────────────────────────────────────────────────────────────────

/** Log of a window's rows (+1), and the spread of that guess. */
export interface RowsGuess {
  log: number
  sigma: number
}

const similarLength = (a: number | null, b: number | null) => a !== null && b !== null && a > 0 && b > 0 && Math.max(a, b) / Math.min(a, b) <= 1.2
const logRate = (s: ReadinessSample) => logRows(s.rows) - Math.log(s.days!)

/** Candidates for the rows of the next window: the newest exports of a similar length. */
const CANDIDATES = 3
/** The prior ratio of two streams counts as this many examples (one odd pair must not win). */
const PRIOR_EXAMPLES = 2
/** A rows ratio is never taken as surer than a spread of 0.3 worth this many examples. */
const RATIO_SIGMA_WEIGHT = 0.25

/**
 * The `CANDIDATES` newest exports before position `at` of `history` (the next export's own position)
 * whose windows have a similar length to `days`, stopping at the first one of another length: windows
 * run one after another, so these saw nearly the same days (a history month after month, or the
 * streams of one nightly run one after another).
 */
function candidates(history: readonly ReadinessSample[], at: number, days: number | null): number[] {
  const out: number[] = []
  for (let i = at; i < history.length && out.length < CANDIDATES && similarLength(history[i]!.days, days); i++) out.push(i)
  return out
}

/**
 * Log of the rows (+1) a window of `days` days of `stream` will have, and the spread of that guess.
 * Each recent export of a similar length (see `candidates`) gives its rows per day times the ratio
 * the same pair (this stream, its stream, as many exports back) had in earlier runs; the guess is the
 * median of those, robust to one odd window (the first month of a history is often a partial one).
 * Otherwise the stream's median rows per day.
 */
export function predictRows(history: readonly ReadinessSample[], stream: string, days: number | null): RowsGuess {
  const dated = history.filter((s) => s.days !== null && s.days > 0)
  const near = days !== null && days > 0 ? candidates(history, 0, days) : []
  if (near.length) {
    // Past examples of each (stream, candidate stream, rank): how the rate changed between them.
    const examples = new Map<string, { delta: number; w: number }[]>()
    for (let i = 0; i < history.length; i++) {
      if (history[i]!.stream !== stream) continue
      candidates(history, i + 1, history[i]!.days).forEach((c, rank) => {
        const key = `${history[c]!.stream}#${rank}`
        const list = examples.get(key) ?? []
        list.push({ delta: logRate(history[i]!) - logRate(history[c]!), w: DECAY ** i })
        examples.set(key, list)
      })
    }
    const guesses = near.map((c, rank) => {
      const other = history[c]!
      // Without examples the ratio of the two streams' rows per day overall (none for the same stream).
      let prior = other.stream === stream ? 0 : streamRate(dated, stream) - streamRate(dated, other.stream)
      if (!Number.isFinite(prior)) prior = 0
      const pairs = examples.get(`${other.stream}#${rank}`) ?? []
      const { ratio, sigma } = learnedRatio([...pairs, { delta: prior, w: PRIOR_EXAMPLES }], pairs.reduce((t, p) => t + p.w, 0))
      return { log: logRate(other) + ratio + Math.log(days!), sigma }
    })
    return combine(guesses)
  }
  if (days === null || days <= 0 || !dated.length) {
    const own = history.filter((s) => s.stream === stream)
    return { log: median((own.length ? own : history).map((s) => logRows(s.rows))), sigma: ROWS_SIGMA_UNKNOWN }
  }
  const rate = streamRate(dated, stream)
  return { log: (Number.isFinite(rate) ? rate : median(dated.map(logRate))) + Math.log(days), sigma: ROWS_SIGMA_UNKNOWN }
}

const seriesOf = (stream: string, w: SampleWindow) => `${stream}/${w.field}/${w.groupId ?? ''}`
const spanOf = (w: SampleWindow) => `${w.from}..${w.to}`

/**
 * Log rows (+1) of `window` of `stream` from exports of the very same days in other series (another
 * stream, or the same stream by another date field): a nightly run exports users, then deals and
 * payments of the same days, and the twin created_at/status_changed_at windows of deals and payments
 * select nearly the same orders. Each such export gives its rows times the ratio the two series had
 * over the earlier windows both exported (their weighted median; its spread from their deviation).
 * Null when no other series exported these days and an earlier window in common with this one.
 */
export function sameDaysRows(history: readonly ReadinessSample[], stream: string, window: SampleWindow, days: number | null): RowsGuess | null {
  // Series → span → newest export of it (the history is newest first).
  const series = new Map<string, Map<string, { rows: number; days: number | null; at: number }>>()
  history.forEach((s, at) => {
    if (!s.window) return
    const key = seriesOf(s.stream, s.window)
    const spans = series.get(key) ?? new Map<string, { rows: number; days: number | null; at: number }>()
    const span = spanOf(s.window)
    if (!spans.has(span)) spans.set(span, { rows: s.rows, days: s.days, at })
    series.set(key, spans)
  })
  const mine = series.get(seriesOf(stream, window))
  const span = spanOf(window)
  if (!mine) return null
  const guesses: RowsGuess[] = []
  for (const [key, spans] of series) {
    const now = spans.get(span)
    if (key === seriesOf(stream, window) || !now) continue
    const pairs: { delta: number; w: number; similar: boolean }[] = []
    for (const [other, theirs] of spans) {
      const ours = mine.get(other)
      if (other === span || !ours) continue
      pairs.push({ delta: logRows(ours.rows) - logRows(theirs.rows), w: DECAY ** Math.max(ours.at, theirs.at), similar: similarLength(ours.days, days) })
    }
    // Two series keep their ratio over windows of one length; a month says little about a day.
    const similar = pairs.filter((p) => p.similar)
    const used = similar.length ? similar : pairs
    if (!used.length) continue
    const { ratio, sigma } = learnedRatio(used, used.reduce((t, p) => t + p.w, 0))
    guesses.push({ log: logRows(now.rows) + ratio, sigma: similar.length ? sigma : Math.max(sigma, ROWS_SIGMA_UNKNOWN) })
  }
  return guesses.length ? combine(guesses) : null
}

/**
 * A log ratio from weighted examples (`delta`, weight `w`): their weighted median, with a spread
 * from their median deviation, never surer than a spread of 0.3 worth RATIO_SIGMA_WEIGHT of
 * `weight` (the weight of the real examples among `points`).
 */
function learnedRatio(points: readonly { delta: number; w: number }[], weight: number): { ratio: number; sigma: number } {
  const ws = points.map((p) => p.w)
  const ratio = weightedMedian(points.map((p) => p.delta), ws)
  const mad = weightedMedian(points.map((p) => Math.abs(p.delta - ratio)), ws)
  return { ratio, sigma: Math.sqrt((weight * (1.4826 * mad) ** 2 + RATIO_SIGMA_WEIGHT * 0.3 ** 2) / (weight + RATIO_SIGMA_WEIGHT)) }
}

/** Several guesses as one: their median weighted by 1/σ²; guesses that disagree widen the surest one's spread. */
function combine(guesses: readonly RowsGuess[]): RowsGuess {
  const best = guesses.reduce((a, g) => (g.sigma < a.sigma ? g : a))
  const log = weightedMedian(guesses.map((g) => g.log), guesses.map((g) => 1 / g.sigma ** 2))
  const spread = median(guesses.map((g) => Math.abs(g.log - log)))
  return { log, sigma: Math.sqrt(best.sigma ** 2 + spread ** 2) }
}

/** Median log rows per day of `stream`'s dated exports; -Infinity without any. */
function streamRate(dated: readonly ReadinessSample[], stream: string): number {
  const own = dated.filter((s) => s.stream === stream)
  return own.length ? median(own.map(logRate)) : -Infinity
}

/** Weighted median; where the weight splits evenly between two values, their mean. */
function weightedMedian(xs: readonly number[], ws: readonly number[]): number {
  const order = xs.map((_, i) => i).sort((a, b) => xs[a]! - xs[b]!)
  const half = ws.reduce((t, w) => t + w, 0) / 2
  let acc = 0
  for (let k = 0; k < order.length; k++) {
    acc += ws[order[k]!]!
    if (Math.abs(acc - half) < 1e-9 * half && k + 1 < order.length) return (xs[order[k]!]! + xs[order[k + 1]!]!) / 2
    if (acc >= half) return xs[order[k]!]!
  }
  return xs[order.at(-1)!]!
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
