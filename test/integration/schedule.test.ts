import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { systemClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config.js'
import { openWarehouse, type Warehouse } from '../../src/db/index.js'
import { loadJobs, type Job } from '../../src/jobs.js'
import { JobRunner } from '../../src/schedule.js'
import type { SourceModule } from '../../src/contract.js'
import { createTestWarehouse, quietLog, type TestWarehouse } from '../support/database.js'

let wh: TestWarehouse
beforeEach(async () => {
  wh = await createTestWarehouse()
})
afterEach(async () => wh.dispose())

const config = parseConfig({})
const job: Job = { name: 'slow', cron: '* * * * *', mode: 'incremental', file: 'inline' }

/** A source whose single stream emits nothing but takes `ms` (abortable) to do so. */
function slowSource(ms: number, started: string[]): SourceModule {
  return {
    name: 'slow',
    streamNames: ['wait'],
    streams: () => [
      {
        source: 'slow',
        account: 'a',
        name: 'wait',
        async *run(ctx) {
          started.push(ctx.runId)
          await ctx.clock.sleep(ms, ctx.signal).catch(() => {})
        },
      },
    ],
  }
}

describe('scheduler jobs', () => {
  it('loads job files and rejects invalid ones with the field named', () => {
    const jobs = loadJobs(path.resolve('jobs'))
    expect(jobs.map((j) => j.name).sort()).toEqual(['nightly', 'weekly-reconcile'])
    expect(jobs.find((j) => j.name === 'weekly-reconcile')).toMatchObject({ mode: 'full', cron: '0 6 * * 0' })
    expect(jobs.find((j) => j.name === 'weekly-reconcile')!.source).toBeUndefined()
    const dir = mkdtempSync(path.join(tmpdir(), 'jobs-'))
    writeFileSync(path.join(dir, 'bad.yaml'), 'name: bad\ncron: "every night"\n')
    expect(() => loadJobs(dir)).toThrow(/`cron`: expected a valid cron expression/)
  })

  it('a job that fires while its previous run is still going is skipped, not stacked', async () => {
    const started: string[] = []
    const runner = new JobRunner({ warehouse: wh, config, log: quietLog, clock: systemClock, sources: [slowSource(400, started)] })
    const [a, b] = await Promise.all([runner.run(job), runner.run(job)])
    expect([a.status, b.status].sort()).toEqual(['ran', 'skipped'])
    expect(started).toHaveLength(1)
  })

  it('two scheduler processes never run the same job at once (advisory lock on the server)', async (ctx) => {
    if (!wh.url) return ctx.skip() // embedded database: a single process by construction
    const other: Warehouse = await openWarehouse({ database: wh.url, log: quietLog })
    try {
      const started: string[] = []
      const r1 = new JobRunner({ warehouse: wh, config, log: quietLog, clock: systemClock, sources: [slowSource(500, started)] })
      const r2 = new JobRunner({ warehouse: other, config, log: quietLog, clock: systemClock, sources: [slowSource(500, started)] })
      const outcomes = await Promise.all([r1.run(job), r2.run(job)])
      expect(outcomes.map((o) => o.status).sort()).toEqual(['ran', 'skipped'])
      expect(outcomes.find((o) => o.status === 'skipped')).toMatchObject({ reason: 'running in another process' })
      expect(started).toHaveLength(1)
      // The lock is released when the run ends: the next firing runs.
      expect((await r2.run(job)).status).toBe('ran')
    } finally {
      await other.close()
    }
  })

  it('shutdown aborts a running job within the bounded time and records it as aborted', async () => {
    const runner = new JobRunner({ warehouse: wh, config, log: quietLog, clock: systemClock, sources: [slowSource(60_000, [])] })
    const run = runner.run(job)
    await new Promise((r) => setTimeout(r, 200))
    const t0 = Date.now()
    expect(await runner.shutdown(10_000)).toBe(true)
    expect(Date.now() - t0).toBeLessThan(5_000)
    const outcome = await run
    expect(outcome.status).toBe('ran')
    const runs = await wh.db.selectFrom('etl.runs').select(['status']).execute()
    expect(runs.map((r) => r.status)).toEqual(['aborted'])
    expect((await runner.run(job)).status).toBe('skipped')
  })
})
