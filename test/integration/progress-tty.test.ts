import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestWarehouse, type TestWarehouse } from '../support/database.js'
import { screen } from '../support/screen.js'

/**
 * Issue 16 item 11 through the real CLI: on a pseudo-terminal (`script`) the live progress line is
 * drawn and erased, log lines print above it and none is garbled; through a pipe there is no escape
 * sequence at all, only JSON log lines.
 */
const CLI = path.resolve('bin/course-etl.js')
const FIXTURE = path.resolve('test/fixtures/getcourse/users-export.json')
const hasScript = spawnSync('script', ['--version']).status === 0

let wh: TestWarehouse
let dir: string
let cfg: string
beforeAll(async () => {
  wh = await createTestWarehouse()
  dir = mkdtempSync(path.join(tmpdir(), 'progress-tty-'))
  cfg = path.join(dir, 'etl.yaml')
  writeFileSync(cfg, 'database: ${WAREHOUSE_URL}\ndataDir: ./data\ngetcourse:\n  - name: acme\n    account: acme\n    key: ${GC_KEY}\n')
})
afterAll(async () => wh?.dispose())

const args = () => ['--config', cfg, 'load-file', '--account', 'acme', '--stream', 'users', '--file', FIXTURE]
// CI is cleared: the live line is off under CI (its logs are read later), but this test is about a terminal.
const env = () => ({
  ...process.env,
  WAREHOUSE_URL: wh.url ?? '',
  GC_KEY: 'progress-tty-key-0',
  LOG_LEVEL: 'info',
  DATABASE_URL: '',
  ETL_CONFIG: '',
  TERM: 'xterm',
  CI: '',
})
const quote = (s: string) => `'${s.replaceAll("'", "'\\''")}'`
const LIVE = /getcourse-file\/acme\/users: \d+ rows/

describe.runIf(hasScript || process.env.CI)('progress on a pseudo-terminal', { timeout: 120_000 }, () => {
  it('draws the live line, erases it at the end, and keeps log lines whole above it', async (ctx) => {
    if (!wh.url) return ctx.skip() // the child process needs a server database
    const command = [process.execPath, CLI, ...args()].map(quote).join(' ')
    const res = spawnSync('script', ['-qfec', command, '/dev/null'], { cwd: dir, env: env(), encoding: 'utf8', timeout: 90_000 })
    expect(res.status, res.stdout + res.stderr).toBe(0)
    const raw = res.stdout
    // The live line was drawn, then erased in place (cursor up one line, erase below).
    expect(raw).toMatch(LIVE)
    expect(raw).toContain('\x1b[1F\x1b[J')
    const seen = screen(raw)
    // What stays on the screen: whole log lines (pino-pretty, fields indented below them) and the summary; no live line.
    expect(seen.filter((l) => LIVE.test(l))).toEqual([])
    expect(seen.some((l) => /^\[\d\d:\d\d:\d\d\] INFO: stream started/.test(l))).toBe(true)
    expect(seen.some((l) => /^\[\d\d:\d\d:\d\d\] INFO: stream succeeded/.test(l))).toBe(true)
    expect(seen.filter((l) => !/^\[\d\d:\d\d:\d\d\] (INFO|WARN)|^ {4}\S|^succeeded /.test(l))).toEqual([])
    expect(seen.at(-1)).toMatch(/^succeeded getcourse-file\/acme\/users: 7 read/)
  })
})

describe('progress through a pipe', () => {
  it('writes no escape sequence and logs JSON', async (ctx) => {
    if (!wh.url) return ctx.skip()
    const res = spawnSync(process.execPath, [CLI, ...args()], { cwd: dir, env: env(), encoding: 'utf8', timeout: 90_000 })
    expect(res.status, res.stderr).toBe(0)
    expect(res.stderr).not.toContain('\x1b[')
    const lines = res.stderr.trim().split('\n')
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toContain('stream succeeded')
    expect(res.stdout).toMatch(/^succeeded getcourse-file\/acme\/users: 7 read/)
  })
})
