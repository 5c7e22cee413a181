import { PassThrough } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createLogger } from './log.js'
import { ProgressReporter } from './progress.js'

describe('ProgressReporter', () => {
  it('logs every active stream periodically when not on a terminal', async () => {
    const out = new PassThrough()
    const lines: string[] = []
    out.on('data', (d: Buffer) => lines.push(...d.toString().trim().split('\n')))
    const reporter = new ProgressReporter(createLogger({ destination: out, level: 'info' }), false, 20).start()
    reporter.update({ source: 'getcourse', account: 'acme', stream: 'users' }, { rows: 1500, phase: 'export 42 forming' })
    await new Promise((r) => setTimeout(r, 70))
    reporter.stop()
    const parsed = lines.map((l) => JSON.parse(l) as { msg: string; stream: string; rows: number; phase: string })
    expect(parsed.length).toBeGreaterThanOrEqual(2)
    expect(parsed[0]).toMatchObject({ msg: 'progress', stream: 'getcourse/acme/users', rows: 1500, phase: 'export 42 forming' })
  })
})
