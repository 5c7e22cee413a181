const HOUR_MS = 3_600_000
const DAY_MS = 86_400_000

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n))

/**
 * Account wall-clock time. GetCourse writes every datetime as account-local `YYYY-MM-DD HH:MM:SS`
 * without an offset, and reads date filters as whole days in the same zone (reference §6.7, §1.3).
 */
export class ZonedTime {
  private readonly parts: Intl.DateTimeFormat
  /** UTC offset per UTC hour; zone transitions happen on hour boundaries. */
  private readonly offsets = new Map<number, number>()
  /** `YYYY-MM-DD ` per local day. */
  private readonly days = new Map<number, string>()

  constructor(readonly timeZone: string) {
    this.parts = new Intl.DateTimeFormat('en-US', {
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

  /** Milliseconds to add to a UTC instant to get the account's wall clock. */
  offsetAt(utcMs: number): number {
    const hour = Math.floor(utcMs / HOUR_MS)
    let offset = this.offsets.get(hour)
    if (offset === undefined) {
      const probe = hour * HOUR_MS
      const p: Record<string, number> = {}
      for (const part of this.parts.formatToParts(probe)) p[part.type] = Number(part.value)
      offset = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - probe
      this.offsets.set(hour, offset)
    }
    return offset
  }

  /** `YYYY-MM-DD HH:MM:SS`, or '' when unknown. */
  dateTime(utcMs: number | null): string {
    if (utcMs === null) return ''
    const wall = utcMs + this.offsetAt(utcMs)
    const dayStart = Math.floor(wall / DAY_MS) * DAY_MS
    let day = this.days.get(dayStart)
    if (day === undefined) {
      day = new Date(dayStart).toISOString().slice(0, 11).replace('T', ' ')
      this.days.set(dayStart, day)
    }
    const seconds = Math.floor((wall - dayStart) / 1000)
    return `${day}${pad2(Math.floor(seconds / 3600))}:${pad2(Math.floor(seconds / 60) % 60)}:${pad2(seconds % 60)}`
  }

  /** `YYYY-MM-DD` of the local day. */
  date(utcMs: number): string {
    return this.dateTime(utcMs).slice(0, 10)
  }

  /** UTC instant of local midnight that starts the given day (month and day may overflow). */
  startOfDay(year: number, month: number, day: number): number {
    const wall = Date.UTC(year, month - 1, day)
    let instant = wall - this.offsetAt(wall)
    instant = wall - this.offsetAt(instant)
    return instant
  }
}

/** Parses a strict `YYYY-MM-DD` calendar date. */
export function parseDay(text: string): { year: number; month: number; day: number } | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text)
  if (!m) return null
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const check = new Date(Date.UTC(year, month - 1, day))
  if (check.getUTCFullYear() !== year || check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return null
  return { year, month, day }
}
