import { sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { systemClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config.js'
import { runSync } from '../../src/sync.js'
import { createTestWarehouse, hasServer, quietLog, type TestWarehouse } from '../support/database.js'
import { createTestSource, createTestTables, type TestRecord } from '../support/test-source.js'

const server = await hasServer()

let wh: TestWarehouse
beforeEach(async () => {
  wh = await createTestWarehouse()
  await createTestTables(wh.db)
})
afterEach(async () => wh.dispose())

const config = parseConfig({})
const records = (n: number): TestRecord[] => Array.from({ length: n }, (_, i) => ({ id: i + 1, name: `item ${i + 1}`, updated: i, tags: ['a', `t${i % 3}`] }))

async function sync(data: Parameters<typeof createTestSource>[0]) {
  return runSync({ warehouse: wh, config, log: quietLog, clock: systemClock, sources: [createTestSource(data)] })
}

describe('runSync', () => {
  it('closes the source when a batch fails to commit (its files and sockets are released)', async () => {
    // A trigger fails the third batch, as a constraint or a full disk would.
    await sql`create function testsrc.refuse() returns trigger language plpgsql as $$ begin if new.id = 25 then raise exception 'refused by trigger'; end if; return new; end $$`.execute(
      wh.db,
    )
    await sql`create trigger refuse before insert on testsrc.items for each row execute function testsrc.refuse()`.execute(wh.db)
    const closed = { value: false }
    const res = await sync({ records: records(50), batchSize: 10, closed })
    expect(res.results[0]).toMatchObject({ status: 'failed' })
    expect(res.results[0]!.message).toContain('refused by trigger')
    expect(closed.value).toBe(true)
  })

  it('loads every record once, records the run, and a second run reads nothing new', async () => {
    const data = { records: records(25), batchSize: 10 }
    const first = await sync(data)
    expect(first.ok).toBe(true)
    expect(first.results[0]).toMatchObject({ status: 'succeeded', counts: { read: 25, inserted: 25 + 50, rejected: 0, requests: 3 } })
    const second = await sync(data)
    expect(second.results[0]!.counts.read).toBe(0)
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from testsrc.items`.execute(wh.db)
    expect(rows[0]!.n).toBe(25)
    const runs = await wh.db.selectFrom('etl.runs').selectAll().orderBy('id').execute()
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded'])
    expect(Number(runs[0]!.rows_read)).toBe(25)
    expect(runs[0]!.requests).toBe(3)
    const state = await wh.db.selectFrom('etl.stream_state').selectAll().executeTakeFirstOrThrow()
    expect(state.state).toEqual({ watermark: 24 })
  })

  it('re-loading the same rows never duplicates and leaves unchanged rows untouched', async () => {
    const data = { records: records(12), batchSize: 5 }
    await sync(data)
    await wh.db.deleteFrom('etl.stream_state').execute()
    const again = await sync(data)
    expect(again.results[0]!.counts).toMatchObject({ read: 12, inserted: 0, updated: 0, unchanged: 12 + 24 })
    data.records[3]!.name = 'renamed'
    await wh.db.deleteFrom('etl.stream_state').execute()
    const third = await sync(data)
    expect(third.results[0]!.counts).toMatchObject({ inserted: 0, updated: 1 })
    const { rows } = await sql<{ name: string }>`select name from testsrc.items where id = 4`.execute(wh.db)
    expect(rows[0]!.name).toBe('renamed')
  })

  it('replaces child sets so a removed tag disappears', async () => {
    const data = { records: records(3), batchSize: 10 }
    await sync(data)
    data.records[0]!.tags = ['a']
    data.records[0]!.updated = 100
    const res = await sync(data)
    expect(res.results[0]!.counts.deleted).toBe(1)
    const { rows } = await sql<{ tag: string }>`select tag from testsrc.item_tags where item_id = 1 order by tag`.execute(wh.db)
    expect(rows.map((r) => r.tag)).toEqual(['a'])
  })

  it('quarantines a malformed record with its reason and loads the rest', async () => {
    const list = records(6)
    list[2]!.id = 'x-3'
    const res = await sync({ records: list, batchSize: 10 })
    expect(res.results[0]).toMatchObject({ status: 'succeeded', counts: { read: 6, rejected: 1 } })
    const rejects = await wh.db.selectFrom('etl.rejects').selectAll().execute()
    expect(rejects).toHaveLength(1)
    expect(rejects[0]).toMatchObject({ source: 'testsrc', stream: 'items', account: 'acct', record_key: 'x-3' })
    expect(rejects[0]!.reason).toContain('not a number')
    expect((rejects[0]!.raw as TestRecord).name).toBe('item 3')
  })

  it('a stream that breaks mid-way keeps committed batches and resumes from the saved cursor', async () => {
    const data: Parameters<typeof createTestSource>[0] = { records: records(30), batchSize: 10, failAfter: 20 }
    const broken = await sync(data)
    expect(broken.ok).toBe(false)
    expect(broken.results[0]).toMatchObject({ status: 'failed', counts: { read: 20 } })
    const run = await wh.db.selectFrom('etl.runs').selectAll().executeTakeFirstOrThrow()
    expect(run.message).toContain('source broke mid-stream')
    delete data.failAfter
    const resumed = await sync(data)
    expect(resumed.results[0]!.counts.read).toBe(10)
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from testsrc.items`.execute(wh.db)
    expect(rows[0]!.n).toBe(30)
  })

  it('stores NUL characters and lone surrogates without failing the batch', async () => {
    const list = records(2)
    list[0]!.name = 'bad\u0000name\ud800'
    const res = await sync({ records: list, batchSize: 10 })
    expect(res.ok).toBe(true)
    const { rows } = await sql<{ name: string }>`select name from testsrc.items where id = 1`.execute(wh.db)
    expect(rows[0]!.name).toBe('badname\ufffd')
  })

  // The scheduler runs sync after sync in one process on one pool. Each sync holds a connection for
  // its liveness lock and listens for that connection's errors; the listener must leave with it.
  it.runIf(server || !!process.env.CI)('sync after sync in one process leaves no error listener behind on the pooled connections', async () => {
    const data = { records: records(5), batchSize: 5 }
    for (let i = 0; i < 15; i++) expect((await sync(data)).ok).toBe(true)
    const clients = await Promise.all(Array.from({ length: wh.pool!.totalCount }, () => wh.pool!.connect()))
    try {
      // pg-pool's own idle listener, while a client sits in the pool; none once it is checked out.
      for (const client of clients) expect(client.listenerCount('error')).toBeLessThanOrEqual(1)
    } finally {
      for (const client of clients) client.release()
    }
  })
})
