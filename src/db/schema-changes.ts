import { sql } from 'kysely'
import type { Db } from './index.js'
import type { StreamKey } from './runs.js'
import type { SeenFields } from '../contract.js'

/** Names a batch saw in one scope (a GetCourse export's column titles, a KWIGA endpoint's item fields): contract.ts. */
export type { SeenFields } from '../contract.js'

export interface NewFields {
  scope: string
  names: string[]
}

/**
 * Records names not seen before in their (source, account, scope), inside the batch transaction.
 * The first read of a scope is its baseline (what the source had when we started) and is not a
 * change; a name that appears after that is returned, so the runner logs it once.
 */
export async function recordSeenFields(trx: Db, key: StreamKey, runId: string, seen: readonly SeenFields[]): Promise<NewFields[]> {
  const out: NewFields[] = []
  for (const { scope, names } of seen) {
    const unique = [...new Set(names.map((n) => n.replaceAll('\u0000', '').slice(0, 500)))]
    if (!unique.length) continue
    const { rows } = await sql<{ name: string; baseline: boolean }>`
      with known as (select exists (select 1 from etl.schema_changes where source = ${key.source} and account = ${key.account} and scope = ${scope}) as any)
      insert into etl.schema_changes (source, account, stream, scope, name, baseline, run_id)
      select ${key.source}, ${key.account}, ${key.stream}, ${scope}, n, not known.any, ${runId}::bigint
      from unnest(${unique}::text[]) n, known
      on conflict (source, account, scope, name) do nothing
      returning name, baseline`.execute(trx)
    const fresh = rows.filter((r) => !r.baseline).map((r) => r.name)
    if (fresh.length) out.push({ scope, names: fresh })
  }
  return out
}

export interface SchemaChange {
  source: string
  account: string
  stream: string
  scope: string
  name: string
  firstSeenAt: string
}

/** Names that appeared after their scope's first read, newest first. */
export async function recentSchemaChanges(db: Db, limit = 50): Promise<SchemaChange[]> {
  const rows = await db
    .selectFrom('etl.schema_changes')
    .select(['source', 'account', 'stream', 'scope', 'name', 'first_seen_at'])
    .where('baseline', '=', false)
    .orderBy('first_seen_at', 'desc')
    .orderBy('id', 'desc')
    .limit(limit)
    .execute()
  return rows.map((r) => ({ ...r, firstSeenAt: new Date(r.first_seen_at).toISOString() }))
}
