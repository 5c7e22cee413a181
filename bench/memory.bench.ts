import { sql } from 'kysely'
import { cachedRealisticExport } from './realistic-export.js'
import { loadFileCommand, type Bench, type Figure } from './support.js'

/**
 * Peak RSS of the real CLI (`bin/course-etl.js load-file`, a child process with its own config
 * pointing at the bench database) loading a realistic users export (bench/realistic-export.ts) of 100k
 * rows and of 1.5M rows (≈1.2 GB). Also 1M realistic deals (49 columns). The reader parses in sub-batches and the runner holds at most two batches, so the peak should
 * not depend on the export size.
 */
export const bench: Bench = {
  name: 'memory',
  order: 20,
  async run({ warehouse, url, scale }) {
    const peak = async (rows: number, stream: 'users' | 'deals' = 'users') => {
      const file = await cachedRealisticExport(stream, rows)
      await sql.raw(`truncate getcourse.${stream}`).execute(warehouse.db)
      const run = loadFileCommand(url, stream, file.path)
      const { rows: n } = await sql.raw<{ n: number }>(`select count(*)::int as n from getcourse.${stream}`).execute(warehouse.db)
      if (n[0]!.n !== rows) throw new Error(`load-file loaded ${n[0]!.n} of ${rows} rows:\n${run.stdout}`)
      return { mb: run.peakMb, file, stream }
    }
    const small = await peak(Math.max(1000, Math.round(100_000 * scale)))
    const big = await peak(Math.max(2000, Math.round(1_500_000 * scale)))
    const deals = await peak(Math.max(2000, Math.round(1_000_000 * scale)), 'deals')
    const label = (p: typeof small) => `${p.file.rows.toLocaleString('en-US')} ${p.stream}, ${(p.file.bytes / 1e6).toFixed(0)} MB`
    const figures: Figure[] = [
      {
        name: `peak RSS, load-file ${label(small)}`,
        value: small.mb,
        unit: 'MB',
        target: { op: '<=', value: 400, of: 'value' },
        note: 'bin/course-etl.js load-file in a child process, process.resourceUsage().maxRSS',
      },
      { name: `peak RSS, load-file ${label(big)}`, value: big.mb, unit: 'MB', target: { op: '<=', value: 400, of: 'value' } },
      {
        name: `peak RSS, load-file ${label(deals)}`,
        value: deals.mb,
        unit: 'MB',
        target: { op: '<=', value: 400, of: 'value' },
        note: 'realistic deals: 49 columns',
      },
      {
        name: 'peak RSS: large / small export',
        value: big.mb,
        unit: 'MB',
        baseline: { name: `peak RSS with ${small.file.rows.toLocaleString('en-US')} rows`, value: small.mb },
        target: { op: '<=', value: 1.25, of: 'ratio' },
        note: `${(big.file.bytes / small.file.bytes).toFixed(0)}× the bytes: the peak does not grow with the export`,
      },
    ]
    return figures
  },
}
