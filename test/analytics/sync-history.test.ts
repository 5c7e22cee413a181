import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { VirtualClock } from '../../src/clock.js'
import { addNumbers } from '../../src/commands/status-command.js'
import { parseConfig } from '../../src/config.js'
import { collectStatus } from '../../src/status.js'
import { startKwigaSimulator } from '../../src/simulators/kwiga/server.js'
import type { SourceModule } from '../../src/sources/types.js'
import { runSync } from '../../src/sync.js'
import { createTestWarehouse, quietLog, type TestWarehouse } from '../support/database.js'
import { startHarness } from '../getcourse/harness.js'
import { CABINETS, kwigaConfig, syncKwiga } from '../kwiga/support.js'
import { jsonRows } from './support.js'

/**
 * The analyst model through real syncs: the simulators change a status (and a field title) between
 * two syncs, and the warehouse's history, vocabulary and columns are checked against the simulators'
 * own truth.
 */

const toSecond = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString()

describe('status history and fields across syncs (GetCourse simulator)', () => {
  let h: Awaited<ReturnType<typeof startHarness>>
  afterAll(async () => h?.close())

  it('a deal status changed between two syncs gets a second period dated by `Статус изменен`; a third sync adds nothing', async () => {
    h = await startHarness()
    const first = await h.sync()
    expect(first.ok).toBe(true)
    const accounts = await jsonRows(h.wh, `select source, account, time_zone, configured, first_sync_at is not null as synced from etl.accounts`)
    expect(accounts).toEqual([{ source: 'getcourse', account: 'school', time_zone: 'Europe/Moscow', configured: true, synced: true }])

    const data = h.sim.dataset('school')
    const before = data.deals.find((d) => d.status !== 'payed' && d.status !== 'false')!
    const periods = async () =>
      jsonRows<{ status_code: string; seen_from: string; seen_to: string | null }>(
        h.wh,
        `select status_code, seen_from, seen_to from getcourse.deal_status_history where account = 'school' and deal_id = ${before.id} order by seen_from`,
      )
    expect((await periods()).map((p) => p.status_code)).toEqual([before.status])

    await h.clock.sleep(3 * 3600_000)
    const changed = data.changeDealStatus(before.id, 'payed')
    expect((await h.sync({ streams: ['deals'] })).ok).toBe(true)
    const two = await periods()
    expect(two.map((p) => [p.status_code, p.seen_to === null])).toEqual([
      [before.status, false],
      ['payed', true],
    ])
    expect(new Date(two[1]!.seen_from).toISOString()).toBe(toSecond(changed.statusChangedAt!))
    expect(two[0]!.seen_to).toBe(two[1]!.seen_from)

    const total = async () => Number((await sql<{ n: number }>`select count(*)::int as n from getcourse.deal_status_history`.execute(h.wh.db)).rows[0]!.n)
    const n = await total()
    expect(n).toBe(data.deals.length + 1)
    expect((await h.sync({ streams: ['deals'], full: true })).ok).toBe(true)
    expect(await total()).toBe(n)
  }, 120_000)

  it('a field renamed in GetCourse keeps its values on the same field id, before and after the users are exported again', async () => {
    const data = h.sim.dataset('school')
    const withDiscovery = data.users.filter((u) => (u.custom.discovery ?? '') !== '').length
    expect(withDiscovery).toBeGreaterThan(0)
    const values = () =>
      jsonRows<{ title: string; n: number }>(
        h.wh,
        `select title, count(*)::int as n from getcourse.user_field_values where account = 'school' and field_id = 10558690 group by title order by title`,
      )
    expect(await values()).toEqual([{ title: 'Откуда узнали о школе', n: withDiscovery }])

    data.renameField(10_558_690, 'Как вы узнали о школе?')
    expect((await h.sync({ streams: ['fields'] })).ok).toBe(true)
    expect(await values()).toEqual([{ title: 'Откуда узнали о школе', n: withDiscovery }])

    expect((await h.sync({ streams: ['users'], full: true })).ok).toBe(true)
    expect(await values()).toEqual([{ title: 'Как вы узнали о школе?', n: withDiscovery }])
  }, 120_000)
})

