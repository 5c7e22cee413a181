import { z } from 'zod'
import { addDays, daysBetween } from './local-time.js'

/**
 * Export windows: whole days in the account's time zone, `to` inclusive (reference §1.3). The API
 * has no pagination, so history is cut into date windows (§6.4).
 */
export const FILTER_FIELDS = ['created_at', 'status_changed_at', 'added_at'] as const
export type FilterField = (typeof FILTER_FIELDS)[number]

const DAY = z.string().regex(/^\d{4}-\d{2}-\d{2}$/)

/** One export's window, as saved in the stream state (`queue`). */
export const exportWindowSchema = z.object({
  field: z.enum(FILTER_FIELDS),
  from: DAY,
  to: DAY,
  /** group_members: the group exported. */
  groupId: z.string().optional(),
  /** group_members: a window over all of a group's history is a complete listing of its members. */
  listing: z.string().optional(),
  /**
   * The first window of a complete listing: its filter starts at LISTING_START instead of `from`,
   * so that the windows together cover all time. `from` stays the planned start (window size for
   * the readiness model, matching an export left by an earlier run).
   */
  open: z.boolean().optional(),
})

export type ExportWindow = z.infer<typeof exportWindowSchema>

/** Where a full export starts when nothing is known of the account (GetCourse schools date from ~2012). */
export const FULL_START = '2010-01-01'
/**
 * Where the first window of a complete listing starts, so that the windows together cover all time
 * (imported users may carry any date): nothing can be missing from a listing that marks deletions.
 */
export const LISTING_START = '1970-01-01'
/** Incremental windows start this many days before the watermark: late edits and zone edges (§6.7). */
export const OVERLAP_DAYS = 1
/** Requests one export costs on average (start + one check that is the download, plus misses). */
export const REQUESTS_PER_EXPORT = 2.3
/** Share of the account budget one stream's full re-export may plan for per window period. */
const FULL_RUN_SHARE = 0.25

export const windowDays = (w: { from: string; to: string }) => daysBetween(w.from, w.to) + 1

/** Filters of one window, as GetCourse expects them in the query string (§1.3). */
export function windowFilters(w: ExportWindow): Record<string, string> {
  return { [`${w.field}[from]`]: w.open ? LISTING_START : w.from, [`${w.field}[to]`]: w.to }
}

function addMonths(day: string, months: number): string {
  const d = new Date(`${day}T00:00:00Z`)
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1)).toISOString().slice(0, 10)
}

const monthsBetween = (from: string, to: string) => {
  const a = new Date(`${from}T00:00:00Z`)
  const b = new Date(`${to}T00:00:00Z`)
  return (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + b.getUTCMonth() - a.getUTCMonth() + 1
}

/**
 * Months per window for a long range: one month, widened so that the range costs at most a quarter
 * of the account's budget window (`limit` requests) per stream.
 */
export function monthsPerWindow(from: string, to: string, exportsPerWindow: number, limit: number): number {
  const months = monthsBetween(from, to)
  const affordable = Math.max(1, Math.floor((limit * FULL_RUN_SHARE) / (REQUESTS_PER_EXPORT * exportsPerWindow)))
  return Math.max(1, Math.ceil(months / affordable))
}

/**
 * Splits [from, to] into windows aligned to calendar months (`months` each), one export per field
 * and window. Windows are ordered oldest first, fields interleaved.
 */
export function planWindows(from: string, to: string, fields: readonly FilterField[], months: number): ExportWindow[] {
  if (from > to) return []
  const windows: ExportWindow[] = []
  let start = from
  while (start <= to) {
    const next = addMonths(start, months)
    const end = addDays(next, -1) < to ? addDays(next, -1) : to
    for (const field of fields) windows.push({ field, from: start, to: end })
    start = next
  }
  return windows
}

/** The incremental range after a watermark: from watermark − overlap to today. */
export function incrementalRange(watermark: string, today: string): { from: string; to: string } {
  const from = addDays(watermark, -OVERLAP_DAYS)
  return { from: from > today ? today : from, to: today }
}

/** Halves a window whose export failed with 910; a one-day window cannot be split. */
export function splitWindow(w: ExportWindow): ExportWindow[] | null {
  const days = windowDays(w)
  if (days <= 1) return null
  const mid = addDays(w.from, Math.floor(days / 2) - 1)
  // A half is not the whole group: it carries no listing of its own.
  const { listing: _listing, open, ...base } = w
  return [
    { ...base, ...(open ? { open } : {}), to: mid },
    { ...base, from: addDays(mid, 1) },
  ]
}

export const sameWindow = (a: ExportWindow, b: ExportWindow) =>
  a.field === b.field && a.from === b.from && a.to === b.to && (a.groupId ?? null) === (b.groupId ?? null)

/** Whether `outer` covers `inner` (same field and group, dates within). */
export const covers = (outer: ExportWindow, inner: ExportWindow) =>
  outer.field === inner.field && (outer.groupId ?? null) === (inner.groupId ?? null) && outer.from <= inner.from && outer.to >= inner.to
