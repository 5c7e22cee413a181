import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import type { GetcourseAccountConfig } from './config.js'
import { httpTimeouts } from '../../http.js'
import type { Batch, RejectInput, Stream, StreamContext } from '../../contract.js'
import { GetcourseClient } from './client.js'
import { LocalTime } from './local-time.js'
import { normalizeField, normalizeGroup } from './normalize.js'

/**
 * `fields` and `groups`: direct answers, one request each (counted in the budget, reference §3.4),
 * loaded in one batch. Each answer is the whole list, so it is a complete listing: stored entries it
 * no longer has are marked deleted (README "Deletions").
 */
type Kind = 'fields' | 'groups'

const TABLE: Record<Kind, string> = { fields: 'getcourse.fields', groups: 'getcourse.groups' }

/** When the list was last read whole. */
export const dictionaryStateSchema = z.object({ syncedAt: z.string() })
export type DictionaryState = z.infer<typeof dictionaryStateSchema>

export function dictionaryStream(account: GetcourseAccountConfig, kind: Kind, budgetWaitMs: number): Stream<DictionaryState> {
  return {
    source: 'getcourse',
    account: account.name,
    name: kind,
    stateSchema: dictionaryStateSchema,
    async *run(ctx: StreamContext<DictionaryState>): AsyncIterable<Batch<DictionaryState>> {
      const client = new GetcourseClient(account, {
        db: ctx.db,
        clock: ctx.clock,
        log: ctx.log,
        signal: ctx.signal,
        countRequest: () => ctx.countRequests(1),
        budgetWaitMs,
        http: httpTimeouts(ctx.config.http),
      })
      ctx.progress({ phase: `reading ${kind}` })
      const items = kind === 'fields' ? await client.fields() : await client.groups()
      const context = { account: account.name, timeZone: account.timezone }
      const time = new LocalTime(account.timezone)
      const rows: Record<string, unknown>[] = []
      const rejects: RejectInput[] = []
      const seen: unknown[][] = []
      let unkeyed = 0
      for (const item of items) {
        const result = kind === 'fields' ? normalizeField(item, context) : normalizeGroup(item, context, time)
        if (result.ok) rows.push(result.row)
        else {
          rejects.push(result)
          if (result.recordKey) seen.push([account.name, result.recordKey])
          else unkeyed++
        }
      }
      const table = TABLE[kind]
      const key = ['account', 'id'] as const
      const listing = randomUUID()
      yield {
        writes: [{ table, key, rows, listing }],
        rejects,
        read: items.length,
        listings: {
          seen: [{ listing, table, key, keys: seen }],
          unkeyed: [{ listing, table, key, count: unkeyed }],
          complete: [{ listing, table, key, scope: { account: account.name } }],
        },
        state: { syncedAt: new Date(ctx.clock.now()).toISOString() },
      }
    },
  }
}
