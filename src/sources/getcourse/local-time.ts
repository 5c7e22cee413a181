const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000

/**
 * Converts GetCourse's account-local wall-clock strings (`YYYY-MM-DD HH:MM:SS`, no offset —
 * reference §4.5) to UTC instants and back. Zone offsets are cached per hour, so a million-row
 * export costs one Intl call per distinct hour instead of one per cell.
 */
export class LocalTime {
  private readonly format: Intl.DateTimeFormat
  /** UTC offset (ms to add to UTC) keyed by UTC hour. */
  private readonly offsets = new Map<number, number>()

  constructor(readonly timeZone: string) {
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    })
  }

  /** Milliseconds to add to a UTC instant to get the zone's wall clock. */
  offsetAt(utcMs: number): number {
    const hour = Math.floor(utcMs / HOUR_MS)
    let offset = this.offsets.get(hour)
    if (offset === undefined) {
      const probe = hour * HOUR_MS
      const p: Record<string, number> = {}
      for (const part of this.format.formatToParts(probe)) p[part.type] = Number(part.value)
      offset = Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - probe
      this.offsets.set(hour, offset)
    }
    return offset
  }

  /** UTC instant of a wall-clock time given as milliseconds of `Date.UTC(wall fields)`. */
  toUtc(wallMs: number): number {
    const guess = wallMs - this.offsetAt(wallMs)
    return wallMs - this.offsetAt(guess)
  }

  /** `YYYY-MM-DD` of the local day containing the instant. */
  day(utcMs: number): string {
    return new Date(utcMs + this.offsetAt(utcMs)).toISOString().slice(0, 10)
  }

  /** `HH:MM` local wall clock, for messages such as "resumes at 14:05". */
  hourMinute(utcMs: number): string {
    return new Date(utcMs + this.offsetAt(utcMs)).toISOString().slice(11, 16)
  }

  /** UTC instant of local midnight starting the day `YYYY-MM-DD`. */
  startOfDay(day: string): number {
    return this.toUtc(Date.parse(`${day}T00:00:00Z`))
  }

  /** `YYYY-MM-DD` by day number since 1970 (wall clock), for `timestampText`. */
  private readonly days = new Map<number, string>()

  /**
   * The wall-clock time `wallMs` (as `parseWallClock` gives it) as Postgres timestamptz input with
   * its UTC offset, `2024-05-01 12:30:00+05:00`: the very instant `toUtc` gives, without a Date
   * object or an ISO string per cell (the COPY path of `load-file` writes millions of them).
   */
  timestampText(wallMs: number): string {
    const offset = wallMs - this.toUtc(wallMs)
    const dayNumber = Math.floor(wallMs / DAY_MS)
    let day = this.days.get(dayNumber)
    if (day === undefined) {
      day = new Date(dayNumber * DAY_MS).toISOString().slice(0, 10)
      if (this.days.size < 100_000) this.days.set(dayNumber, day)
    }
    const seconds = (wallMs - dayNumber * DAY_MS) / 1000
    return `${day} ${TWO_DIGITS[Math.floor(seconds / 3600)]}:${TWO_DIGITS[Math.floor(seconds / 60) % 60]}:${TWO_DIGITS[seconds % 60]}${offsetText(offset)}`
  }
}

const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'))
const offsetTexts = new Map<number, string>()

/** `+05:00`, `-03:30`, or with seconds for the old local mean times (`+04:02:33`). */
function offsetText(ms: number): string {
  let text = offsetTexts.get(ms)
  if (text === undefined) {
    const abs = Math.abs(ms) / 1000
    const s = abs % 60
    text = `${ms < 0 ? '-' : '+'}${TWO_DIGITS[Math.floor(abs / 3600)] ?? String(Math.floor(abs / 3600))}:${TWO_DIGITS[Math.floor(abs / 60) % 60]}${s ? `:${TWO_DIGITS[s]}` : ''}`
    offsetTexts.set(ms, text)
  }
  return text
}

const code = (s: string, i: number) => s.charCodeAt(i) - 48

function digits(s: string, from: number, count: number): number {
  let n = 0
  for (let i = from; i < from + count; i++) {
    const d = code(s, i)
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
}

/** Wall-clock milliseconds (`Date.UTC` of the local fields), or why there is none. */
export type ParsedDateTime = number | 'empty' | 'zero' | 'invalid'

/**
 * Parses `YYYY-MM-DD HH:MM:SS` (seconds optional, `T` accepted) without regular expressions: this
 * runs for every date cell of every row. `0000-00-00 …` is GetCourse's "no date".
 */
export function parseWallClock(text: string): ParsedDateTime {
  const s = text.trim()
  if (s === '') return 'empty'
  if (s.startsWith('0000-00-00')) return 'zero'
  if (s.length !== 10 && s.length !== 16 && s.length !== 19) return 'invalid'
  if (s[4] !== '-' || s[7] !== '-') return 'invalid'
  const year = digits(s, 0, 4)
  const month = digits(s, 5, 2)
  const day = digits(s, 8, 2)
  let hour = 0
  let minute = 0
  let second = 0
  if (s.length > 10) {
    if ((s[10] !== ' ' && s[10] !== 'T') || s[13] !== ':') return 'invalid'
    hour = digits(s, 11, 2)
    minute = digits(s, 14, 2)
    if (s.length === 19) {
      if (s[16] !== ':') return 'invalid'
      second = digits(s, 17, 2)
    }
  }
  if (year < 1900 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) {
    return 'invalid'
  }
  const wallMs = Date.UTC(year, month - 1, day, hour, minute, second)
  // Date.UTC rolls 2025-02-30 over into March: such a date is garbage, not a real day.
  return new Date(wallMs).getUTCDate() === day ? wallMs : 'invalid'
}

/** Adds whole days to `YYYY-MM-DD`. */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10)
}

/** Whole days from `a` to `b` (b − a). */
export function daysBetween(a: string, b: string): number {
  return Math.round((Date.parse(`${b}T00:00:00Z`) - Date.parse(`${a}T00:00:00Z`)) / DAY_MS)
}
