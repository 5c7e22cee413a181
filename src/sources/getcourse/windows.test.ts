import { describe, expect, it } from 'vitest'
import { firstCheckDelay, nextCheckDelay, type ReadinessSample } from './poll-schedule.js'
import { incrementalRange, monthsPerWindow, planWindows, splitWindow, windowFilters } from './windows.js'

describe('export windows', () => {
  it('cuts a range into calendar-month windows, one export per field, `to` inclusive', () => {
    expect(planWindows('2025-01-15', '2025-03-10', ['created_at', 'status_changed_at'], 1)).toEqual([
      { field: 'created_at', from: '2025-01-15', to: '2025-01-31' },
      { field: 'status_changed_at', from: '2025-01-15', to: '2025-01-31' },
      { field: 'created_at', from: '2025-02-01', to: '2025-02-28' },
      { field: 'status_changed_at', from: '2025-02-01', to: '2025-02-28' },
      { field: 'created_at', from: '2025-03-01', to: '2025-03-10' },
      { field: 'status_changed_at', from: '2025-03-01', to: '2025-03-10' },
    ])
    expect(windowFilters({ field: 'added_at', from: '2025-01-01', to: '2025-01-31' })).toEqual({ 'added_at[from]': '2025-01-01', 'added_at[to]': '2025-01-31' })
  })

  it('widens windows so a full history fits a quarter of the budget', () => {
    const months = monthsPerWindow('2010-01-01', '2026-01-15', 2, 90)
    const windows = planWindows('2010-01-01', '2026-01-15', ['created_at', 'status_changed_at'], months)
    expect(windows.length * 2.3).toBeLessThanOrEqual(90 / 4 + 4.6)
    expect(monthsPerWindow('2026-01-14', '2026-01-15', 2, 90)).toBe(1)
  })

  it('overlaps incremental windows by a day and halves a failed window', () => {
    expect(incrementalRange('2026-01-15', '2026-01-16')).toEqual({ from: '2026-01-14', to: '2026-01-16' })
    expect(splitWindow({ field: 'created_at', from: '2026-01-01', to: '2026-01-10' })).toEqual([
      { field: 'created_at', from: '2026-01-01', to: '2026-01-05' },
      { field: 'created_at', from: '2026-01-06', to: '2026-01-10' },
    ])
    expect(splitWindow({ field: 'created_at', from: '2026-01-01', to: '2026-01-01' })).toBeNull()
  })
})

describe('poll schedule', () => {
  const poll = { firstCheckSeconds: 30, maxIntervalSeconds: 600 }
  it('waits firstCheckSeconds without history, then doubles', () => {
    expect(firstCheckDelay([], 'users', 2, poll)).toEqual({ waitMs: 30_000, learned: false })
    expect(nextCheckDelay(30_000, false, poll)).toBe(30_000)
    expect(nextCheckDelay(700_000, false, poll)).toBe(600_000)
  })

  it('aims just past readiness bracketed by an earlier miss', () => {
    // Nights of about 2000 rows, each caught forming at 60 s and ready by 66 s.
    const history: ReadinessSample[] = [1950, 2050, 2000, 1980, 2020].map((rows) => ({ stream: 'deals', readyMs: 66_000, pendingMs: 60_000, rows, days: 2 }))
    const { waitMs, learned } = firstCheckDelay(history, 'deals', 2, poll)
    expect(learned).toBe(true)
    expect(waitMs).toBeGreaterThan(63_000)
    expect(waitMs).toBeLessThan(80_000)
    // A miss of a learned check: again at 1.25 × the elapsed time, faster after the second miss.
    expect(nextCheckDelay(70_000, true, poll, 1)).toBe(17_500)
    expect(nextCheckDelay(70_000, true, poll, 2)).toBe(17_500)
    expect(nextCheckDelay(70_000, true, poll, 3)).toBe(35_000)
    expect(nextCheckDelay(3_000_000, true, poll, 1)).toBe(600_000)
  })

  it('probes earlier while every check found the export ready', () => {
    const history: ReadinessSample[] = [{ stream: 'users', readyMs: 30_000, pendingMs: null, rows: 10, days: 1 }]
    expect(firstCheckDelay(history, 'users', 1, poll).waitMs).toBeCloseTo(30_000 * 0.7, 0)
  })
})
