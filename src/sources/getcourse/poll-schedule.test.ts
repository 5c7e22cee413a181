import { describe, expect, it } from 'vitest'
import { bestAim, firstCheckDelay, fitReadiness, nextCheckDelay, predictRows, sameDaysRows, type ReadinessSample } from './poll-schedule.js'

const poll = { firstCheckSeconds: 30, maxIntervalSeconds: 600 }

/** A seeded standard normal (LCG + Box–Muller), so the synthetic history is the same every run. */
function normals(seed: number): () => number {
  let s = seed
  const u = () => ((s = (s * 1_103_515_245 + 12_345) % 2 ** 31) + 0.5) / 2 ** 31
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u())
}

/** Runs `count` exports through the schedule (newest first in the returned history), like export-stream does. */
function simulate(count: number, rowsOf: (i: number) => number, medianOf: (rows: number) => number, sigma = 0.25, days = 3) {
  const z = normals(7)
  const history: ReadinessSample[] = []
  const runs: { requests: number; extra: number; error: number }[] = []
  for (let i = 0; i < count; i++) {
    const rows = rowsOf(i)
    const ready = medianOf(rows) * Math.exp(sigma * z())
    const first = firstCheckDelay(history, 'users', days, poll)
    let t = first.waitMs
    let pending: number | null = null
    let requests = 2
    for (let misses = 1; t < ready; misses++, requests++) {
      pending = t
      t += nextCheckDelay(t, first.learned, poll, misses)
    }
    history.unshift({ stream: 'users', readyMs: t, pendingMs: pending, rows, days })
    runs.push({ requests, extra: (t - ready) / ready, error: first.predictedMs ? Math.log(first.predictedMs / medianOf(rows)) : NaN })
  }
  return { history, runs }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!

describe('readiness model', () => {
  it('converges on a synthetic history: median, spread and a schedule close to one check an export', () => {
    const { history, runs } = simulate(
      150,
      (i) => 400 + ((i * 37) % 200),
      (rows) => 900 * rows,
    )
    const model = fitReadiness(history.slice(0, 40))
    expect(model.sigma).toBeGreaterThan(0.15)
    expect(model.sigma).toBeLessThan(0.35)
    const steady = runs.slice(50)
    // The predicted median of each new export, against the true one (log ratio), on average.
    expect(Math.abs(steady.reduce((t, r) => t + r.error, 0) / steady.length)).toBeLessThan(0.1)
    expect(steady.reduce((t, r) => t + r.requests, 0) / steady.length).toBeLessThan(2.45)
    expect(median(steady.map((r) => r.extra))).toBeLessThan(0.4)
  })

  it('without any bracket probes below the earlier ready checks', () => {
    const history: ReadinessSample[] = [
      { stream: 'users', readyMs: 40_000, pendingMs: null, rows: 100, days: 3 },
      { stream: 'users', readyMs: 50_000, pendingMs: null, rows: 100, days: 3 },
    ]
    const first = firstCheckDelay(history, 'users', 3, poll)
    expect(first.learned).toBe(true)
    expect(first.waitMs).toBeLessThan(40_000)
    expect(first.waitMs).toBeGreaterThan(20_000)
  })

  it('learns from a single bracketed sample: just past its readiness', () => {
    const first = firstCheckDelay([{ stream: 'deals', readyMs: 66_000, pendingMs: 60_000, rows: 500, days: 3 }], 'deals', 3, poll)
    expect(first.learned).toBe(true)
    expect(first.waitMs).toBeGreaterThan(60_000)
    expect(first.waitMs).toBeLessThan(2 * 66_000)
  })

  it('fits identical rows (slope from its prior) and stays finite', () => {
    const history: ReadinessSample[] = Array.from({ length: 10 }, (_, i) => ({
      stream: 'users',
      readyMs: 100_000 + i * 1000,
      pendingMs: i % 3 ? null : 90_000,
      rows: 200,
      days: 30,
    }))
    const model = fitReadiness(history)
    expect(model.beta).toBeCloseTo(1, 1)
    const { waitMs } = firstCheckDelay(history, 'users', 30, poll)
    expect(Number.isFinite(waitMs)).toBe(true)
    expect(waitMs).toBeGreaterThan(90_000)
    expect(waitMs).toBeLessThan(200_000)
  })

  it('times a day window after a month-window history by its expected rows, not like a month', () => {
    // Monthly history: 3000 rows in 30 days, ready after ~300 s; some caught forming.
    const months: ReadinessSample[] = Array.from({ length: 12 }, (_, i) => ({
      stream: 'users',
      readyMs: 300_000,
      pendingMs: i % 4 ? null : 260_000,
      rows: 3000,
      days: 30,
    }))
    expect(Math.exp(predictRows(months, 'users', 3).log)).toBeCloseTo(301, -1)
    const month = firstCheckDelay(months, 'users', 30, poll).waitMs
    const day = firstCheckDelay(months, 'users', 3, poll).waitMs
    expect(day).toBeLessThan(month / 4)
    expect(day).toBeGreaterThan(15_000)
  })

  it('predicts a stream from the other stream just exported over the same days, by their learned ratio', () => {
    // Nightly runs: users then deals (1.5 × the users) over the same 3 days; volume varies night to night.
    const nights = [100, 60, 140, 80, 120, 90]
    const history: ReadinessSample[] = []
    for (const n of nights) {
      history.unshift({ stream: 'users', readyMs: 900 * n, pendingMs: null, rows: n, days: 3 })
      history.unshift({ stream: 'deals', readyMs: 900 * 1.5 * n, pendingMs: 800 * 1.5 * n, rows: 1.5 * n, days: 3 })
    }
    history.unshift({ stream: 'users', readyMs: 900 * 200, pendingMs: null, rows: 200, days: 3 })
    const deals = predictRows(history, 'deals', 3)
    expect(Math.exp(deals.log) - 1).toBeGreaterThan(270)
    expect(Math.exp(deals.log) - 1).toBeLessThan(330)
  })

  it('predicts the rows of a window from the other series that exported the very same days', () => {
    // Monthly history: users, then deals by created_at (1.5 × the users) and by status_changed_at (0.9 × those).
    const months = ['2025-01', '2025-02', '2025-03', '2025-04', '2025-05', '2025-06']
    const volume = [400, 520, 610, 480, 700, 560]
    const history: ReadinessSample[] = []
    const add = (stream: string, field: string, month: string, rows: number) =>
      history.unshift({ stream, readyMs: 900 * rows, pendingMs: null, rows, days: 30, window: { field, from: `${month}-01`, to: `${month}-30` } })
    months.forEach((m, i) => add('users', 'created_at', m, volume[i]!))
    months.forEach((m, i) => add('deals', 'created_at', m, 1.5 * volume[i]!))
    add('users', 'created_at', '2025-07', 900)
    const created = sameDaysRows(history, 'deals', { field: 'created_at', from: '2025-07-01', to: '2025-07-30' }, 30)!
    expect(Math.exp(created.log) - 1).toBeCloseTo(1350, -1)
    expect(created.sigma).toBeLessThan(0.15)
    // Without the windows, the newest exports of a month's length are the guide: further off.
    expect(Math.abs(predictRows(history, 'deals', 30).log - Math.log(1351))).toBeGreaterThan(5 * Math.abs(created.log - Math.log(1351)))

    months.forEach((m, i) => add('deals', 'status_changed_at', m, Math.round(0.9 * 1.5 * volume[i]!)))
    add('deals', 'created_at', '2025-07', 1350)
    const status = sameDaysRows(history, 'deals', { field: 'status_changed_at', from: '2025-07-01', to: '2025-07-30' }, 30)!
    expect(Math.exp(status.log) - 1).toBeCloseTo(1215, -1)

    // A 3-day window that only months have in common with the other series: the ratio applies, but unsure.
    history.unshift({
      stream: 'users',
      readyMs: 36_000,
      pendingMs: null,
      rows: 40,
      days: 3,
      window: { field: 'created_at', from: '2025-07-29', to: '2025-07-31' },
    })
    const day = sameDaysRows(history, 'deals', { field: 'created_at', from: '2025-07-29', to: '2025-07-31' }, 3)!
    expect(Math.exp(day.log) - 1).toBeCloseTo(60, -1)
    expect(day.sigma).toBeGreaterThanOrEqual(0.5)
    // Nothing else exported these days: no prediction from them.
    expect(sameDaysRows(history, 'payments', { field: 'created_at', from: '2025-07-01', to: '2025-07-30' }, 30)).toBeNull()
    expect(sameDaysRows(history, 'users', { field: 'created_at', from: '2025-08-01', to: '2025-08-30' }, 30)).toBeNull()
  })

  it('aims a sure prediction just past the median, an unsure one later, never past 1.5σ', () => {
    const median = Math.log(120_000)
    const aims = [0.05, 0.1, 0.25, 0.5, 1].map((sigma) => bestAim(median, sigma, poll))
    // Sure: within the STEP tolerance (1.25 ×), so a check that finds it ready is on time.
    expect(aims[1]).toBeGreaterThan(0)
    expect(aims[1]).toBeLessThan(Math.log(1.25))
    for (let i = 1; i < aims.length; i++) expect(aims[i]).toBeGreaterThan(aims[i - 1]!)
    // 0.25 is the spread of a well-learned account: about 0.8σ past the median, ~79 % ready at the first check.
    expect(aims[2]! / 0.25).toBeGreaterThan(0.6)
    expect(aims[2]! / 0.25).toBeLessThan(1)
    expect(aims[4]).toBeLessThanOrEqual(1.5 + 1e-9)
  })
})
