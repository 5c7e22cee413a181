import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { screen } from '../test/support/screen.js'
import { createLogger } from './log.js'
import { duration, ProgressReporter } from './progress.js'
import { clip, LiveTerminal } from './terminal.js'

/** A fake TTY: records every write. */
function fakeTty(columns = 120) {
  const writes: string[] = []
  return { writes, out: { isTTY: true, columns, write: (t: string) => writes.push(t) }, text: () => writes.join('') }
}

const users = { source: 'getcourse', account: 'acme', stream: 'users' }
const contacts = { source: 'kwiga', account: 'school', stream: 'contact_products' }

describe('ProgressReporter on a terminal', () => {
  it('draws one line per active stream, redrawn in place, with log lines printed above it', () => {
    const tty = fakeTty()
    const terminal = new LiveTerminal(tty.out)
    let now = 1_000_000
    const progress = new ProgressReporter(createLogger({ level: 'silent', pretty: false }), { terminal, redrawMs: 0, now: () => now })
    progress.update(users, { rows: 0, phase: 'export 42 forming' })
    progress.update(contacts, { rows: 10, phase: 'contact products', done: 0, total: 400 })
    expect(screen(tty.text())).toEqual([
      'getcourse/acme/users: 0 rows · export 42 forming · 0s',
      'kwiga/school/contact_products: 10 rows · contact products · 0/400 · 0s',
    ])

    terminal.print('12:00:01 INFO: stream started (kwiga/school/contacts)\n')
    now += 10_000
    progress.update(contacts, { rows: 1500, phase: 'contact products', done: 100, total: 400 })
    now += 5_000
    progress.update(users, { rows: 3980, phase: 'export 42 loading', done: 3980 })
    // Redrawn at 15 s: 100 of 400 done since 0 → 6.7/s, 300 left → 45 s. The log line stays above the block; no line is drawn twice.
    expect(screen(tty.text())).toEqual([
      '12:00:01 INFO: stream started (kwiga/school/contacts)',
      'getcourse/acme/users: 3,980 rows · export 42 loading · 3,980 done · 15s',
      'kwiga/school/contact_products: 1,500 rows · contact products · 100/400 · ETA 45s · 15s',
    ])

    progress.update(users, { rows: 3980, ended: true })
    terminal.print('12:00:20 INFO: stream succeeded\n')
    expect(screen(tty.text())).toEqual([
      '12:00:01 INFO: stream started (kwiga/school/contacts)',
      '12:00:20 INFO: stream succeeded',
      'kwiga/school/contact_products: 1,500 rows · contact products · 100/400 · ETA 45s · 15s',
    ])
    progress.stop()
    expect(screen(tty.text())).toEqual(['12:00:01 INFO: stream started (kwiga/school/contacts)', '12:00:20 INFO: stream succeeded'])
    // Each change is one write: the block never flickers through a half-drawn state.
    expect(tty.writes.every((w) => !w.includes('\x1b[J') || w.startsWith('\x1b['))).toBe(true)
  })

  it('starts the ETA over when the total changes (a new page run) and cuts lines to the width', () => {
    const tty = fakeTty(40)
    const terminal = new LiveTerminal(tty.out)
    let now = 0
    const progress = new ProgressReporter(createLogger({ level: 'silent', pretty: false }), { terminal, redrawMs: 0, now: () => now })
    const key = { source: 'kwiga', account: 'a', stream: 'contacts' }
    progress.update(key, { rows: 0, phase: 'contacts pages', done: 1, total: 10 })
    now = 9_000
    progress.update(key, { rows: 900, phase: 'contacts pages', done: 10, total: 10 })
    progress.update(key, { rows: 900, phase: 'lists pages', done: 1, total: 3 })
    expect(progress.lines()[0]).not.toContain('ETA')
    now = 11_000
    progress.update(key, { rows: 950, phase: 'lists pages', done: 2, total: 3 })
    expect(progress.lines()[0]).toContain('ETA 2s')
    expect(screen(tty.text())).toEqual(['kwiga/a/contacts: 950 rows · lists pag…'])
    expect(clip('\x1b[32mабвгд\x1b[39m', 10)).toBe('\x1b[32mабвгд\x1b[39m')
    expect([5, 95, 3600, 4000].map(duration)).toEqual(['5s', '1m35s', '1h00m', '1h06m'])
    progress.stop()
  })
})

describe('ProgressReporter off a terminal', () => {
  it('logs every active stream periodically instead', async () => {
    const out = new PassThrough()
    const lines: string[] = []
    out.on('data', (d: Buffer) => lines.push(...d.toString().trim().split('\n')))
    const reporter = new ProgressReporter(createLogger({ destination: out, level: 'info' }), { terminal: undefined, intervalMs: 20 }).start()
    expect(reporter.live).toBe(false)
    reporter.update(users, { rows: 1500, phase: 'export 42 forming' })
    await new Promise((r) => setTimeout(r, 70))
    reporter.stop()
    const parsed = lines.map((l) => JSON.parse(l) as { msg: string; stream: string; rows: number; phase: string })
    expect(parsed.length).toBeGreaterThanOrEqual(2)
    expect(parsed[0]).toMatchObject({ msg: 'progress', stream: 'getcourse/acme/users', rows: 1500, phase: 'export 42 forming' })
    expect(lines.join('')).not.toContain('\x1b[')
  })
})
