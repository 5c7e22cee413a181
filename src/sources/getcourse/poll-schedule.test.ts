import { describe, expect, it } from 'vitest'
import { firstCheckDelay, fitReadiness, nextCheckDelay, predictRows, type ReadinessSample } from './poll-schedule.js'

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
    const { history, runs } = simulate(150, (i) => 400 + ((i * 37) % 200), (rows) => 900 * rows)
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
    const history: ReadinessSample[] = Array.from({ length: 10 }, (_, i) => ({ stream: 'users', readyMs: 100_000 + i * 1000, pendingMs: i % 3 ? null : 90_000, rows: 200, days: 30 }))
    const model = fitReadiness(history)
    expect(model.beta).toBeCloseTo(1, 1)
    const { waitMs } = firstCheckDelay(history, 'users', 30, poll)
    expect(Number.isFinite(waitMs)).toBe(true)
    expect(waitMs).toBeGreaterThan(90_000)
    expect(waitMs).toBeLessThan(200_000)
  })

  it('times a day window after a month-window history by its expected rows, not like a month', () => {
    // Monthly history: 3000 rows in 30 days, ready after ~300 s; some caught forming.
    const months: ReadinessSample[] = Array.from({ length: 12 }, (_, i) => ({ stream: 'users', readyMs: 300_000, pendingMs: i % 4 ? null : 260_000, rows: 3000, days: 30 }))
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
})
