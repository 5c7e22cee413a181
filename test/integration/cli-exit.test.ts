import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { openWarehouse } from '../../src/db/index.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { createTestWarehouse, quietLog, type TestWarehouse } from '../support/database.js'

// Issue 20: every command must end its pool and exit as soon as its work is done. An open pg pool
// keeps the event loop alive for its idle timeout (30 s), so "exits within a few seconds of its last
// output" tells a closed pool from a leaked one.
const CLI = path.resolve('bin/course-etl.js')
const FIXTURES = path.resolve('test/fixtures/getcourse')
const MAX_LINGER_MS = 8_000

interface Finished {
  code: number | null
  stdout: string
  stderr: string
  /** Milliseconds from the last byte written (or the start, if none) to the process exit. */
  lingerMs: number
}

/** Runs the CLI as a child process and notes when it last wrote something and when it exited. */
function run(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}, started?: (child: ChildProcess) => void): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, LOG_LEVEL: 'warn', DATABASE_URL: '', ETL_CONFIG: '', ...env } })
    let stdout = ''
    let stderr = ''
    let last = Date.now()
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString()
      last = Date.now()
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
      last = Date.now()
    })
    // Long past the pool's idle timeout, so a leak shows as a slow exit rather than a hung test.
    const kill = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    started?.(child)
    child.on('exit', (code) => {
      clearTimeout(kill)
      const lingerMs = Date.now() - last
      // 'exit' can come before the pipes drain; 'close' has all output.
      child.on('close', () => resolve({ code, stdout, stderr, lingerMs }))
    })
  })
}

let wh: TestWarehouse
let dir: string
let cfg: string
let env: NodeJS.ProcessEnv

beforeEach(async (ctx) => {
  // Pending migrations on purpose: `migrate` has work to do, the other commands migrate first.
  wh = await createTestWarehouse({ migrate: false })
  if (!wh.url) return ctx.skip() // the leak was the pg pool; covered on CI, where TEST_DATABASE_URL is a server
  dir = mkdtempSync(path.join(tmpdir(), 'cli-exit-'))
  cfg = path.join(dir, 'etl.yaml')
  writeFileSync(cfg, 'database: ${WAREHOUSE_URL}\ndataDir: ./data\ngetcourse:\n  - name: acme\n    account: acme\n    key: ${GC_KEY}\n')
  env = { WAREHOUSE_URL: wh.url, GC_KEY: 'cli-exit-key-0000' }
})
afterEach(async () => wh?.dispose())

function expectPromptExit(r: Finished): void {
  expect(r.code, r.stderr).toBe(0)
  expect(r.lingerMs, `exited ${r.lingerMs} ms after its last output`).toBeLessThan(MAX_LINGER_MS)
}

describe('every CLI command exits as soon as its work is done (server)', { timeout: 120_000 }, () => {
  it('migrate: with migrations to apply, and again when up to date', async () => {
    const first = await run(['--config', cfg, 'migrate'], dir, env)
    expectPromptExit(first)
    expect(first.stdout).toMatch(/^applied 0001_etl/)
    const again = await run(['--config', cfg, 'migrate'], dir, env)
    expectPromptExit(again)
    expect(again.stdout).toMatch(/is up to date/)
  })

  it('status', async () => {
    const r = await run(['--config', cfg, 'status'], dir, env)
    expectPromptExit(r)
    expect(r.stdout).toContain('warehouse: postgres://')
  })

  it('dump --table … --out …', async () => {
    const out = path.join(dir, 'users.csv')
    const r = await run(['--config', cfg, 'dump', '--table', 'getcourse.users', '--out', out], dir, env)
    expectPromptExit(r)
    expect(r.stdout).toContain(`getcourse.users: 0 rows → ${out}`)
  })

  it('load-file of a saved GetCourse export', async () => {
    const r = await run(['--config', cfg, 'load-file', '--account', 'acme', '--stream', 'users', '--file', path.join(FIXTURES, 'users-export.json')], dir, env)
    expectPromptExit(r)
    expect(r.stdout).toMatch(/succeeded getcourse-file\/acme\/users: 7 read/)
  })

  it('sync on a config with no accounts', async () => {
    const empty = path.join(dir, 'empty.yaml')
    writeFileSync(empty, 'database: ${WAREHOUSE_URL}\ndataDir: ./data\n')
    const r = await run(['--config', empty, 'sync'], dir, env)
    expectPromptExit(r)
    expect(r.stderr).toContain('no accounts configured')
  })

  it('schedule --run of a trivial job', async () => {
    const jobs = path.join(dir, 'jobs')
    mkdirSync(jobs)
    writeFileSync(path.join(jobs, 'nothing.yaml'), 'name: nothing\ncron: "0 3 * * *"\nsource: kwiga\n')
    const empty = path.join(dir, 'empty.yaml')
    writeFileSync(empty, 'database: ${WAREHOUSE_URL}\ndataDir: ./data\n')
    const r = await run(['--config', empty, 'schedule', '--jobs', jobs, '--run', 'nothing'], dir, env)
    expectPromptExit(r)
  })

  it('a failing command (unknown table) exits promptly too, with code 1', async () => {
    const r = await run(['--config', cfg, 'dump', '--table', 'nope.nope', '--out', path.join(dir, 'x.csv')], dir, env)
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/DUMP_INVALID/)
    expect(r.lingerMs).toBeLessThan(MAX_LINGER_MS)
  })
})

