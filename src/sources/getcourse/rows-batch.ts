import type { Batch, RejectInput } from '../types.js'
import { TABLES, type ExportStream } from './columns.js'
import { UnreadableRow } from './export-scanner.js'
import type { Normalizer } from './normalize.js'
import type { Cell } from './values.js'

/** Normalizes export rows into one batch for the stream's table; rows that cannot be read become rejects. */
export function rowsBatch(stream: ExportStream, normalizer: Normalizer, rows: readonly unknown[][]): Batch {
  const good: Record<string, unknown>[] = []
  const rejects: RejectInput[] = []
  for (const cells of rows) {
    if (cells instanceof UnreadableRow) {
      rejects.push({ reason: cells.reason, raw: { excerpt: cells.excerpt }, recordKey: cells.recordKey })
      continue
    }
    const result = normalizer.normalize(cells as Cell[])
    if (result.ok) good.push(result.row)
    else rejects.push({ reason: result.reason, raw: result.raw, recordKey: result.recordKey })
  }
  const { table, key } = TABLES[stream]
  return { writes: good.length ? [{ table, key, rows: good }] : [], rejects, read: rows.length }
}
