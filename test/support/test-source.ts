import { sql } from 'kysely'
import type { Db } from '../../src/db/index.js'
import type { Batch, SourceModule, Stream } from '../../src/contract.js'

/**
 * A minimal in-memory source used to exercise the runner: `items` (parent) with `item_tags`
 * (child set). Records come from `data`, which tests mutate between runs.
 */
export interface TestRecord {
  id: unknown
  name: string
  updated: number
  tags: string[]
}

export async function createTestTables(db: Db): Promise<void> {
  await sql`create schema if not exists testsrc`.execute(db)
  await sql`create table testsrc.items (account text not null, id bigint not null, name text not null, updated integer not null,
    extra jsonb not null default '{}', synced_at timestamptz not null default now(), primary key (account, id))`.execute(db)
  await sql`create table testsrc.item_tags (account text not null, item_id bigint not null, tag text not null,
    synced_at timestamptz not null default now(), primary key (account, item_id, tag))`.execute(db)
}

export function createTestSource(data: {
  records: TestRecord[]
  batchSize: number
  failAfter?: number /** Set when the source's generator was closed (its `finally` ran). */
  closed?: { value: boolean }
}): SourceModule {
  const stream: Stream = {
    source: 'testsrc',
    account: 'acct',
    name: 'items',
    async *run(ctx): AsyncIterable<Batch> {
      const since = Number(ctx.state?.watermark ?? -1)
      const todo = data.records.filter((r) => r.updated > since).sort((a, b) => a.updated - b.updated)
      let emitted = 0
      try {
        for (let i = 0; i < todo.length; i += data.batchSize) {
          if (data.failAfter !== undefined && emitted >= data.failAfter) throw new Error('source broke mid-stream')
          const chunk = todo.slice(i, i + data.batchSize)
          ctx.countRequests(1)
          const good = chunk.filter((r) => typeof r.id === 'number')
          const bad = chunk.filter((r) => typeof r.id !== 'number')
          emitted += chunk.length
          yield {
            read: chunk.length,
            writes: [
              {
                table: 'testsrc.items',
                key: ['account', 'id'],
                rows: good.map((r) => ({ account: 'acct', id: r.id, name: r.name, updated: r.updated, extra: { tagCount: r.tags.length } })),
              },
              {
                table: 'testsrc.item_tags',
                key: ['account', 'item_id', 'tag'],
                rows: good.flatMap((r) => r.tags.map((tag) => ({ account: 'acct', item_id: r.id, tag }))),
                replace: { columns: ['account', 'item_id'], keys: good.map((r) => ['acct', r.id]) },
              },
            ],
            rejects: bad.map((r) => ({ reason: `id is not a number: ${JSON.stringify(r.id)}`, raw: r, recordKey: String(r.id) })),
            state: { watermark: chunk[chunk.length - 1]!.updated },
          }
        }
      } finally {
        if (data.closed) data.closed.value = true
      }
    },
  }
  return { name: 'testsrc', streamNames: ['items'], streams: () => [stream] }
}
