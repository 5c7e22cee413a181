import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../config.js'
import { DEFAULT_MAX_AGE_SECONDS, maxAgeFromJobs } from './max-age.js'

describe('status --check default --max-age', () => {
  it('is the longest gap between runs of the most frequent job that runs the stream, plus 2 h', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'max-age-'))
    writeFileSync(path.join(dir, 'nightly.yaml'), 'name: nightly\ncron: "0 3 * * *"\ntimezone: Europe/Moscow\n')
    writeFileSync(path.join(dir, 'weekly.yaml'), 'name: weekly\ncron: "0 6 * * 0"\nmode: full\n')
    // Weekdays only: the weekend gap (Fri 09:00 → Mon 09:00) is what a health check must tolerate.
    writeFileSync(path.join(dir, 'contacts.yaml'), 'name: contacts\ncron: "0 9 * * 1-5"\nsource: kwiga\naccounts: [школа-1]\nstreams: [contacts]\n')
    writeFileSync(path.join(dir, 'hourly.yaml'), 'name: hourly\ncron: "15 * * * *"\nsource: getcourse\nstreams: [deals, payments]\n')
    const maxAge = maxAgeFromJobs(parseConfig({ jobsDir: dir }))
    expect(maxAge('getcourse', 'acme', 'users')).toBe(26 * 3600)
    expect(maxAge('getcourse', 'acme', 'deals')).toBe(3600 + 2 * 3600)
    expect(maxAge('kwiga', 'школа-1', 'contacts')).toBe(24 * 3600 + 2 * 3600) // nightly is more frequent than weekdays-only
  })

  it('is 26 h without a jobs folder, or with no job for the stream', () => {
    expect(DEFAULT_MAX_AGE_SECONDS).toBe(26 * 3600)
    const maxAge = maxAgeFromJobs(parseConfig({ jobsDir: path.join(tmpdir(), 'no-such-jobs-folder-16') }))
    expect(maxAge('kwiga', 'main', 'contacts')).toBe(26 * 3600)
    const dir = mkdtempSync(path.join(tmpdir(), 'max-age-'))
    writeFileSync(path.join(dir, 'weekdays.yaml'), 'name: weekdays\ncron: "0 9 * * 1-5"\nsource: kwiga\n')
    const only = maxAgeFromJobs(parseConfig({ jobsDir: dir }))
    expect(only('kwiga', 'main', 'contacts')).toBe(3 * 86400 + 2 * 3600)
    expect(only('getcourse', 'acme', 'users')).toBe(26 * 3600)
  })
})
