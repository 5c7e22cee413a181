import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VirtualClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config.js'
import { startGetcourseSimulator, type GetcourseSim } from '../../src/simulators/getcourse/server.js'
import { startKwigaSimulator, type KwigaSim } from '../../src/simulators/kwiga/server.js'
import { allSources } from '../../src/sources/index.js'
import { runSync, type SyncSummary } from '../../src/sync.js'
import { createTestWarehouse, quietLog, type TestWarehouse } from '../support/database.js'
import { jsonRows } from './support.js'

const GC_KEY = 'gc-analytics-key-5d1c'
const KW = { token: 'kw-analytics-token-9e2b', cabinetHash: 'kw-analytics-hash' }

let gc: GetcourseSim
let kw: KwigaSim
let wh: TestWarehouse
let summary: SyncSummary

const one = async <T = Record<string, unknown>>(query: string) => (await jsonRows<T>(wh, query))[0]!

beforeAll(async () => {
  const clock = new VirtualClock(Date.UTC(2026, 0, 15, 9, 0, 0))
  gc = await startGetcourseSimulator({ accounts: [{ account: 'school', key: GC_KEY, users: 150, deals: 250, payments: 150, groups: 3 }], clock })
  kw = await startKwigaSimulator({ cabinets: [{ ...KW, contacts: 200, courses: 2, usersPerCourse: 30, seed: 5 }], clock })
  wh = await createTestWarehouse()
  const config = parseConfig({
    getcourse: [
      {
        name: 'school',
        account: 'school',
        key: GC_KEY,
        baseUrl: gc.urlFor('school'),
        poll: { firstCheckSeconds: 1, maxIntervalSeconds: 60, timeoutSeconds: 3600 },
      },
    ],
    kwiga: [{ name: 'cab', ...KW, baseUrl: kw.url }],
  })
  summary = await runSync({ warehouse: wh, config, log: quietLog, clock, sources: allSources }, { archive: false })
})
afterAll(async () => {
  await gc?.close()
  await kw?.close()
  await wh?.dispose()
})

