/**
 * The status-history and custom-field triggers run inside every load transaction. Their statements
 * must reach the history / value tables by index probes per new row whatever the planner believes
 * about the table: statistics lag a table growing under a load, and a hash join over every open
 * history row per batch made big deal loads quadratic (migration 0011). The plans are read with
 * auto_explain, sent to this session as notices; discouraging nested loops stands in for the stale
 * statistics (it is what made the old statements hash-join).
 */
import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestWarehouse, hasServer, type TestWarehouse } from '../support/database.js'

const server = await hasServer()

let wh: TestWarehouse
beforeAll(async () => {
  wh = await createTestWarehouse()
})
afterAll(async () => wh?.dispose())

/** Runs `statements` in one session with auto_explain on, and returns every plan it reported. */
async function plansOf(statements: string[]): Promise<string[]> {
  const client = new pg.Client({ connectionString: wh.url })
  const plans: string[] = []
  client.on('notice', (n) => {
    if (/plan:/.test(n.message ?? '')) plans.push(`${n.message}\n${(n as { detail?: string }).detail ?? ''}`)
  })
  await client.connect()
  try {
    await client.query(`load 'auto_explain'`)
    await client.query(`set auto_explain.log_min_duration = 0; set auto_explain.log_nested_statements = on; set auto_explain.log_level = notice`)
    await client.query('set client_min_messages = notice; set enable_nestloop = off')
    for (const s of statements) await client.query(s)
  } finally {
    await client.end()
  }
  return plans
}

/** Scan nodes on `table` in the plans: each must be an index or a TID probe. */
function scansOn(plans: string[], table: string): string[] {
  return plans.flatMap((p) =>
    p
      .split('\n')
      .filter((l) => /Scan/.test(l) && new RegExp(`\\bon ${table}\\b`).test(l))
      .map((l) => l.trim()),
  )
}

const deals = (from: number, to: number, status: string, title = 'Источник') => `
  insert into getcourse.deals (account, id, status, status_code, extra)
  select 'школа', g, '${status}', null, jsonb_build_object('${title}', 'реклама, "весна"', 'Прочее', g)
  from generate_series(${from}, ${to}) g
  on conflict (account, id) do update set status = excluded.status, extra = excluded.extra`

describe.runIf(server || !!process.env.CI)('trigger statements probe the history and value tables per row', () => {
  it('deal status history and deal field values: index or TID scans only, and the history is right', { timeout: 60_000 }, async () => {
    await sql`insert into getcourse.fields (account, id, title, context_type) values ('школа', 501, 'Источник', 'deal')`.execute(wh.db)
    // 20,000 deals with an open period and a field value each, not analyzed since.
    await sql.raw(deals(1, 20_000, 'Новый')).execute(wh.db)
    const plans = await plansOf([deals(19_001, 21_000, 'Завершен'), deals(20_501, 21_500, 'Завершен', 'Другое')])
    const history = scansOn(plans, 'deal_status_history')
    const values = scansOn(plans, 'deal_field_values')
    expect(history.length).toBeGreaterThan(0)
    expect(values.length).toBeGreaterThan(0)
    for (const line of [...history, ...values]) expect(line).toMatch(/^(->\s+)?(Index Scan|Index Only Scan|Tid Scan)\b/)
    const { rows } = await sql<{ open: number; closed: number; values: number }>`
      select (select count(*) from getcourse.deal_status_history where seen_to is null)::int as open,
             (select count(*) from getcourse.deal_status_history where seen_to is not null)::int as closed,
             (select count(*) from getcourse.deal_field_values)::int as values`.execute(wh.db)
    // 19,001…20,000 changed status (closed + reopened), 20,001…21,500 are new; 20,501…21,500 lost their «Источник» value.
    expect(rows[0]).toEqual({ open: 21_500, closed: 1_000, values: 20_500 })
  })
})
