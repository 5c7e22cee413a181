import { PassThrough } from 'node:stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { systemClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config.js'
import { saveState } from '../../src/db/runs.js'
import { createLogger } from '../../src/log.js'
import type { SourceModule, Stream } from '../../src/contract.js'
import { runSync } from '../../src/sync.js'
import { createTestWarehouse, type TestWarehouse } from '../support/database.js'

/** The runner checks saved state against the stream's schema; a state that does not fit starts the stream fresh. */
let wh: TestWarehouse
beforeEach(async () => {
  wh = await createTestWarehouse()
})
afterEach(async () => wh.dispose())

const stateSchema = z.object({ cursor: z.number().int(), seen: z.array(z.string()) })
type State = z.infer<typeof stateSchema>

function source(seen: (State | null)[]): SourceModule {
  const stream: Stream<State> = {
    source: 'fake',
    account: 'acct',
    name: 'items',
    stateSchema,
    async *run(ctx) {
      seen.push(ctx.state)
      yield { writes: [], read: 0, state: { cursor: (ctx.state?.cursor ?? 0) + 1, seen: [...(ctx.state?.seen ?? []), 'run'] } }
    },
  }
  return { name: 'fake', streamNames: ['items'], streams: () => [stream] }
}

describe('typed stream state', () => {
  it('hands a valid saved state to the stream, typed', async () => {
    const seen: (State | null)[] = []
    const log = createLogger({ level: 'silent', pretty: false })
    const deps = { warehouse: wh, config: parseConfig({}), log, clock: systemClock, sources: [source(seen)] }
    await runSync(deps)
    await runSync(deps)
    expect(seen).toEqual([null, { cursor: 1, seen: ['run'] }])
  })

  it('starts fresh, and says so, when the saved state is of an older shape', async () => {
    await saveState(wh.db, { source: 'fake', account: 'acct', stream: 'items' }, { watermark: '2024-01-01', cursor: 'not a number' }, null)
    const out = new PassThrough()
    const lines: string[] = []
    out.on('data', (c: Buffer) => lines.push(c.toString('utf8')))
    const seen: (State | null)[] = []
    const res = await runSync({
      warehouse: wh,
      config: parseConfig({}),
      log: createLogger({ level: 'info', destination: out, pretty: false }),
      clock: systemClock,
      sources: [source(seen)],
    })
    expect(res.ok).toBe(true)
    expect(seen).toEqual([null])
    expect(lines.join('')).toContain('saved state does not fit this version of the stream; it starts fresh')
    const saved = await wh.db.selectFrom('etl.stream_state').select('state').executeTakeFirstOrThrow()
    expect(saved.state).toEqual({ cursor: 1, seen: ['run'] })
  })
})
