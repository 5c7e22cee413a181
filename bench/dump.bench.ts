import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { to as copyTo } from 'pg-copy-streams'
import { sql } from 'kysely'
import { parseConfig } from '../src/config.js'
import type { Warehouse } from '../src/db/index.js'
import { dumpTable } from '../src/dump.js'
import { time, type Bench, type Figure } from './support.js'

/** Fill getcourse.deals with `rows` synthetic deals when it holds fewer (a load bench may already have filled it). */
async function ensureDeals(warehouse: Warehouse, rows: number): Promise<number> {
  const { rows: c } = await sql<{ n: number }>`select count(*)::int as n from getcourse.deals`.execute(warehouse.db)
  if (c[0]!.n >= rows) return c[0]!.n
  await sql`insert into getcourse.deals (account, id, number, user_id, user_name, user_email, created_at, paid_at, title, status, status_code, cost, currency, paid, tags, extra)
    select 'bench', g, g, g % 50000, 'Иванов Иван ' || g, 'user' || g || '@example.ru', timestamptz '2024-01-01' + g * interval '37 seconds',
      case when g % 3 = 0 then timestamptz '2024-01-02' + g * interval '37 seconds' end, 'Курс «Английский», тариф ' || (g % 7),
      case g % 4 when 0 then 'Завершен' when 1 then 'Новый' when 2 then 'В работе' else 'Отменен' end,
      case g % 4 when 0 then 'payed' when 1 then 'new' when 2 then 'in_work' else 'cancelled' end,
      (g % 5000) + 0.5, 'RUB', case when g % 3 = 0 then (g % 5000) + 0.5 else 0 end, array['tag' || (g % 9)], jsonb_build_object('Сколько вам лет', (g % 60)::text, 'utm_source', 'yandex')
    from generate_series(${c[0]!.n + 1}::bigint, ${rows}::bigint) g on conflict do nothing`.execute(warehouse.db)
  return rows
}

export const bench: Bench = {
  name: 'dump',
  order: 60,
  run: ({ warehouse, scale }) => benchDump(warehouse, Math.round(1_000_000 * scale)),
}

async function benchDump(warehouse: Warehouse, rows: number): Promise<Figure[]> {
  const n = await ensureDeals(warehouse, rows)
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-dump-'))
  const config = parseConfig({})
  try {
    // Baseline: COPY (SELECT …) TO STDOUT of the same rows in the same order, straight to a file.
    const copyFile = path.join(dir, 'copy.csv')
    const base = await time(async () => {
      const client = await warehouse.pool!.connect()
      try {
        await pipeline(
          client.query(copyTo(`copy (select * from getcourse.deals order by account, id) to stdout with (format csv, header)`)),
          createWriteStream(copyFile),
        )
      } finally {
        client.release()
      }
    })
    const rssBefore = process.memoryUsage().rss
    let peak = rssBefore
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50)
    const dump = await time(() => dumpTable(warehouse, config, { table: 'getcourse.deals', out: path.join(dir, 'dump.csv') }))
    const excel = await time(() => dumpTable(warehouse, config, { table: 'getcourse.deals', out: path.join(dir, 'excel.csv'), excel: true }))
    clearInterval(sampler)
    const copyRate = n / (base.ms / 1000)
    return [
      {
        name: `dump getcourse.deals (${n.toLocaleString('en-US')} rows)`,
        value: n / (dump.ms / 1000),
        unit: 'rows/s',
        baseline: { name: 'COPY TO STDOUT', value: copyRate },
        target: { op: '>=', value: 0.5, of: 'ratio' },
        note: `${(statSync(dump.result.file).size / 1e6).toFixed(0)} MB`,
      },
      {
        name: 'dump --excel',
        value: n / (excel.ms / 1000),
        unit: 'rows/s',
        baseline: { name: 'COPY TO STDOUT', value: copyRate },
        target: { op: '>=', value: 0.5, of: 'ratio' },
      },
      {
        name: 'dump memory growth (RSS peak − start)',
        value: (peak - rssBefore) / 1e6,
        unit: 'MB',
        note: 'streamed with backpressure: independent of table size',
      },
    ]
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
