import { DECAY, logRows, type ReadinessSample, type SampleWindow } from './readiness-model.js'

/** The rows of the next window, predicted for `poll-schedule.ts` before it is exported. */

/** Spread of a rows prediction with nothing similar to go by. */
const ROWS_SIGMA_UNKNOWN = 0.5

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
      const { ratio, sigma } = learnedRatio(
        [...pairs, { delta: prior, w: PRIOR_EXAMPLES }],
        pairs.reduce((t, p) => t + p.w, 0),
      )
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
    const { ratio, sigma } = learnedRatio(
      used,
      used.reduce((t, p) => t + p.w, 0),
    )
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
  const ratio = weightedMedian(
    points.map((p) => p.delta),
    ws,
  )
  const mad = weightedMedian(
    points.map((p) => Math.abs(p.delta - ratio)),
    ws,
  )
  return { ratio, sigma: Math.sqrt((weight * (1.4826 * mad) ** 2 + RATIO_SIGMA_WEIGHT * 0.3 ** 2) / (weight + RATIO_SIGMA_WEIGHT)) }
}

/** Several guesses as one: their median weighted by 1/σ²; guesses that disagree widen the surest one's spread. */
function combine(guesses: readonly RowsGuess[]): RowsGuess {
  const best = guesses.reduce((a, g) => (g.sigma < a.sigma ? g : a))
  const log = weightedMedian(
    guesses.map((g) => g.log),
    guesses.map((g) => 1 / g.sigma ** 2),
  )
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
