import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MIGRATIONS_DIR, migrateToLatest } from '../../src/db/migrate.js'
import { createTestWarehouse, quietLog, type TestWarehouse } from '../support/database.js'

/** 0005 converts stored columns in place: every row kept, text ids become integers, views still work. */
let wh: TestWarehouse
let dir: string
beforeAll(async () => {
  wh = await createTestWarehouse({ migrate: false })
  dir = mkdtempSync(path.join(tmpdir(), 'migrations-'))
  for (const f of ['0001_etl.sql', '0002_getcourse.sql', '0003_kwiga.sql', '0004_analytics.sql']) copyFileSync(path.join(MIGRATIONS_DIR, f), path.join(dir, f))
  await migrateToLatest(wh, quietLog, dir)
})
afterAll(async () => {
  await wh?.dispose()
  rmSync(dir, { recursive: true, force: true })
})

describe('migration 0005 on a warehouse with data', () => {
  it('keeps every row, converts integer ids and the coupon deleted_at, adds deleted_at', async () => {
    await sql`insert into kwiga.contacts (cabinet, contact_id, raw) values ('c', 1, '{}')`.execute(wh.db)
    await sql`insert into kwiga.orders (cabinet, order_id, contact_id, type_id, paid_status, raw) values ('c', 10, 1, '3', 'paid', '{}'), ('c', 11, 1, null, '2', '{}')`.execute(
      wh.db,
    )
    await sql`insert into kwiga.offers (cabinet, offer_id, price_type_id, limit_type_id, raw) values ('c', 5, '2', '1', '{}')`.execute(wh.db)
    await sql`insert into kwiga.coupons (cabinet, coupon_id, type_id, deleted_at, raw) values ('c', 7, 'discount_with_percent', '2025-01-02T00:00:00Z', '{}')`.execute(
      wh.db,
    )
    await sql`insert into getcourse.users (account, id, email) values ('a', 100, 'x@y'), ('a', 101, 'z@y')`.execute(wh.db)

    await migrateToLatest(wh, quietLog)
    const orders = await sql<{ order_id: string; type_id: number | null }>`select order_id::text, type_id from kwiga.orders order by order_id`.execute(wh.db)
    expect(orders.rows).toEqual([
      { order_id: '10', type_id: 3 },
      { order_id: '11', type_id: null },
    ])
    const offer = await sql<{ price_type_id: number; limit_type_id: number }>`select price_type_id, limit_type_id from kwiga.offers`.execute(wh.db)
    expect(offer.rows).toEqual([{ price_type_id: 2, limit_type_id: 1 }])
    const coupon = await sql<{
      type_id: string
      source_deleted_at: Date
      deleted_at: Date | null
    }>`select type_id, source_deleted_at, deleted_at from kwiga.coupons`.execute(wh.db)
    expect(coupon.rows[0]).toMatchObject({ type_id: 'discount_with_percent', deleted_at: null })
    expect(coupon.rows[0]!.source_deleted_at.toISOString()).toBe('2025-01-02T00:00:00.000Z')
    const users = await sql<{ n: number; deleted: number }>`select count(*)::int as n, count(deleted_at)::int as deleted from getcourse.users`.execute(wh.db)
    expect(users.rows[0]).toEqual({ n: 2, deleted: 0 })
    const types = await sql<{
      t: string
    }>`select format_type(atttypid, atttypmod) as t from pg_attribute where attrelid = 'kwiga.orders'::regclass and attname = 'type_id'`.execute(wh.db)
    expect(types.rows[0]!.t).toBe('integer')
    const people = await sql<{ n: number }>`select count(*)::int as n from analytics.people`.execute(wh.db)
    expect(people.rows[0]!.n).toBe(3)
  })
})
