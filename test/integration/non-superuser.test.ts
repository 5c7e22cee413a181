import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import path from 'node:path'
import { sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VirtualClock } from '../../src/clock.js'
import { openWarehouse, type Warehouse } from '../../src/db/index.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { startKwigaSimulator, type KwigaSim } from '../../src/simulators/kwiga/server.js'
import { hasServer, quietLog } from '../support/database.js'
import { CABINETS, kwigaConfig, syncKwiga } from '../kwiga/support.js'

/**
 * docker-compose.yml runs the ETL as a role that is not a superuser, created by
 * deploy/initdb/etl-role.sql.in. This runs that very file with psql against the test server and
 * checks that migrations, a sync and reads work as that role, and that the role cannot read what
 * only a superuser may.
 */
const server = await hasServer()
const base = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
const suffix = randomBytes(4).toString('hex')
const role = `etl_t_${suffix}`
const database = `warehouse_t_${suffix}`
const password = `pw-${randomBytes(6).toString('hex')}`

let warehouse: Warehouse | undefined
let sim: KwigaSim | undefined

async function admin(text: string): Promise<void> {
  const c = new pg.Client({ connectionString: base })
  await c.connect()
  try {
    await c.query(text)
  } finally {
    await c.end()
  }
}

describe.runIf(server)('the ETL as a non-superuser role', () => {
  beforeAll(async () => {
    const res = spawnSync(
      'psql',
      [
        '-v',
        'ON_ERROR_STOP=1',
        '-d',
        base,
        '-v',
        `etl_role=${role}`,
        '-v',
        `etl_password=${password}`,
        '-v',
        `etl_database=${database}`,
        '-f',
        path.resolve('deploy/initdb/etl-role.sql.in'),
      ],
      { encoding: 'utf8' },
    )
    expect(res.status, res.stderr).toBe(0)
    const url = new URL(base)
    url.username = role
    url.password = password
    url.pathname = `/${database}`
    warehouse = await openWarehouse({ database: url.toString(), log: quietLog })
  })
  afterAll(async () => {
    await sim?.close()
    await warehouse?.close()
    await admin(`drop database if exists ${database} with (force)`)
    await admin(`drop role if exists ${role}`)
  })

  it('migrates, syncs and reads the warehouse, and nothing of the server', async () => {
    const wh = warehouse!
    const { rows } = await sql<{ rolsuper: boolean }>`select rolsuper from pg_roles where rolname = current_user`.execute(wh.db)
    expect(rows[0]!.rolsuper).toBe(false)
    expect(await migrateToLatest(wh, quietLog)).toContain('0005_fidelity')

    const clock = new VirtualClock()
    sim = await startKwigaSimulator({ cabinets: [{ ...CABINETS[0]!, contacts: 60, courses: 1, usersPerCourse: 10, seed: 5 }], clock })
    const res = await syncKwiga({
      wh: Object.assign(Object.create(null) as object, wh, { url: undefined, dispose: async () => {} }) as never,
      clock,
      config: kwigaConfig(sim, [CABINETS[0]!]),
    })
    expect(res.results.every((r) => r.status === 'succeeded')).toBe(true)
    const contacts = await sql<{ n: number }>`select count(*)::int as n from analytics.people where source = 'kwiga'`.execute(wh.db)
    expect(contacts.rows[0]!.n).toBeGreaterThan(0)

    // What a crafted value in a query could reach: not the password hashes, not server files.
    await expect(sql`select rolpassword from pg_authid`.execute(wh.db)).rejects.toThrow(/permission denied/)
    await expect(sql`select pg_read_file('postgresql.conf')`.execute(wh.db)).rejects.toThrow(/permission denied/)
  })
})
