import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Warehouse } from '../../src/db/index.js'
import { MIGRATIONS_DIR, migrateToLatest } from '../../src/db/migrate.js'
import { createTestWarehouse, quietLog, type TestWarehouse } from '../support/database.js'

// Every command migrates before it runs. When nothing is pending, one read of etl.schema_migrations
// says so: no transaction per file, no migration lock (finding 14: ~25 MB of an embedded dump's peak).

let wh: TestWarehouse
beforeAll(async () => {
  wh = await createTestWarehouse({ migrate: false })
})
afterAll(async () => wh.dispose())

/** The warehouse, counting the scripts it is asked to run (each migration file is one). */
function counting(warehouse: Warehouse) {
  const seen = { scripts: 0 }
  const spy: Warehouse = Object.assign(Object.create(warehouse) as Warehouse, {
    execScript: (text: string, before?: Parameters<Warehouse['execScript']>[1]) => {
      seen.scripts++
      return warehouse.execScript(text, before)
    },
  })
  return { spy, seen }
}

describe('migrateToLatest', { timeout: 120_000 }, () => {
  it('applies every file once; an up-to-date warehouse runs none; a new file alone is applied', async () => {
    const all = readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith('.sql'))
    const first = counting(wh)
    const applied = await migrateToLatest(first.spy, quietLog)
    expect(applied.length).toBe(all.length)
    expect(first.seen.scripts).toBe(all.length)

    const again = counting(wh)
    expect(await migrateToLatest(again.spy, quietLog)).toEqual([])
    expect(again.seen.scripts).toBe(0)

    // A release that adds one migration: every file is checked under the lock, the new one applied.
    const dir = mkdtempSync(path.join(tmpdir(), 'migrations-'))
    const migrations = path.join(dir, 'migrations')
    mkdirSync(migrations)
    for (const f of all) copyFileSync(path.join(MIGRATIONS_DIR, f), path.join(migrations, f))
    writeFileSync(path.join(migrations, '0999_added.sql'), "create table etl.added_later (id int primary key, note text default 'нове');\n")
    const next = counting(wh)
    expect(await migrateToLatest(next.spy, quietLog, migrations)).toEqual(['0999_added'])
    expect(next.seen.scripts).toBe(all.length + 1)
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from etl.schema_migrations where id = 999`.execute(wh.db)
    expect(rows[0]!.n).toBe(1)
    const last = counting(wh)
    expect(await migrateToLatest(last.spy, quietLog, migrations)).toEqual([])
    expect(last.seen.scripts).toBe(0)
  })

  it('a migrator holding the lock does not block a process whose warehouse is up to date, and blocks one with a pending file', async (ctx) => {
    if (!wh.url) ctx.skip() // two sessions need a server; CI always has one
    const holder = new pg.Client({ connectionString: wh.url })
    await holder.connect()
    try {
      await holder.query('begin')
      await holder.query('select pg_advisory_xact_lock(727401113)')
      const upToDate = await Promise.race([
        migrateToLatest(wh, quietLog).then((a) => ({ applied: a })),
        new Promise((resolve) => setTimeout(() => resolve('blocked'), 5_000)),
      ])
      expect(upToDate).toEqual({ applied: [] })

      const dir = mkdtempSync(path.join(tmpdir(), 'migrations-'))
      for (const f of readdirSync(MIGRATIONS_DIR)) copyFileSync(path.join(MIGRATIONS_DIR, f), path.join(dir, f))
      writeFileSync(path.join(dir, '0998_waits.sql'), 'create table etl.waited (id int);\n')
      let done = false
      const pending = migrateToLatest(wh, quietLog, dir).then((a) => {
        done = true
        return a
      })
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      expect(done).toBe(false)
      await holder.query('commit')
      expect(await pending).toEqual(['0998_waits'])
    } finally {
      await holder.end()
    }
  })
})