describe('analytics views over a real sync of both simulators', () => {
  it('the sync succeeded and sync_freshness lists every stream as fresh', async () => {
    expect(summary.results.filter((r) => r.status !== 'succeeded').map((r) => `${r.stream}: ${r.message}`)).toEqual([])
    const f = await one<{
      n: number
      ok: number
      aged: number
    }>(`select count(*) as n, count(*) filter (where last_status = 'succeeded' and failures_since_success = 0) as ok,
      count(age_hours) as aged from analytics.sync_freshness`)
    expect(f).toEqual({ n: summary.results.length, ok: summary.results.length, aged: summary.results.length })
  })

  it('revenue_daily adds up to the paid deals and the paid KWIGA payments', async () => {
    const truth = gc
      .dataset('school')
      .deals.filter((d) => d.paid > 0)
      .reduce((s, d) => ({ n: s.n + 1, paid: s.paid + d.paid }), { n: 0, paid: 0 })
    expect(truth.n).toBeGreaterThan(10)
    const gcRevenue = await one<{
      orders: number
      amount: number
      days: number
    }>(`select sum(orders) as orders, sum(amount) as amount, count(distinct day) as days
      from analytics.revenue_daily where source = 'getcourse'`)
    const deals = await one<{ n: number; paid: number }>(`select count(*) as n, sum(paid) as paid from getcourse.deals where paid > 0 and paid_at is not null`)
    expect(gcRevenue.orders).toBe(deals.n)
    expect(gcRevenue.amount).toBe(deals.paid)
    expect(deals.n).toBe(truth.n)
    expect(gcRevenue.amount).toBeCloseTo(truth.paid, 2)
    expect(gcRevenue.days).toBeGreaterThan(5)

    const byCurrency = await jsonRows(wh, `select currency, sum(amount) as amount from analytics.revenue_daily where source = 'kwiga' group by 1 order by 1`)
    const payments = await jsonRows(
      wh,
      `select currency_code as currency, sum(amount) as amount from kwiga.payments where status_code in ('paid', 'refunded') group by 1 order by 1`,
    )
    expect(byCurrency.length).toBeGreaterThan(0)
    expect(byCurrency).toEqual(payments)
    const refunds = await one<{ n: number; x: number }>(`select (select sum(refunds) from analytics.revenue_daily) as n,
      (select count(*) from getcourse.payments where status_code = 'returned') + (select count(*) from kwiga.payments where status_code = 'refunded') as x`)
    expect(refunds.n).toBe(refunds.x)
  })

  it('orders: one row per deal and KWIGA order, every GetCourse payment attached to its deal', async () => {
    const o = await one<Record<string, number>>(`select
      (select count(*) from analytics.orders) as orders,
      (select count(*) from getcourse.deals) + (select count(*) from kwiga.orders) as expected,
      (select sum(payments_count) from analytics.orders where source = 'getcourse') as gc_payments,
      (select count(*) from getcourse.payments) as gc_payments_loaded,
      (select sum(payments_count) from analytics.orders where source = 'kwiga') as kw_payments,
      (select count(*) from kwiga.payments) as kw_payments_loaded,
      (select count(*) from analytics.orders where source = 'kwiga' and status_code is null) as unknown_status,
      (select count(*) from analytics.orders where buyer_email is null) as no_email`)
    expect(o.orders).toBe(o.expected)
    expect(o.gc_payments).toBe(o.gc_payments_loaded)
    expect(o.kw_payments).toBe(o.kw_payments_loaded)
    expect(o.unknown_status).toBe(0)
    expect(o.no_email).toBe(0)
    const p = await one<Record<string, number>>(`select count(*) as n, count(currency) as with_currency, count(order_id) as with_order,
      (select count(*) from getcourse.payments) + (select count(*) from kwiga.payments) as expected from analytics.payments`)
    expect(p).toEqual({ n: p.expected, with_currency: p.expected, with_order: p.expected, expected: p.expected })
  })

  it('people: every user and contact, first touches from users, deals and visits', async () => {
    const rows = await jsonRows<{ source: string; utm_from: string | null; n: number }>(
      wh,
      `select source, utm_from, count(*) as n from analytics.people group by 1, 2 order by 1, 2`,
    )
    const n = (source: string, from: string | null) => rows.find((r) => r.source === source && r.utm_from === from)?.n ?? 0
    const totals = await one<{ users: number; contacts: number }>(
      `select (select count(*) from getcourse.users) as users, (select count(*) from kwiga.contacts) as contacts`,
    )
    expect(rows.filter((r) => r.source === 'getcourse').reduce((s, r) => s + r.n, 0)).toBe(totals.users)
    expect(rows.filter((r) => r.source === 'kwiga').reduce((s, r) => s + r.n, 0)).toBe(totals.contacts)
    expect(n('getcourse', 'user')).toBeGreaterThan(0)
    expect(n('getcourse', 'deal')).toBeGreaterThan(0)
    expect(n('kwiga', 'first_visit')).toBeGreaterThan(0)
    const buyers = await one<{ gc: number; deals_users: number }>(`select
      (select count(*) from analytics.people where source = 'getcourse' and first_order_at is not null) as gc,
      (select count(distinct user_id) from getcourse.deals where not is_test) as deals_users`)
    // Test deals (status Ложный) are not orders of the person.
    expect(buyers.gc).toBe(buyers.deals_users)
    const tests = gc.dataset('school').deals.filter((d) => d.status === 'false').length
    const [marked] = await jsonRows<{ n: number }>(wh, `select count(*) as n from getcourse.deals where is_test`)
    expect(marked!.n).toBe(tests)
  })

  it('course_progress: one row per course user, counts consistent with the progress tables', async () => {
    const c = await one<Record<string, number | boolean>>(`select count(*) as n, (select count(*) from kwiga.course_users) as course_users,
      count(*) filter (where course_title is null or email is null) as missing, count(*) filter (where lessons_done > lessons_total) as over,
      sum(lessons_done) = (select count(*) from kwiga.lesson_progress where is_completed) as lessons_match,
      min(modules_total) as min_modules, count(*) filter (where progress_pct > 0 and progress_pct < 100) as partial
      from analytics.course_progress`)
    expect(c).toMatchObject({ n: c.course_users, missing: 0, over: 0, lessons_match: true })
    expect(c.min_modules).toBeGreaterThan(0)
    expect(c.partial).toBeGreaterThan(0)
  })

  it('group_membership: every member with the group name and an email', async () => {
    const g = await one<Record<string, number>>(`select count(*) as n, count(group_name) as named, count(email) as with_email,
      (select count(*) from getcourse.group_members) as members from analytics.group_membership`)
    expect(g.n).toBeGreaterThan(0)
    expect(g).toEqual({ n: g.members, named: g.members, with_email: g.members, members: g.members })
  })
})
