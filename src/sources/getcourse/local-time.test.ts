import { describe, expect, it } from 'vitest'
import { LocalTime, parseWallClock } from './local-time.js'

/** The instant a `timestampText` answer names, read the way Postgres reads `YYYY-MM-DD HH:MM:SS±HH[:MM[:SS]]`. */
function instantOf(text: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})([+-])(\d{2})(?::(\d{2}))?(?::(\d{2}))?$/.exec(text)
  if (!m) throw new Error(`not timestamptz input: ${text}`)
  const [, y, mo, d, h, mi, s, sign, oh, om, os] = m
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s))
  const offset = (Number(oh) * 3600 + Number(om ?? 0) * 60 + Number(os ?? 0)) * 1000
  return wall - (sign === '-' ? -offset : offset)
}

describe('LocalTime.timestampText', () => {
  it('names the very instant toUtc gives: zones with DST, half hours, negative offsets and local mean time', () => {
    const wrong: string[] = []
    let checked = 0
    for (const zone of ['Europe/Moscow', 'Asia/Yekaterinburg', 'Asia/Kolkata', 'America/St_Johns', 'America/Sao_Paulo', 'Asia/Kathmandu', 'UTC']) {
      const time = new LocalTime(zone)
      // Every 3 days 1 h 13 min 17 s from 1900 to 2030 (every season and hour of the day), plus each
      // hour around the DST changes of 2010 and the 1919 end of Yekaterinburg's local mean time.
      const walls: number[] = []
      for (let wall = Date.UTC(1900, 0, 1); wall < Date.UTC(2030, 0, 1); wall += 263_597_000) walls.push(wall)
      for (const day of [Date.UTC(2010, 2, 28), Date.UTC(2010, 9, 31), Date.UTC(1919, 6, 15)])
        for (let h = -24; h < 48; h++) walls.push(day + h * 3_600_000 + 1_800_000)
      for (const wall of walls) {
        const text = time.timestampText(wall)
        checked++
        if (instantOf(text) !== time.toUtc(wall) || text.slice(0, 19) !== new Date(wall).toISOString().slice(0, 19).replace('T', ' '))
          wrong.push(`${zone} ${new Date(wall).toISOString()}: ${text}`)
      }
    }
    expect(checked).toBeGreaterThan(100_000)
    expect(wrong).toEqual([])
  })

  it('writes the offsets Postgres reads: whole hours, minutes, seconds of local mean time', () => {
    const at = (zone: string, text: string) => new LocalTime(zone).timestampText(parseWallClock(text) as number)
    expect(at('Europe/Moscow', '2024-05-01 12:30:00')).toBe('2024-05-01 12:30:00+03:00')
    expect(at('Asia/Kolkata', '2024-05-01 00:00')).toBe('2024-05-01 00:00:00+05:30')
    expect(at('America/St_Johns', '2024-01-01')).toBe('2024-01-01 00:00:00-03:30')
    expect(at('Asia/Yekaterinburg', '1910-05-05 10:00:00')).toBe('1910-05-05 10:00:00+04:02:33')
    expect(at('UTC', '2024-02-29T23:59:59')).toBe('2024-02-29 23:59:59+00:00')
  })
})
