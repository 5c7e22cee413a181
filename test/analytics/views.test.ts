import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestWarehouse, type TestWarehouse } from '../support/database.js'
import { SEED_SQL, exec, jsonRows } from './support.js'

let wh: TestWarehouse
beforeAll(async () => {
  wh = await createTestWarehouse()
  await exec(wh, SEED_SQL)
})
afterAll(async () => wh?.dispose())

describe('analytics views over known rows', () => {
  it('every view has a comment saying what a row is', async () => {
    const rows = await jsonRows<{ name: string; comment: string | null }>(
      wh,
      `select c.relname as name, obj_description(c.oid, 'pg_class') as comment
       from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'analytics' and c.relkind = 'v' order by 1`,
    )
    expect(rows.map((r) => r.name)).toEqual(['course_progress', 'group_membership', 'orders', 'payments', 'people', 'revenue_daily', 'sync_freshness'])
    for (const r of rows) expect(r.comment, r.name).toMatch(/^One row per /)
  })

  it('revenue_daily: paid deals and payments per local day and currency, refunds on the day of the refunded payment', async () => {
    const rows = await jsonRows(wh, `select * from analytics.revenue_daily order by source, account, day, currency`)
    expect(rows).toEqual([
      // 21:30 UTC on 03-01 is 00:30 on 03-02 in Moscow: deals 5001, 5003, 5005; payment 9004 returned.
      { source: 'getcourse', account: 'school', day: '2025-03-02', timezone: 'Europe/Moscow', currency: 'RUB', orders: 3, amount: 1500, refunds: 1, refunded_amount: 300, net_amount: 1200 },
      { source: 'getcourse', account: 'school', day: '2025-03-10', timezone: 'Europe/Moscow', currency: 'USD', orders: 1, amount: 50, refunds: 0, refunded_amount: 0, net_amount: 50 },
      // 22:30 UTC on 03-01 is 00:30 on 03-02 in Kyiv.
      { source: 'kwiga', account: 'main', day: '2025-03-02', timezone: 'Europe/Kyiv', currency: 'UAH', orders: 1, amount: 1500, refunds: 0, refunded_amount: 0, net_amount: 1500 },
      { source: 'kwiga', account: 'main', day: '2025-03-04', timezone: 'Europe/Kyiv', currency: 'USD', orders: 1, amount: 20, refunds: 1, refunded_amount: 20, net_amount: 0 },
      { source: 'kwiga', account: 'main', day: '2025-03-05', timezone: 'Europe/Kyiv', currency: 'UAH', orders: 1, amount: 400, refunds: 0, refunded_amount: 0, net_amount: 400 },
    ])
  })

  it('orders: one row per deal / order with its payments, KWIGA numeric statuses as slugs', async () => {
    const rows = await jsonRows(wh, `select * from analytics.orders order by source, account, order_id`)
    const base = { payments_refunded_sum: 0, utm_source: null, utm_medium: null, utm_campaign: null }
    const anna = { buyer_id: 1001, buyer_email: 'anna@example.com', buyer_name: 'Anna Ivanova' }
    const boris = { buyer_id: 1002, buyer_email: 'boris@example.com', buyer_name: 'Boris Petrov' }
    const olena = { buyer_id: 201, buyer_email: 'olena@example.com', buyer_name: 'Olena K' }
    const petro = { buyer_id: 202, buyer_email: 'petro@example.com', buyer_name: 'Petro M' }
    const gc = { ...base, source: 'getcourse', account: 'school' }
    const kw = { ...base, source: 'kwiga', account: 'main', order_number: null }
    expect(rows).toEqual([
      { ...gc, ...anna, order_id: 5001, order_number: 101, title: 'Курс А', created_at: '2025-03-01T21:00:00+00:00', paid_at: '2025-03-01T21:30:00+00:00', status: 'payed', status_title: 'Завершен', is_paid: true, amount: 1000, paid_amount: 1000, currency: 'RUB', payments_count: 1, payments_paid_sum: 1000, last_payment_at: '2025-03-01T21:30:00+00:00' },
      { ...gc, ...boris, order_id: 5002, order_number: 102, title: 'Курс Б', created_at: '2025-03-05T09:00:00+00:00', paid_at: null, status: 'new', status_title: 'Новый', is_paid: false, amount: 2000, paid_amount: 0, currency: 'RUB', payments_count: 1, payments_paid_sum: 0, last_payment_at: null, utm_source: 'vk', utm_medium: 'post', utm_campaign: 'launch' },
      { ...gc, ...boris, order_id: 5003, order_number: 103, title: 'Курс В', created_at: '2025-03-02T08:00:00+00:00', paid_at: '2025-03-02T09:00:00+00:00', status: 'part_payed', status_title: 'Частично оплачен', is_paid: true, amount: 500, paid_amount: 200, currency: 'RUB', payments_count: 1, payments_paid_sum: 200, last_payment_at: '2025-03-02T09:00:00+00:00' },
      { ...gc, ...boris, order_id: 5004, order_number: 104, title: 'Course D', created_at: '2025-03-10T11:00:00+00:00', paid_at: '2025-03-10T12:00:00+00:00', status: 'payed', status_title: 'Завершен', is_paid: true, amount: 50, paid_amount: 50, currency: 'USD', payments_count: 1, payments_paid_sum: 50, last_payment_at: '2025-03-10T12:00:00+00:00', utm_source: 'telegram', utm_medium: 'dm', utm_campaign: 'usd' },
      { ...gc, ...anna, order_id: 5005, order_number: 105, title: 'Курс Д', created_at: '2025-03-02T09:30:00+00:00', paid_at: '2025-03-02T10:00:00+00:00', status: 'waiting_for_return', status_title: 'Ожидаем возврата', is_paid: true, amount: 300, paid_amount: 300, currency: 'RUB', payments_count: 1, payments_paid_sum: 0, payments_refunded_sum: 300, last_payment_at: null },
      { ...kw, ...olena, order_id: 7001, title: 'Bonus, Python', created_at: '2025-03-01T22:00:00+00:00', paid_at: '2025-03-01T22:30:00+00:00', status: 'paid', status_title: 'Сплачено', is_paid: true, amount: 1500, paid_amount: 1500, currency: 'UAH', payments_count: 1, payments_paid_sum: 1500, last_payment_at: '2025-03-01T22:30:00+00:00' },
      { ...kw, ...petro, order_id: 7002, title: null, created_at: '2025-03-03T10:00:00+00:00', paid_at: null, status: 'not_paid', status_title: 'Не сплачено', is_paid: false, amount: 40, paid_amount: 0, currency: 'USD', payments_count: 1, payments_paid_sum: 0, last_payment_at: null },
      { ...kw, ...petro, order_id: 7003, title: null, created_at: '2025-03-04T09:00:00+00:00', paid_at: '2025-03-04T10:00:00+00:00', status: 'refunded', status_title: 'Повернення коштів', is_paid: false, amount: 20, paid_amount: 0, currency: 'USD', payments_count: 1, payments_paid_sum: 0, payments_refunded_sum: 20, last_payment_at: null },
      { ...kw, ...olena, order_id: 7004, title: 'Python', created_at: '2025-03-05T09:00:00+00:00', paid_at: '2025-03-05T10:00:00+00:00', status: 'partially_paid', status_title: 'Частково сплачено', is_paid: true, amount: 1000, paid_amount: 400, currency: 'UAH', payments_count: 2, payments_paid_sum: 400, last_payment_at: '2025-03-05T10:00:00+00:00' },
    ])
  })

  it('payments: both sources, currency from the deal when the payment has none', async () => {
    const rows = await jsonRows(wh, `select source, payment_id, order_id, order_number, status, is_received, is_refunded, amount, currency, payment_system, paid_at, buyer_email
      from analytics.payments order by source, account, payment_id`)
    expect(rows).toEqual([
      { source: 'getcourse', payment_id: 9001, order_id: 5001, order_number: 101, status: 'accepted', is_received: true, is_refunded: false, amount: 1000, currency: 'RUB', payment_system: 'ЮKassa', paid_at: '2025-03-01T21:30:00+00:00', buyer_email: 'anna@example.com' },
      { source: 'getcourse', payment_id: 9002, order_id: 5003, order_number: 103, status: 'accepted', is_received: true, is_refunded: false, amount: 200, currency: 'RUB', payment_system: 'CloudPayments', paid_at: '2025-03-02T09:00:00+00:00', buyer_email: 'boris@example.com' },
      { source: 'getcourse', payment_id: 9003, order_id: 5004, order_number: 104, status: 'accepted', is_received: true, is_refunded: false, amount: 50, currency: 'USD', payment_system: 'CloudPayments', paid_at: '2025-03-10T12:00:00+00:00', buyer_email: 'boris@example.com' },
      { source: 'getcourse', payment_id: 9004, order_id: 5005, order_number: 105, status: 'returned', is_received: false, is_refunded: true, amount: 300, currency: 'RUB', payment_system: 'ЮKassa', paid_at: '2025-03-02T10:00:00+00:00', buyer_email: 'anna@example.com' },
      { source: 'getcourse', payment_id: 9005, order_id: 5002, order_number: 102, status: 'expected', is_received: false, is_refunded: false, amount: 2000, currency: 'RUB', payment_system: 'Тинькофф', paid_at: null, buyer_email: 'boris@example.com' },
      { source: 'kwiga', payment_id: 8001, order_id: 7001, order_number: null, status: 'paid', is_received: true, is_refunded: false, amount: 1500, currency: 'UAH', payment_system: 'Card', paid_at: '2025-03-01T22:30:00+00:00', buyer_email: 'olena@example.com' },
      { source: 'kwiga', payment_id: 8002, order_id: 7002, order_number: null, status: 'failed', is_received: false, is_refunded: false, amount: 40, currency: 'USD', payment_system: 'Card', paid_at: null, buyer_email: 'petro@example.com' },
      { source: 'kwiga', payment_id: 8003, order_id: 7003, order_number: null, status: 'refunded', is_received: false, is_refunded: true, amount: 20, currency: 'USD', payment_system: 'Card', paid_at: '2025-03-04T10:00:00+00:00', buyer_email: 'petro@example.com' },
      { source: 'kwiga', payment_id: 8004, order_id: 7004, order_number: null, status: 'paid', is_received: true, is_refunded: false, amount: 400, currency: 'UAH', payment_system: 'Card', paid_at: '2025-03-05T10:00:00+00:00', buyer_email: 'olena@example.com' },
      { source: 'kwiga', payment_id: 8005, order_id: 7004, order_number: null, status: 'pending', is_received: false, is_refunded: false, amount: 600, currency: 'UAH', payment_system: 'Card', paid_at: null, buyer_email: 'olena@example.com' },
    ])
  })

  it('course_progress: KWIGA counters when present, else counted from progress and the program', async () => {
    const rows = await jsonRows(wh, `select * from analytics.course_progress order by account, course_id, user_id`)
    expect(rows).toEqual([
      {
        account: 'main', course_id: 501, course_title: 'Python', user_id: 301, contact_id: 201, email: 'olena@example.com', name: 'Olena K',
        lessons_done: 1, lessons_viewed: 2, lessons_total: 3, modules_done: 0, modules_total: 1, quizzes_done: 0, quizzes_total: 1, progress_pct: 33.3,
        is_completed: false, completed_at: null, enrolled_at: '2025-03-01T22:30:00+00:00',
        // The lesson watched on 03-07 is later than KWIGA's last_active_at.
        last_activity_at: '2025-03-07T12:00:00+00:00',
      },
      {
        account: 'main', course_id: 501, course_title: 'Python', user_id: 302, contact_id: 202, email: 'petro@example.com', name: 'Petro M',
        lessons_done: 3, lessons_viewed: 3, lessons_total: 3, modules_done: 1, modules_total: 1, quizzes_done: 1, quizzes_total: 1, progress_pct: 100,
        is_completed: true, completed_at: null, enrolled_at: '2025-03-04T10:00:00+00:00', last_activity_at: '2025-03-08T10:00:00+00:00',
      },
    ])
  })

  it('people: first UTM touch from the user, else the earliest deal with UTM; KWIGA first visit, else the contact UTM', async () => {
    const rows = await jsonRows(wh, `select * from analytics.people order by source, account, person_id`)
    const none = { utm_source: null, utm_medium: null, utm_campaign: null, utm_from: null, first_touch_at: null }
    expect(rows).toEqual([
      { source: 'getcourse', account: 'school', person_id: 1001, user_id: 1001, email: 'anna@example.com', name: 'Anna Ivanova', phone: '+79001112233', created_at: '2025-03-01T10:00:00+00:00', utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'spring', utm_from: 'user', first_touch_at: '2025-03-01T10:00:00+00:00', orders: 2, paid_orders: 2, first_order_at: '2025-03-01T21:00:00+00:00', first_paid_at: '2025-03-01T21:30:00+00:00' },
      // Boris's earliest deal (5003) has no UTM; the earliest one with UTM is 5002 (vk), not 5004 (telegram).
      { source: 'getcourse', account: 'school', person_id: 1002, user_id: 1002, email: 'boris@example.com', name: 'Boris Petrov', phone: null, created_at: '2025-03-01T11:00:00+00:00', utm_source: 'vk', utm_medium: 'post', utm_campaign: 'launch', utm_from: 'deal', first_touch_at: '2025-03-05T09:00:00+00:00', orders: 3, paid_orders: 2, first_order_at: '2025-03-02T08:00:00+00:00', first_paid_at: '2025-03-02T09:00:00+00:00' },
      { source: 'getcourse', account: 'school', person_id: 1003, user_id: 1003, email: 'carl@example.com', name: 'Carl', phone: null, created_at: '2025-03-01T12:00:00+00:00', ...none, orders: 0, paid_orders: 0, first_order_at: null, first_paid_at: null },
      { source: 'kwiga', account: 'main', person_id: 201, user_id: 301, email: 'olena@example.com', name: 'Olena K', phone: '+380501112233', created_at: '2025-02-01T10:05:00+00:00', utm_source: 'instagram', utm_medium: 'stories', utm_campaign: 'autumn', utm_from: 'first_visit', first_touch_at: '2025-02-01T10:00:00+00:00', orders: 2, paid_orders: 2, first_order_at: '2025-03-01T22:00:00+00:00', first_paid_at: '2025-03-01T22:30:00+00:00' },
      // First visit without UTM: the contact's first UTM values; the refunded order still dates the first purchase.
      { source: 'kwiga', account: 'main', person_id: 202, user_id: 302, email: 'petro@example.com', name: 'Petro M', phone: null, created_at: '2025-02-02T10:00:00+00:00', utm_source: 'facebook', utm_medium: 'cpc', utm_campaign: 'winter', utm_from: 'contact', first_touch_at: '2025-02-02T10:00:00+00:00', orders: 2, paid_orders: 0, first_order_at: '2025-03-03T10:00:00+00:00', first_paid_at: '2025-03-04T10:00:00+00:00' },
      { source: 'kwiga', account: 'main', person_id: 203, user_id: null, email: 'quiet@example.com', name: 'Quiet', phone: null, created_at: '2025-02-03T10:00:00+00:00', ...none, orders: 0, paid_orders: 0, first_order_at: null, first_paid_at: null },
    ])
  })

  it('group_membership: group names, user details from users when loaded, else from the group export', async () => {
    const rows = await jsonRows(wh, `select * from analytics.group_membership order by account, group_id, user_id`)
    expect(rows).toEqual([
      { account: 'school', group_id: 77, group_name: 'VIP', user_id: 1001, email: 'anna@example.com', first_name: 'Anna', last_name: 'Ivanova', phone: '+79001112233', added_at: '2025-03-03T10:00:00+00:00', user_created_at: '2025-03-01T10:00:00+00:00' },
      { account: 'school', group_id: 77, group_name: 'VIP', user_id: 1004, email: 'dmitry@example.com', first_name: 'Dmitry', last_name: 'Orlov', phone: null, added_at: '2025-03-04T10:00:00+00:00', user_created_at: '2024-12-31T23:00:00+00:00' },
    ])
  })

  it('sync_freshness: last success and its age, failures since, the error of a run that did not succeed', async () => {
    await exec(
      wh,
      `insert into etl.runs (invocation, source, account, stream, status, started_at, finished_at, rows_read, error_code, message, resume_at) values
        ('a', 'getcourse', 'school', 'deals', 'succeeded', now() - interval '125 minutes', now() - interval '2 hours', 100, null, '100 read', null),
        ('b', 'getcourse', 'school', 'deals', 'failed', now() - interval '1 hour', now() - interval '59 minutes', 0, 'HTTP_STATUS', 'Request failed with status 503', null),
        ('a', 'getcourse', 'school', 'users', 'succeeded', now() - interval '31 minutes', now() - interval '30 minutes', 7, null, '7 read', null),
        ('b', 'getcourse', 'school', 'users', 'deferred', now() - interval '10 minutes', now() - interval '9 minutes', 0, 'BUDGET_EXHAUSTED', 'budget spent', now() + interval '50 minutes'),
        ('b', 'kwiga', 'main', 'contacts', 'failed', now() - interval '5 minutes', now() - interval '4 minutes', 0, 'RATE_LIMITED', '429 beyond the retry budget', null)`,
    )
    const rows = await jsonRows<Record<string, unknown>>(
      wh,
      `select source, account, stream, last_status, age_hours, last_success_rows_read, failures_since_success, last_error_code, last_error,
              resume_at is not null as resumes, last_success_at is null as never_succeeded
       from analytics.sync_freshness order by source, account, stream`,
    )
    expect(rows).toEqual([
      { source: 'getcourse', account: 'school', stream: 'deals', last_status: 'failed', age_hours: 2, last_success_rows_read: 100, failures_since_success: 1, last_error_code: 'HTTP_STATUS', last_error: 'Request failed with status 503', resumes: false, never_succeeded: false },
      { source: 'getcourse', account: 'school', stream: 'users', last_status: 'deferred', age_hours: 0.5, last_success_rows_read: 7, failures_since_success: 0, last_error_code: 'BUDGET_EXHAUSTED', last_error: 'budget spent', resumes: true, never_succeeded: false },
      { source: 'kwiga', account: 'main', stream: 'contacts', last_status: 'failed', age_hours: null, last_success_rows_read: null, failures_since_success: 1, last_error_code: 'RATE_LIMITED', last_error: '429 beyond the retry budget', resumes: false, never_succeeded: true },
    ])
  })
})
