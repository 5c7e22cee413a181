import { sql } from 'kysely'
import type { Db } from '../db/index.js'

export interface ExampleQuery {
  title: string
  sql: string
}

/** What the demo runs and prints: one question per analyst view family. */
export const EXAMPLE_QUERIES: readonly ExampleQuery[] = [
  {
    title: 'Net revenue per month and currency, both sources',
    sql: `select source, to_char(day, 'YYYY-MM') as month, currency, sum(orders) as orders, sum(net_amount) as net_amount
from analytics.revenue_daily
group by 1, 2, 3
order by month desc, source, currency`,
  },
  {
    title: 'Which first-touch UTM source brings buyers',
    sql: `select source, coalesce(utm_source, '(none)') as first_utm_source, count(*) as people,
       count(*) filter (where paid_orders > 0) as buyers,
       round(100.0 * count(*) filter (where paid_orders > 0) / count(*), 1) as conversion_pct
from analytics.people
group by 1, 2
order by people desc`,
  },
  {
    title: 'KWIGA course completion',
    sql: `select course_title, count(*) as students, round(avg(progress_pct), 1) as avg_progress_pct,
       count(*) filter (where is_completed) as completed, max(last_activity_at)::date::text as last_activity
from analytics.course_progress
group by 1
order by students desc`,
  },
]

export type Cell = string | number | boolean | null

/** Rows of a query as plain text cells (dates ISO, numbers as Postgres prints them). */
export async function queryRows(db: Db, text: string, limit: number): Promise<{ columns: string[]; rows: Cell[][] }> {
  const { rows } = await sql.raw<Record<string, unknown>>(`select * from (${text}) q limit ${Math.max(0, Math.floor(limit))}`).execute(db)
  const columns = rows.length ? Object.keys(rows[0]!) : []
  return { columns, rows: rows.map((r) => columns.map((c) => cell(r[c]))) }
}

function cell(v: unknown): Cell {
  if (v === null || v === undefined) return null
  if (v instanceof Date) return v.toISOString().replace('T00:00:00.000Z', '')
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v
  return JSON.stringify(v)
}

/** A psql-like text table. */
export function formatTable(columns: readonly string[], rows: readonly Cell[][], maxWidth = 40): string {
  const text = (c: Cell) => {
    const s = c === null ? '' : String(c)
    return s.length > maxWidth ? `${s.slice(0, maxWidth - 1)}…` : s
  }
  const cells = rows.map((r) => r.map(text))
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((r) => r[i]!.length)))
  const numeric = columns.map((_, i) => rows.length > 0 && rows.every((r) => r[i] === null || typeof r[i] === 'number' || /^-?\d+(\.\d+)?$/.test(String(r[i]))))
  const line = (r: string[]) => r.map((s, i) => (numeric[i] ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join(' | ')
  return [line([...columns]), widths.map((w) => '-'.repeat(w)).join('-+-'), ...cells.map(line)].join('\n')
}
