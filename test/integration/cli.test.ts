import { spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MIGRATIONS_DIR, migrateToLatest } from '../../src/db/migrate.js'
import { createTestWarehouse, quietLog, type TestWarehouse } from '../support/database.js'

// The installed entry point: resolves tsx from the project, whatever the working directory.
const CLI = path.resolve('bin/course-etl.js')
function etl(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}) {
  const res = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, LOG_LEVEL: 'warn', DATABASE_URL: '', ETL_CONFIG: '', ...env },
    timeout: 120_000,
  })
  return { code: res.status, stdout: res.stdout, stderr: res.stderr }
}

let dir: string
let wh: TestWarehouse
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'cli-'))
  wh = await createTestWarehouse({ migrate: false })
})
afterAll(async () => wh.dispose())

describe('course-etl CLI', { timeout: 180_000 }, () => {
  it('migrate and status work on the embedded database with no config at all', () => {
    const m = etl(['migrate'], dir)
    expect(m.code, m.stderr).toBe(0)
    expect(m.stdout).toMatch(/applied 0001_etl, 0002_getcourse.* on embedded:\.data\/warehouse/)
    expect(etl(['migrate'], dir).stdout).toMatch(/up to date/)
    const s = etl(['status', '--json'], dir)
    expect(s.code, s.stderr).toBe(0)
    expect(JSON.parse(s.stdout)).toMatchObject({ database: 'embedded:.data/warehouse', streams: [] })
  })

  it('migrate and status work on a server from the config file, streams listed per configured account', async (ctx) => {
    if (!wh.url) return ctx.skip() // covered on CI, where TEST_DATABASE_URL is a server
    const cfg = path.join(dir, 'server.yaml')
    writeFileSync(cfg, 'database: ${WAREHOUSE_URL}\ngetcourse:\n  - name: acme\n    account: acme\n    key: ${GC_KEY}\n')
    const env = { WAREHOUSE_URL: wh.url, GC_KEY: 'cli-test-key-0000' }
    expect(etl(['--config', cfg, 'migrate'], dir, env).code).toBe(0)
    const s = etl(['--config', cfg, 'status'], dir, env)
    expect(s.code, s.stderr).toBe(0)
    expect(s.stdout).toContain(`warehouse: postgres://`)
    expect(s.stdout).toMatch(/getcourse\s+acme\s+users\s+-\s+never/)
    expect(s.stdout).toContain('getcourse:acme: budget=0/90')
    expect(s.stdout + s.stderr).not.toContain('cli-test-key-0000')
  })

  it('fails with one line naming the field for an invalid config, and with a usage error for bad options', () => {
    const cfg = path.join(dir, 'bad.yaml')
    writeFileSync(cfg, 'kwiga:\n  - name: main\n    token: ${KW_TOKEN}\n    cabinetHash: abcd\n    rateLimit: { requests: 0 }\n')
    const r = etl(['--config', cfg, 'status'], dir, { KW_TOKEN: 'token-123456789' })
    expect(r.code).toBe(1)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/^course-etl: CONFIG_INVALID: .*`kwiga\[0\]\.rateLimit\.requests`/)
    expect(r.stderr).not.toContain('token-123456789')
    const missing = etl(['--config', cfg, 'status'], dir)
    expect(missing.stderr).toMatch(/unset environment variable\(s\): KW_TOKEN/)
    const bad = etl(['sync', '--from', '2026-13-45'], dir)
    expect(bad.code).not.toBe(0)
    expect(bad.stderr).toMatch(/expected a date YYYY-MM-DD/)
    // `sync` needs a config file (issue 16): one without accounts.
    const none = path.join(dir, 'no-accounts.yaml')
    writeFileSync(none, 'timezone: Europe/Moscow\n')
    const unknown = etl(['--config', none, 'sync', '--account', 'nope'], dir)
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toMatch(/USAGE: No configured account named "nope"/)
  })

  it('a failing migration is rolled back, reported as MIGRATION_FAILED, and nothing after it runs', async () => {
    const fresh = await createTestWarehouse({ migrate: false })
    try {
      const migrations = path.join(dir, 'migrations')
      mkdirSync(migrations)
      copyFileSync(path.join(MIGRATIONS_DIR, '0001_etl.sql'), path.join(migrations, '0001_etl.sql'))
      writeFileSync(path.join(migrations, '0002_broken.sql'), 'create table etl.half_done (id int);\nselect * from no_such_table;\n')
      writeFileSync(path.join(migrations, '0003_after.sql'), 'create table etl.after_broken (id int);\n')
      await expect(migrateToLatest(fresh, quietLog, migrations)).rejects.toMatchObject({
        code: 'MIGRATION_FAILED',
        message: expect.stringContaining('0002_broken'),
      })
      const { rows } = await sql<{ name: string }>`select name from etl.schema_migrations order by id`.execute(fresh.db)
      expect(rows.map((r) => r.name)).toEqual(['0001_etl'])
      const { rows: tables } = await sql<{
        n: number
      }>`select count(*)::int as n from pg_tables where schemaname = 'etl' and tablename in ('half_done', 'after_broken')`.execute(fresh.db)
      expect(tables[0]!.n).toBe(0)
    } finally {
      await fresh.dispose()
    }
  })
})
