import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { VirtualClock } from '../../src/clock.js'
import { averageRequestsPerExport, budgetStatus } from '../../src/sources/getcourse/index.js'
import { KEY, requestKinds, startHarness, type Harness } from './harness.js'

const count = async (h: Harness, table: string) =>
  Number((await sql<{ n: number }>`select count(*)::int as n from ${sql.table(table)}`.execute(h.wh.db)).rows[0]!.n)

const toSecond = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString()

describe('GetCourse sync against the simulator', () => {
  let h: Harness
  let first: Awaited<ReturnType<Harness['sync']>>
  beforeAll(async () => {
    h = await startHarness()
    first = await h.sync()
  })
  afterAll(async () => h?.close())

  it('loads every stream, complete', async () => {
    expect(first.results.map((r) => [r.stream, r.status])).toEqual(
      ['fields', 'groups', 'users', 'group_members', 'deals', 'payments'].map((s) => [s, 'succeeded']),
    )
    const data = h.sim.dataset('school')
    expect(await count(h, 'getcourse.users')).toBe(data.users.length)
    expect(await count(h, 'getcourse.deals')).toBe(data.deals.length)
    expect(await count(h, 'getcourse.payments')).toBe(data.payments.length)
    expect(await count(h, 'getcourse.groups')).toBe(data.groups.length)
    expect(await count(h, 'getcourse.group_members')).toBe(data.groups.reduce((n, g) => n + g.members.length, 0))
    expect(await count(h, 'getcourse.fields')).toBeGreaterThan(10)
    expect(await count(h, 'etl.rejects')).toBe(0)
  })

  it('types users: Cyrillic, time zone conversion, UTM from the system block, custom and blank columns in extra', async () => {
    const data = h.sim.dataset('school')
    const user = data.users.find((u) => u.custom.telegram && u.custom.custom_utm_source && u.utm.source)!
    const row = await h.wh.db
      .selectFrom('getcourse.users')
      .selectAll()
      .where('account', '=', 'school')
      .where('id', '=', String(user.id))
      .executeTakeFirstOrThrow()
    expect(row.email).toBe(user.email)
    expect(row.first_name).toBe(user.firstName)
    expect(row.last_name).toBe(user.lastName)
    expect(row.city).toBe(user.city || null)
    expect(new Date(row.created_at!).toISOString()).toBe(toSecond(user.createdAt))
    expect(row.utm_source).toBe(user.utm.source)
    const extra = row.extra as Record<string, unknown>
    expect(extra['Ник в Telegram']).toBe(user.custom.telegram)
    expect(extra.utm_source).toBe(user.custom.custom_utm_source)
    expect(extra).toHaveProperty('column_16')
    expect(extra).toHaveProperty('gc_system_user_utm_source')
  })

  it('types deals and payments: money, currency, status codes, tags arrays, duplicate titles', async () => {
    const data = h.sim.dataset('school')
    const deal = data.deals.find((d) => d.tags.length > 0 && d.paid > 0)!
    const row = await h.wh.db
      .selectFrom('getcourse.deals')
      .selectAll()
      .where('account', '=', 'school')
      .where('id', '=', String(deal.id))
      .executeTakeFirstOrThrow()
    expect(row).toMatchObject({
      number: String(deal.number),
      user_id: String(deal.userId),
      status_code: deal.status,
      currency: 'RUB',
      tags: [...deal.tags],
      offer_tags: [...deal.offerTags],
    })
    expect(Number(row.cost)).toBe(deal.cost)
    expect(Number(row.paid)).toBe(deal.paid)
    expect(new Date(row.status_changed_at!).toISOString()).toBe(toSecond(deal.statusChangedAt))
    expect(Object.keys(row.extra as object)).toEqual(expect.arrayContaining(['Сколько вам лет', 'Сколько вам лет_2', 'utm_source', 'user_utm_source']))
    const untagged = await sql<{ n: number }>`select count(*)::int as n from getcourse.deals where tags = '{}'`.execute(h.wh.db)
    expect(untagged.rows[0]!.n).toBe(data.deals.filter((d) => d.tags.length === 0).length)

    for (const p of data.payments.slice(0, 30)) {
      const pay = await h.wh.db.selectFrom('getcourse.payments').selectAll().where('id', '=', String(p.id)).executeTakeFirstOrThrow()
      expect(Number(pay.amount)).toBeCloseTo(p.amount, 2)
      expect(pay.status_code).toBe(p.status)
      expect(pay.deal_number).toBe(String(data.deal(p.dealId)!.number))
    }
  })

  it('keeps exactly one export forming and stays inside the budget', async () => {
    const stats = h.sim.stats('school')
    expect(stats.maxConcurrentForming).toBe(1)
    expect(stats.maxRequestsInWindow).toBeLessThanOrEqual(90)
    const ledger = await count(h, 'etl.getcourse_requests')
    expect(ledger).toBe(requestKinds(h.sim).all.length)
    const status = await budgetStatus(h.wh.db, h.config.getcourse[0]!, h.clock.now())
    expect(status).toMatchObject({ used: ledger, limit: 90, blockedUntil: null })
  })

  it('a second run is idempotent: nothing inserted, no duplicates, and new or changed records arrive', async () => {
    const data = h.sim.dataset('school')
    const starts = requestKinds(h.sim).starts.length
    await (h.clock as VirtualClock).sleep(3_600_000)
    const again = await h.sync()
    expect(again.ok).toBe(true)
    for (const r of again.results) expect(r.counts.inserted, r.stream).toBe(0)
    // Incremental: one export per window field, not the whole history again.
    expect(requestKinds(h.sim).starts.length - starts).toBeLessThanOrEqual(1 + 2 + 2 + data.groups.length)

    await (h.clock as VirtualClock).sleep(86_400_000)
    const user = data.addUser()
    const changed = data.changeDealStatus(data.deals[0]!.id, 'cancelled')
    const third = await h.sync({ streams: ['users', 'deals'] })
    expect(third.ok).toBe(true)
    expect(third.results.find((r) => r.stream === 'users')!.counts.inserted).toBe(1)
    const deal = await h.wh.db.selectFrom('getcourse.deals').select(['status', 'status_code']).where('id', '=', String(changed.id)).executeTakeFirstOrThrow()
    expect(deal).toEqual({ status: 'Отменен', status_code: 'cancelled' })
    expect(await count(h, 'getcourse.users')).toBe(data.users.length)
    expect(data.users.at(-1)!.id).toBe(user.id)
  })

  it('reports requests per export; most exports need one check', async () => {
    const avg = await averageRequestsPerExport(h.wh.db, 'school')
    console.info(`GetCourse: ${avg?.toFixed(2)} requests per export`)
    expect(avg).not.toBeNull()
    // Start + one ready check is 2; the 2.3 target itself is measured by `npm run bench` (getcourse-polling).
    // Real-time readiness on a loaded CI machine adds the odd extra check, hence the margin here.
    expect(avg!).toBeLessThan(2.75)
  })

  it('never lets the key reach logs, etl tables or the export archive', async () => {
    expect(h.logs().length).toBeGreaterThan(1000)
    expect(h.logs()).not.toContain(KEY)
    for (const table of [
      'etl.runs',
      'etl.stream_state',
      'etl.rejects',
      'etl.getcourse_requests',
      'etl.getcourse_exports',
      'etl.getcourse_leases',
      'etl.getcourse_budget',
    ]) {
      const { rows } = await sql<{ t: string }>`select coalesce(string_agg(t::text, ' '), '') as t from ${sql.table(table)} t`.execute(h.wh.db)
      expect(rows[0]!.t, table).not.toContain(KEY)
    }
    const dir = path.join(h.dataDir, 'exports', 'school', 'users')
    const files = readdirSync(dir)
    expect(files.length).toBeGreaterThan(0)
    expect(files.every((f) => f.endsWith('.json.gz'))).toBe(true)
    const body = gunzipSync(readFileSync(path.join(dir, files.at(-1)!))).toString('utf8')
    expect(body).toContain('"fields"')
    expect(body).not.toContain(KEY)
    for (const r of h.sim.requests) expect(Object.values(r.query)).not.toContain(KEY)
  })
})