describe('status history and order columns across syncs (KWIGA simulator)', () => {
  const clock = new VirtualClock()
  const cabinet = CABINETS[0]!
  let sim: Awaited<ReturnType<typeof startKwigaSimulator>>
  let warehouse: TestWarehouse
  afterAll(async () => {
    await sim?.close()
    await warehouse?.dispose()
  })

  it('orders carry managers, UTM and funnel in columns, every paid_status maps, a refund between syncs is a new period; offers carry their sales counters', async () => {
    sim = await startKwigaSimulator({ cabinets: [{ ...cabinet, contacts: 80, courses: 1, usersPerCourse: 5, seed: 7 }], clock })
    warehouse = await createTestWarehouse()
    const kit = { wh: warehouse, clock, config: kwigaConfig(sim, [cabinet]) }
    expect((await syncKwiga(kit, { streams: ['contacts'] })).ok).toBe(true)
    const ds = sim.dataset(cabinet.cabinetHash)

    const rows = await jsonRows<{ order_id: number; paid_status_code: string | null; manager_names: string[] | null; order_funnel_title: string | null }>(
      warehouse,
      `select order_id, paid_status_code, manager_names, order_funnel_title from kwiga.orders order by order_id`,
    )
    const loaded = new Set(rows.map((r) => r.order_id))
    const truth = ds.orders.filter((o) => loaded.has(o.id)).sort((a, b) => a.id - b.id)
    expect(truth.length).toBeGreaterThan(10)
    expect(rows.map((r) => [r.order_id, r.paid_status_code])).toEqual(truth.map((o) => [o.id, o.paidStatus]))
    expect(rows.map((r) => r.manager_names ?? [])).toEqual(truth.map((o) => o.managerIds.map((id) => ds.managers.find((m) => m.id === id)!.name)))
    expect(rows.every((r) => r.order_funnel_title === 'Воронка за замовчуванням')).toBe(true)
    const [utm] = await jsonRows<{ n: number }>(warehouse, `select count(*)::int as n from kwiga.orders where utm_source is not null`)
    const withUtm = truth.filter((o) => ds.contact(o.contactId)!.visits.some((v) => v.createdAt <= o.createdAt && v.utmSource !== null)).length
    expect(utm!.n).toBe(withUtm)

    // Payment statuses arrive as ids, digit strings and slugs: one code each.
    const slug = { 1: 'pending', 2: 'paid', 3: 'failed', 4: 'refunded' } as const
    const payments = await jsonRows<{ payment_id: number; status: string; status_code: string | null }>(
      warehouse,
      `select payment_id, status, status_code from kwiga.payments order by payment_id`,
    )
    const paymentTruth = truth.flatMap((o) => o.payments).sort((a, b) => a.id - b.id)
    expect(payments.map((p) => [p.payment_id, p.status_code])).toEqual(paymentTruth.map((p) => [p.id, slug[p.status]]))
    expect(payments.some((p) => /^[a-z]+$/.test(p.status)) && payments.some((p) => /^[1-4]$/.test(p.status))).toBe(true)

    const order = truth.find((o) => o.paidStatus === 'paid')!
    await clock.sleep(3600_000)
    const refunded = ds.changeOrderStatus(order.id, 'refunded')
    expect((await syncKwiga(kit, { streams: ['contacts'], full: true })).ok).toBe(true)
    const history = await jsonRows<{ status_code: string; seen_from: string; seen_to: string | null }>(
      warehouse,
      `select status_code, seen_from, seen_to from kwiga.order_status_history where order_id = ${order.id} order by seen_from`,
    )
    expect(history.map((p) => [p.status_code, p.seen_to === null])).toEqual([
      ['paid', false],
      ['refunded', true],
    ])
    expect(new Date(history[1]!.seen_from).toISOString()).toBe(toSecond(refunded.updatedAt))

    // Offer sales counters come from the per-offer endpoint (§2 R10).
    expect((await syncKwiga(kit, { streams: ['offers'] })).ok).toBe(true)
    const offers = await jsonRows<{ offer_id: number; purchases_count: number | null; sales_left: number | null }>(
      warehouse,
      `select offer_id, purchases_count, sales_left from kwiga.offers order by offer_id`,
    )
    const sold = (id: number) => ds.orders.filter((o) => o.offerId === id && o.paidStatus !== 'not_paid').length
    expect(offers.length).toBeGreaterThan(0)
    expect(offers).toEqual(
      [...ds.offers]
        .sort((a, b) => a.id - b.id)
        .map((o) => ({
          offer_id: o.id,
          purchases_count: sold(o.id),
          sales_left: o.limitOfSales === null ? null : Math.max(0, o.limitOfSales - sold(o.id)),
        })),
    )

    const count = async () => Number((await sql<{ n: number }>`select count(*)::int as n from kwiga.order_status_history`.execute(warehouse.db)).rows[0]!.n)
    const n = await count()
    expect((await syncKwiga(kit, { streams: ['contacts'], full: true })).ok).toBe(true)
    expect(await count()).toBe(n)
  }, 120_000)

  it('a status value the vocabulary does not know is kept raw and reported by the run that wrote it', async () => {
    const odd: SourceModule = {
      name: 'kwiga',
      streamNames: ['contacts'],
      streams: () => [
        {
          source: 'kwiga',
          account: 'odd',
          name: 'contacts',
          async *run() {
            yield {
              read: 1,
              writes: [
                { table: 'kwiga.contacts', key: ['cabinet', 'contact_id'], rows: [{ cabinet: 'odd', contact_id: 1, raw: {} }] },
                { table: 'kwiga.orders', key: ['cabinet', 'order_id'], rows: [{ cabinet: 'odd', order_id: 1, contact_id: 1, paid_status: 'paid', raw: {} }] },
                {
                  table: 'kwiga.payments',
                  key: ['cabinet', 'payment_id'],
                  rows: [{ cabinet: 'odd', payment_id: 1, order_id: 1, status: 'chargeback', raw: {} }],
                },
              ],
            }
          },
        },
      ],
    }
    warehouse ??= await createTestWarehouse()
    const config = parseConfig({ kwiga: [{ name: 'odd', token: 'tok-odd-12345678', cabinetHash: 'hash-odd' }] })
    const res = await runSync({ warehouse, config, log: quietLog, clock, sources: [odd] })
    expect(res.results[0], res.results[0]!.message).toMatchObject({ status: 'succeeded' })
    expect(res.results[0]!.message).toBe(
      '1 read, 3 inserted, 0 updated, 0 rejected; unknown status values kept raw: kwiga.payments.status "chargeback" (1 row)',
    )
    const [stored] = await jsonRows(warehouse, `select status, status_code from kwiga.payments where cabinet = 'odd'`)
    expect(stored).toEqual({ status: 'chargeback', status_code: null })
    // A later run that writes nothing new does not repeat it.
    const again = await runSync({
      warehouse,
      config,
      log: quietLog,
      clock,
      sources: [{ ...odd, streams: () => [{ ...odd.streams(config, {}, { clock, log: quietLog })[0]!, run: async function* () {} }] }],
    })
    expect(again.results[0]!.message).toBe('0 read, 0 inserted, 0 updated, 0 rejected')
    // `status` (and `status --json`) lists it for the operator until the source sends a known value.
    const report = await addNumbers(warehouse.db, await collectStatus(warehouse.db, config, [odd], 'test'), [odd])
    expect(report.unknownStatuses).toEqual([
      expect.objectContaining({ source: 'kwiga', account: 'odd', table: 'kwiga.payments', column: 'status', value: 'chargeback', rows: 1 }),
    ])
  })
})
