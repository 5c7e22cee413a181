import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { openWarehouse, type Warehouse } from '../../src/db/index.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { createLogger } from '../../src/log.js'

/**
 * A fresh, migrated warehouse for one test (file). Where it lives, in order of preference:
 * 1. TEST_DATABASE_URL (CI: the machine's Postgres server) → a new database per call, dropped on dispose;
 * 2. Docker available → one Postgres container per test worker (testcontainers), a database per call;
 * 3. otherwise an in-memory embedded PGlite.
 */
export interface TestWarehouse extends Warehouse {
  /** Connection string of this test's own database (server modes), for child processes. */
  readonly url?: string
  dispose(): Promise<void>
}

export const quietLog = createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent', pretty: false })

let containerUrl: Promise<string | null> | undefined

async function serverUrl(): Promise<string | null> {
  if (process.env.TEST_DATABASE_URL) return process.env.TEST_DATABASE_URL
  if (process.env.TEST_EMBEDDED === '1') return null
  containerUrl ??= (async () => {
    try {
      const { getContainerRuntimeClient } = await import('testcontainers')
      await getContainerRuntimeClient()
    } catch {
      return null
    }
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql')
    const container = await new PostgreSqlContainer('postgres:16-alpine').start()
    return container.getConnectionUri()
  })()
  return containerUrl
}

/** True when tests run against a real server (multi-process tests need one). */
export async function hasServer(): Promise<boolean> {
  return (await serverUrl()) !== null
}

export async function createTestWarehouse(
  options: { migrate?: boolean /** Embedded PGlite even when a server is there. */; embedded?: boolean } = {},
): Promise<TestWarehouse> {
  const base = options.embedded ? null : await serverUrl()
  let warehouse: Warehouse
  let url: string | undefined
  let drop: (() => Promise<void>) | undefined
  if (base) {
    const name = `course_etl_t_${randomBytes(5).toString('hex')}`
    const admin = new pg.Client({ connectionString: base })
    await admin.connect()
    await admin.query(`create database ${name}`)
    await admin.end()
    const u = new URL(base)
    u.pathname = `/${name}`
    url = u.toString()
    warehouse = await openWarehouse({ database: url, log: quietLog })
    drop = async () => {
      const c = new pg.Client({ connectionString: base })
      await c.connect()
      await c.query(`drop database if exists ${name} with (force)`)
      await c.end()
    }
  } else {
    warehouse = await openWarehouse({ memory: true, log: quietLog })
  }
  if (options.migrate ?? true) await migrateToLatest(warehouse, quietLog)
  return Object.assign(Object.create(null) as object, warehouse, {
    url,
    async dispose() {
      await warehouse.close()
      await drop?.()
    },
  }) as TestWarehouse
}
