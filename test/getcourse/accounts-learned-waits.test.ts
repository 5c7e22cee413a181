import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { firstCheckDelay, type ReadinessSample, type SampleWindow } from '../../src/sources/getcourse/poll-schedule.js'
import type { TestWarehouse } from '../support/database.js'
import { startHarness, type Harness } from './harness.js'

/**
 * The runner commits an export's last batch (which marks the export loaded) while the stream already
 * starts its next export. With many accounts on one warehouse commits get slow, and the first check
 * of the next export used to be timed without the export just loaded: identical accounts learned
 * different schedules (issue #6 item 6).
 */

/** The same warehouse, but every transaction stays open a while after its work (a busy server). */
function slowCommits(wh: TestWarehouse, ms: number): TestWarehouse {
  return Object.assign(Object.create(null) as object, wh, {
    withTransaction: <T>(fn: Parameters<TestWarehouse['withTransaction']>[0]) =>
      wh.withTransaction(async (trx, copy) => {
        const result = (await fn(trx, copy)) as T
        await new Promise((resolve) => setTimeout(resolve, ms))
        return result
      }),
  }) as TestWarehouse
}

interface ExportRow {
  stream: string
  rows: number
  first_wait_ms: number
  started_at: Date
  ready_at: Date
  last_pending_at: Date | null
  window_from: string
  window_to: string
  filter_field: string
  group_id: string | null
}

async function exportsOf(h: Harness, account: string): Promise<ExportRow[]> {
  const { rows } = await sql<ExportRow>`
    select stream, rows, first_wait_ms, started_at, ready_at, last_pending_at, window_from::text as window_from, window_to::text as window_to,
      filter_field, group_id::text as group_id
    from etl.getcourse_exports where account = ${account} and status = 'loaded'
    order by started_at, export_id`.execute(h.wh.db)
  return rows
}

const sample = (e: ExportRow): ReadinessSample => ({
  stream: e.stream,
  readyMs: e.ready_at.getTime() - e.started_at.getTime(),
  pendingMs: e.last_pending_at ? e.last_pending_at.getTime() - e.started_at.getTime() : null,
  rows: e.rows,
  days: (Date.parse(e.window_to) - Date.parse(e.window_from)) / 86_400_000 + 1,
  window: windowOf(e),
})

const windowOf = (e: ExportRow): SampleWindow => ({ field: e.filter_field, from: e.window_from, to: e.window_to, groupId: e.group_id })

describe('learned first checks with many accounts on one warehouse', () => {
  let h: Harness
  beforeAll(async () => {
    // Two accounts with the same data; one is synced through a warehouse whose commits are slow.
    h = await startHarness({ accounts: [{ seed: 11 }, { seed: 11 }], source: { fullStart: '2025-01-01' } })
    const fast = await h.sync({ accounts: ['school'] })
    const slow = await h.sync({ accounts: ['school1'] }, { warehouse: slowCommits(h.wh, 150) })
    expect([...fast.results, ...slow.results].every((r) => r.status === 'succeeded')).toBe(true)
  })
  afterAll(async () => h?.close())

  it('times the first check of every export from all exports loaded before it, the previous one included', async () => {
    const poll = h.config.getcourse[0]!.poll
    const exports = await exportsOf(h, 'school1')
    expect(exports.filter((e, i) => i > 0 && e.stream === exports[i - 1]!.stream).length).toBeGreaterThan(4)
    exports.forEach((e, i) => {
      const history = exports
        .slice(0, i)
        .sort((a, b) => b.ready_at.getTime() - a.ready_at.getTime())
        .map(sample)
      const days = (Date.parse(e.window_to) - Date.parse(e.window_from)) / 86_400_000 + 1
      expect({ i, stream: e.stream, firstWaitMs: e.first_wait_ms }).toEqual({
        i,
        stream: e.stream,
        firstWaitMs: Math.round(firstCheckDelay(history, e.stream, days, poll, windowOf(e)).waitMs),
      })
    })
  })

  it('gives accounts with the same data the same schedule, however fast the warehouse commits', async () => {
    const schedule = (es: ExportRow[]) =>
      es.map((e) => ({ stream: e.stream, rows: e.rows, firstWaitMs: e.first_wait_ms, readyMs: e.ready_at.getTime() - e.started_at.getTime() }))
    expect(schedule(await exportsOf(h, 'school1'))).toEqual(schedule(await exportsOf(h, 'school')))
  })
})
