/**
 * `schedule --http` from the command line: what a user can get wrong ends with one line naming the
 * code, and a replica that loses its database lock session stops instead of running on without locks.
 */
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ROOT, createTestDb, failureLine, prepareCli, runCli, serverAvailable, sleep, tempDir, type TestDb } from '../reliability/harness.js'

const server = await serverAvailable()

describe.skipIf(!server)('schedule --http on the command line', () => {
  let cli: Awaited<ReturnType<typeof prepareCli>>
  let tdb: TestDb
  const dir = tempDir('schedule-http')
  let config: string

  beforeAll(async () => {
    cli = await prepareCli()
    tdb = await createTestDb()
    mkdirSync(path.join(dir, 'jobs'), { recursive: true })
    config = path.join(dir, 'etl.yaml')
    writeFileSync(
      config,
      `database: ${JSON.stringify(tdb.url)}\ndataDir: ${JSON.stringify(path.join(dir, 'data'))}\njobsDir: ${JSON.stringify(path.join(dir, 'jobs'))}\nshutdownSeconds: 3\n`,
    )
  }, 60_000)
  afterAll(async () => {
    await tdb?.close()
    cli?.dispose()
    rmSync(dir, { recursive: true, force: true })
  })

  it('refuses a malformed address, a non-loopback address without a token and a taken port, each in one line', { timeout: 120_000 }, async () => {
    const bad = await runCli(cli, ['--config', config, 'schedule', '--http', '9464'], { timeoutMs: 60_000 })
    expect(bad.code).toBe(1)
    expect(failureLine(bad.stderr)).toBe('course-etl: USAGE: --http expects HOST:PORT such as 127.0.0.1:9464, got "9464"')
    const open = await runCli(cli, ['--config', config, 'schedule', '--http', '0.0.0.0:9464'], { timeoutMs: 60_000 })
    expect(open.code).toBe(1)
    expect(failureLine(open.stderr)).toBe('course-etl: USAGE: --http 0.0.0.0:9464 is not loopback: set server.token in the config to expose the status page')
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as { port: number }).port
    try {
      const busy = await runCli(cli, ['--config', config, 'schedule', '--http', `127.0.0.1:${port}`], { timeoutMs: 60_000 })
      expect(busy.code).toBe(1)
      expect(failureLine(busy.stderr)).toBe(`course-etl: USAGE: cannot serve on 127.0.0.1:${port}: EADDRINUSE`)
    } finally {
      taken.close()
    }
    // None of them left a replica registered.
    const { rows } = await tdb.db.pool!.query('select count(*)::int as n from etl.replicas')
    expect(rows[0].n).toBe(0)
  })

  it('a replica whose lock session the server ends stops through the normal shutdown', { timeout: 120_000 }, async () => {
    const child = spawn(process.execPath, [...cli.argv, '--config', config, 'schedule', '--http', '127.0.0.1:0'], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'info', FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let log = ''
    child.stderr.on('data', (c: Buffer) => (log += c.toString()))
    child.stdout.on('data', (c: Buffer) => (log += c.toString()))
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)))
    const pool = tdb.db.pool!
    for (const until = Date.now() + 60_000; ; await sleep(100)) {
      const { rows } = await pool.query('select count(*)::int as n from etl.replicas')
      if (rows[0].n === 1) break
      expect(Date.now(), log.slice(-2000)).toBeLessThan(until)
    }
    // The lock session holds the replica's advisory lock: end exactly that backend.
    const { rows: ended } = await pool.query(
      `select pg_terminate_backend(l.pid) as ok from pg_locks l join pg_stat_activity a on a.pid = l.pid
       where l.locktype = 'advisory' and a.datname = current_database() and a.application_name = 'course-etl'`,
    )
    expect(ended.length).toBe(1)
    const code = await Promise.race([exited, sleep(30_000).then(() => 'still running')])
    expect(code, log.slice(-2000)).toBe(0)
    expect(log).toContain('replica lost its database session')
    expect(log).toContain('scheduler stopped')
  })
})
