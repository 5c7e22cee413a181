import { cdf, fitReadiness, HISTORY, type ReadinessSample, type SampleWindow } from './readiness-model.js'
import { predictRows, sameDaysRows } from './rows-prediction.js'

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

export { fitReadiness, type ReadinessModel, type ReadinessSample, type SampleWindow } from './readiness-model.js'
export { predictRows, type RowsGuess, sameDaysRows } from './rows-prediction.js'

export interface PollSettings {
  firstCheckSeconds: number
  maxIntervalSeconds: number
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
/** Exports `readinessHistory` reads: more than HISTORY, so earlier windows shared with other series are still there. */
export const ROWS_HISTORY = 160

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
export function firstCheckDelay(
  history: readonly ReadinessSample[],
  stream: string,
  days: number | null,
  poll: PollSettings,
  window?: SampleWindow,
): FirstCheck {
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
