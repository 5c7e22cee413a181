/**
 * Two runs of one stream share its saved state, so both may hold the same listing id (two `sync`
 * processes, or a `schedule` job beside a `sync`). The first to complete (or abandon) the listing
 * closes it; the other, completing it later with only the keys it read itself, must mark nothing.
 * Before listings were closed rather than deleted, the late run re-created the listing empty and
 * marked every row it had not read as deleted (seen as a `getcourse.users` digest mismatch in the
 * multi-process trial: 40 rows, some with `deleted_at`).
 */
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { applyListingOps, recordListingKeys } from '../../src/db/listings.js'
import { upsertRows } from '../../src/db/upsert.js'
import { createTestWarehouse, type TestWarehouse } from '../support/database.js'

const owner = { source: 'getcourse', account: 'school', stream: 'users' }
const table = 'getcourse.users'
const key = ['account', 'id'] as const
const users = Array.from({ length: 10 }, (_, i) => ({ account: 'school', id: String(i + 1), email: `u${i + 1}@example.com`, first_name: 'Имя, "в кавычках"' }))
const keysOf = (ids: number[]) => ids.map((id) => ['school', String(id)])
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

let wh: TestWarehouse
beforeAll(async () => {
  wh = await createTestWarehouse()
  await wh.withTransaction((tx, copy) => upsertRows(tx, { table, key, rows: users }, copy))
})
afterAll(async () => wh.dispose())

const deleted = async () =>
  (await sql<{ id: string }>`select id::text as id from getcourse.users where deleted_at is not null order by id`.execute(wh.db)).rows.map((r) => Number(r.id))
const complete = (listing: string) =>
  wh.withTransaction((tx) => applyListingOps(tx, owner, { complete: [{ listing, table, key, scope: { account: 'school' } }] }))
const see = (listing: string, ids: number[]) => wh.withTransaction((tx) => applyListingOps(tx, owner, { seen: [{ listing, table, key, keys: keysOf(ids) }] }))

describe('a listing held by two runs of one stream', () => {
  it('completed by one run: the other, completing it later with part of the keys, marks nothing', async () => {
    // Run A reads every user, run B (same saved state, same listing) reads the last five.
    await see('L1', range(1, 5))
    await see('L1', range(6, 10))
    expect(await complete('L1')).toEqual([{ table, marked: 0 }])
    await see('L1', range(6, 10))
    await wh.withTransaction((tx) => recordListingKeys(tx, owner, 'L1', table, key, users.slice(5)))
    expect(await complete('L1')).toEqual([{ table, marked: 0, closedBefore: true }])
    expect(await deleted()).toEqual([])
    // The closed listing keeps no keys.
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from etl.listing_keys where listing = 'L1'`.execute(wh.db)
    expect(rows[0]!.n).toBe(0)
  })

  it('abandoned by one run (its plan replaced): the other cannot complete it into deletions', async () => {
    await see('L2', range(1, 5))
    await wh.withTransaction((tx) => applyListingOps(tx, owner, { abandon: ['L2'] }))
    await see('L2', range(6, 10))
    expect(await complete('L2')).toEqual([{ table, marked: 0, closedBefore: true }])
    expect(await deleted()).toEqual([])
  })

  it('a listing read by one run alone still marks what it did not read', async () => {
    await see('L3', range(1, 9))
    expect(await complete('L3')).toEqual([{ table, marked: 1 }])
    expect(await deleted()).toEqual([10])
  })
})
