import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import { EtlError } from '../errors.js'
import type { Logger } from '../log.js'
import type { Warehouse } from './index.js'
import { databaseUnavailable, isDatabaseUnavailable } from './unavailable.js'

export const MIGRATIONS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../migrations')

export interface Migration {
  id: number
  name: string
  file: string
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const files = readdirSync(dir).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f))
  const migrations = files.map((f) => ({ id: Number(f.slice(0, 4)), name: f.replace(/\.sql$/, ''), file: path.join(dir, f) }))
  migrations.sort((a, b) => a.id - b.id)
  // Numbers are unique and applied in order. Gaps are allowed: parallel branches reserve numbers
  // (0006–0009) and a branch is tested before the lower numbers are merged.
  migrations.forEach((m, i) => {
    if (i > 0 && m.id === migrations[i - 1]!.id)
      throw new EtlError('MIGRATION_FAILED', `Two migrations are numbered ${m.id}: ${migrations[i - 1]!.name}, ${m.name}`)
  })
  return migrations
}

// Same key in every process: concurrent `migrate` runs serialize instead of racing.
const MIGRATION_LOCK = 727_401_113

/**
 * Apply pending migrations, one transaction per file. Forward-only; a failure rolls back that file
 * and throws MIGRATION_FAILED (the CLI exits non-zero).
 */
export async function migrateToLatest(warehouse: Warehouse, log: Logger, dir = MIGRATIONS_DIR): Promise<string[]> {
  const migrations = listMigrations(dir)
  const applied: string[] = []
  // Every command migrates first: when nothing is pending (the usual case) one read says so, instead
  // of a locked transaction per file (embedded, those alone grew `dump`'s peak by ~25 MB, finding 14).
  if (await allApplied(warehouse, migrations)) return applied
  for (const m of migrations) {
    const text = readFileSync(m.file, 'utf8')
    let ran = false
    try {
      await warehouse.execScript(text, async (q) => {
        await q('select pg_advisory_xact_lock($1)', [MIGRATION_LOCK])
        await q('create schema if not exists etl')
        await q('create table if not exists etl.schema_migrations (id int primary key, name text not null, applied_at timestamptz not null default now())')
        const done = await q('select 1 from etl.schema_migrations where id = $1', [m.id])
        if (done.length) return false
        // Bookkeeping row first: a concurrent migrator that got past the lock check sees a conflict.
        await q('insert into etl.schema_migrations (id, name) values ($1, $2)', [m.id, m.name])
        ran = true
        return true
      })
    } catch (err) {
      // A server that is down or refuses us is not a broken migration.
      if (isDatabaseUnavailable(err)) throw databaseUnavailable(warehouse.label, err)
      throw new EtlError('MIGRATION_FAILED', `Migration ${m.name} failed: ${(err as Error).message}`, { cause: err })
    }
    if (ran) {
      applied.push(m.name)
      log.info({ migration: m.name }, 'migration applied')
    }
  }
  return applied
}

/** True when the bookkeeping table lists every migration; false when it is absent or something is pending. */
async function allApplied(warehouse: Warehouse, migrations: Migration[]): Promise<boolean> {
  try {
    const { rows } = await sql<{ present: boolean }>`select to_regclass('etl.schema_migrations') is not null as present`.execute(warehouse.db)
    if (!rows[0]?.present) return false
    const done = await sql<{ id: number }>`select id from etl.schema_migrations`.execute(warehouse.db)
    const ids = new Set(done.rows.map((r) => Number(r.id)))
    return migrations.every((m) => ids.has(m.id))
  } catch (err) {
    if (isDatabaseUnavailable(err)) throw databaseUnavailable(warehouse.label, err)
    return false
  }
}