describe('Warehouse.close', () => {
  it('ends the pool even when only execScript ran (Kysely never started its driver), once however often called', async (ctx) => {
    if (!wh.url) return ctx.skip()
    const opened = await openWarehouse({ database: wh.url, log: quietLog })
    await migrateToLatest(opened, quietLog)
    await Promise.all([opened.close(), opened.close()])
    await opened.close()
    expect(opened.pool!.ended).toBe(true)
  })
})

describe('an interrupted dump leaves no temporary file (issue 15 item 12)', { timeout: 120_000 }, () => {
  /** Starts a dump of a table big enough to take seconds and sends `signals` once its temp file is growing. */
  async function interrupt(signals: NodeJS.Signals[]): Promise<{ r: Finished; files: string[] }> {
    await migrateToLatest(wh, quietLog)
    await sql`create table getcourse.big as select 'acme'::text as account, g::bigint as id, repeat(md5(g::text), 4) as note
      from generate_series(1, 1500000) g`.execute(wh.db)
    const outDir = path.join(dir, 'out')
    mkdirSync(outDir)
    const out = path.join(outDir, 'big.csv')
    const r = await run(['--config', cfg, 'dump', '--table', 'getcourse.big', '--out', out], dir, env, (child) => {
      const poll = setInterval(() => {
        const temp = readdirSync(outDir).find((f) => f.startsWith('big.csv.tmp-'))
        if (!temp || statSync(path.join(outDir, temp)).size < 1_000_000) return
        clearInterval(poll)
        // The next signal goes as soon as the CLI has taken the previous one ("shutdown requested"),
        // so it lands during the cleanup, not after a late timer of a loaded test process.
        const [first, ...rest] = signals
        let heard = 0
        child.stderr?.on('data', (chunk: Buffer) => {
          const seen = (chunk.toString().match(/shutdown requested/g) ?? []).length
          for (let i = 0; i < seen && heard < rest.length; i++) child.kill(rest[heard++]!)
        })
        child.kill(first!)
      }, 10)
      child.on('exit', () => clearInterval(poll))
    })
    return { r, files: readdirSync(outDir) }
  }

  it('SIGTERM mid-way: the temp file is removed and the exit code is not 0', async () => {
    const { r, files } = await interrupt(['SIGTERM'])
    expect(r.code, r.stderr).not.toBe(0)
    expect(r.code).not.toBeNull() // ended by itself, not killed by the signal's default action
    expect(files).toEqual([])
    expect(r.stderr).toMatch(/ABORTED: received SIGTERM/)
  })

  it('a second Ctrl-C (forced exit) still removes it', async () => {
    const { r, files } = await interrupt(['SIGINT', 'SIGINT'])
    expect(r.code).not.toBe(0)
    expect(r.code).not.toBeNull()
    expect(files).toEqual([])
    expect(existsSync(path.join(dir, 'out', 'big.csv'))).toBe(false)
  })
})
