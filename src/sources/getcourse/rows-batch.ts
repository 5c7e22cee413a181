import type { Batch, RejectInput } from '../../contract.js'
import { TABLES, type ExportStream } from './columns.js'
import { UnreadableRow, type ExportRow } from './export-scanner.js'
import type { Normalizer } from './normalize.js'
import { type Cell, parseId } from './values.js'

/** The complete listing an export belongs to (README "Deletions"), and whose rows it keys. */
export interface RowsListing {
  id: string
  account: string
  /** group_members: the group exported. */
  groupId?: string
}

/**
 * Normalizes export rows into one batch for the stream's table; rows that cannot be read become
 * rejects. Within a listing, a rejected row still exists upstream: its key (when readable) counts
 * as seen, and a row without one keeps the listing from marking anything.
 */
export function rowsBatch(stream: ExportStream, normalizer: Normalizer, rows: readonly ExportRow[], listing?: RowsListing): Batch<never> {
  const good: Record<string, unknown>[] = []
  const rejects: RejectInput[] = []
  for (const cells of rows) {
    // An unreadable row is a reject already; every other row is normalized to a row or a reject.
    const result = cells instanceof UnreadableRow ? cells : normalizer.normalize(cells as Cell[])
    if (result.ok) good.push(result.row)
    else rejects.push(result)
  }
  const { table, key } = TABLES[stream]
  if (!listing) return { writes: good.length ? [{ table, key, rows: good }] : [], rejects, read: rows.length }
  const seen: unknown[][] = []
  let unkeyed = 0
  for (const r of rejects) {
    const id = r.recordKey == null ? null : (parseId(r.recordKey) ?? null)
    if (id === null || (stream === 'group_members' && listing.groupId === undefined)) unkeyed++
    else seen.push(stream === 'group_members' ? [listing.account, listing.groupId, id] : [listing.account, id])
  }
  return {
    writes: [{ table, key, rows: good, listing: listing.id }],
    rejects,
    read: rows.length,
    listings: {
      seen: seen.length ? [{ listing: listing.id, table, key, keys: seen }] : [],
      unkeyed: unkeyed ? [{ listing: listing.id, table, key, count: unkeyed }] : [],
    },
  }
}
