import { describe, expect, it } from 'vitest'
import { parseConfig } from '../config.js'
import type { Job } from '../jobs.js'
import { accountJobId, jobAccounts, tickOf } from './queue.js'
import { parseHostPort } from './start.js'

const job = (o: Partial<Job> = {}): Job => ({ name: 'nightly', cron: '0 3 * * *', mode: 'incremental', file: 'jobs/nightly.yaml', ...o })

describe('queue ids and ticks', () => {
  it('gives the same id for the same job, tick and account on every replica, and another id otherwise', () => {
    const d = { job: 'nightly', tick: '2026-03-01T00:00:00.000Z', source: 'getcourse', account: 'школа' }
    expect(accountJobId(d)).toBe(accountJobId({ ...d }))
    expect(accountJobId(d)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    const others = [
      { ...d, tick: '2026-03-01T00:00:01.000Z' },
      { ...d, source: 'kwiga' },
      { ...d, account: 'школа2' },
      { ...d, job: 'weekly' },
    ]
    expect(new Set([d, ...others].map(accountJobId)).size).toBe(5)
    // Parts are separated: "a" + "bc" is not "ab" + "c".
    expect(accountJobId({ ...d, job: 'a', tick: 'bc' })).not.toBe(accountJobId({ ...d, job: 'ab', tick: 'c' }))
  })

  it('reads a tick as its scheduled second, whatever the milliseconds on the host', () => {
    expect(tickOf(new Date('2026-03-01T03:00:00.004Z'))).toBe('2026-03-01T03:00:00.000Z')
    expect(tickOf(new Date('2026-03-01T03:00:00.997Z'))).toBe('2026-03-01T03:00:00.000Z')
  })

  it('lists the accounts of a job by source and name, in config order', () => {
    const config = parseConfig({
      getcourse: [
        { name: 'acme', account: 'acme', key: 'k'.repeat(10) },
        { name: 'main', account: 'main', key: 'k'.repeat(10) },
      ],
      kwiga: [{ name: 'main', token: 't'.repeat(10), cabinetHash: 'hash' }],
    })
    expect(jobAccounts(job(), config)).toEqual([
      { source: 'getcourse', account: 'acme' },
      { source: 'getcourse', account: 'main' },
      { source: 'kwiga', account: 'main' },
    ])
    expect(jobAccounts(job({ source: 'kwiga' }), config)).toEqual([{ source: 'kwiga', account: 'main' }])
    expect(jobAccounts(job({ accounts: ['main'] }), config)).toEqual([
      { source: 'getcourse', account: 'main' },
      { source: 'kwiga', account: 'main' },
    ])
  })

  it('reads --http HOST:PORT and refuses anything else with one USAGE line', () => {
    expect(parseHostPort('127.0.0.1:9464')).toEqual({ host: '127.0.0.1', port: 9464 })
    expect(parseHostPort('[::1]:0')).toEqual({ host: '::1', port: 0 })
    for (const bad of ['9464', 'localhost:', 'host:70000', ':9464', 'a:b'])
      expect(() => parseHostPort(bad), bad).toThrow(`--http expects HOST:PORT such as 127.0.0.1:9464, got "${bad}"`)
  })
})
