export const SECOND = 1000
export const MINUTE = 60 * SECOND
export const HOUR = 60 * MINUTE
export const DAY = 24 * HOUR

export function floorToSecond(ms: number): number {
  return Math.floor(ms / SECOND) * SECOND
}

/** KWIGA's timestamp format: ISO-8601 UTC with six fractional digits, e.g. `2023-06-26T19:01:00.000000Z`. */
export function kwigaTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19) + '.000000Z'
}

export function kwigaTimeOrNull(ms: number | null | undefined): string | null {
  return ms == null ? null : kwigaTime(ms)
}

const formatters = new Map<string, Intl.DateTimeFormat>()
const offsets = new Map<string, number>()

/** Offset of an IANA zone from UTC at the given instant, in minutes (zones change offset on whole UTC quarter-hours). */
export function zoneOffsetMinutes(ms: number, timeZone: string): number {
  const key = `${timeZone}|${Math.floor(ms / (15 * MINUTE))}`
  let offset = offsets.get(key)
  if (offset === undefined) {
    if (offsets.size > 50_000) offsets.clear()
    offset = computeZoneOffset(ms, timeZone)
    offsets.set(key, offset)
  }
  return offset
}

function computeZoneOffset(ms: number, timeZone: string): number {
  let f = formatters.get(timeZone)
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
    formatters.set(timeZone, f)
  }
  const p: Record<string, number> = {}
  for (const part of f.formatToParts(new Date(floorToSecond(ms)))) if (part.type !== 'literal') p[part.type] = Number(part.value)
  const asUtc = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second)
  return Math.round((asUtc - floorToSecond(ms)) / MINUTE)
}

/**
 * Cabinet-local wall time printed with a `Z` suffix, as KWIGA does for `*_at` fields that have a `*_at_utc`
 * sibling (reference §4.27).
 */
export function localTimeMarkedZ(ms: number, timeZone: string): string {
  return kwigaTime(ms + zoneOffsetMinutes(ms, timeZone) * MINUTE)
}

/** Wall-clock time in a zone → UTC instant (exact except inside a DST gap). */
export function zonedWallTimeToUtc(wallAsUtcMs: number, timeZone: string): number {
  const guess = wallAsUtcMs - zoneOffsetMinutes(wallAsUtcMs, timeZone) * MINUTE
  return wallAsUtcMs - zoneOffsetMinutes(guess, timeZone) * MINUTE
}

export function utcOffsetLabel(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+'
  const abs = Math.abs(minutes)
  return `UTC${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`
}

/**
 * Parses a filter date the way a Laravel backend accepts it: `YYYY-MM-DD`, `YYYY-MM-DD HH:mm[:ss]` or ISO-8601.
 * Values without a zone are UTC. A date-only upper bound means the end of that day.
 */
export function parseFilterDate(value: string, bound: 'from' | 'to'): number | null {
  const v = value.trim()
  const dateOnly = /^(\d{4})-(\d{2})-(\d{2})$/.exec(v)
  if (dateOnly) {
    const start = Date.UTC(Number(dateOnly[1]), Number(dateOnly[2]) - 1, Number(dateOnly[3]))
    if (!Number.isFinite(start) || new Date(start).getUTCDate() !== Number(dateOnly[3])) return null
    return bound === 'from' ? start : start + DAY - SECOND
  }
  const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?$/.exec(v)
  if (!m) return null
  const time = m[2].length === 5 ? `${m[2]}:00` : m[2]
  const ms = Date.parse(`${m[1]}T${time}${m[3] ?? 'Z'}`)
  return Number.isFinite(ms) ? ms : null
}
