import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { registerAccounts } from '../../src/db/accounts.js'
import { unknownStatuses } from '../../src/db/vocabulary.js'
import { createTestWarehouse, type TestWarehouse } from '../support/database.js'
import { load, loadFirst, loadSecond } from './analyst-data.js'
import { jsonRows } from './support.js'

/** Today's date in a zone, as the database will cut it (a refund dated by the load that saw it). */
const todayIn = (zone: string) => new Intl.DateTimeFormat('en-CA', { timeZone: zone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date())

describe.each([
  { where: 'server', embedded: false },
  { where: 'embedded PGlite', embedded: true },
])('analyst model on $where', ({ embedded }) => {
  let wh: TestWarehouse
  let secondLoadStarted: Date
  let secondLoadEnded: Date
  beforeAll(async () => {
    wh = await createTestWarehouse({ embedded })
    await registerAccounts(wh.db, [
      { source: 'getcourse', account: 'msk', timeZone: 'Europe/Moscow', currency: null },
      { source: 'getcourse', account: 'ekb', timeZone: 'Asia/Yekaterinburg', currency: 'RUB' },
      { source: 'kwiga', account: 'main', timeZone: 'Europe/Kyiv', currency: null },
    ])
    await loadFirst(wh)
    secondLoadStarted = new Date(Date.now() - 1000)
    await loadSecond(wh)
    // The same export again: history and field values must not move.
    await loadSecond(wh)
    secondLoadEnded = new Date(Date.now() + 1000)
  }, 120_000)
  afterAll(async () => wh?.dispose())

  it('etl.accounts: every configured account with its zone; an account that left the config stays, unconfigured', async () => {
    await registerAccounts(wh.db, [
      { source: 'getcourse', account: 'msk', timeZone: 'Europe/Moscow', currency: null },
      { source: 'getcourse', account: 'ekb', timeZone: 'Asia/Yekaterinburg', currency: 'RUB' },
      { source: 'kwiga', account: 'main', timeZone: 'Europe/Kyiv', currency: null },
      { source: 'kwiga', account: 'gone', timeZone: 'Europe/Kyiv', currency: null },
    ])
    await registerAccounts(wh.db, [
      { source: 'getcourse', account: 'msk', timeZone: 'Europe/Moscow', currency: null },
      { source: 'getcourse', account: 'ekb', timeZone: 'Asia/Yekaterinburg', currency: 'RUB' },
      { source: 'kwiga', account: 'main', timeZone: 'Europe/Kyiv', currency: null },
    ])
    const rows = await jsonRows(wh, `select source, account, time_zone, currency, configured from etl.accounts order by source, account`)
    expect(rows).toEqual([
      { source: 'getcourse', account: 'ekb', time_zone: 'Asia/Yekaterinburg', currency: 'RUB', configured: true },
      { source: 'getcourse', account: 'msk', time_zone: 'Europe/Moscow', currency: null, configured: true },
      { source: 'kwiga', account: 'gone', time_zone: 'Europe/Kyiv', currency: null, configured: false },
      { source: 'kwiga', account: 'main', time_zone: 'Europe/Kyiv', currency: null, configured: true },
    ])
  })

  it('etl.accounts: a zone the database does not know is refused with CONFIG_INVALID naming the account', async () => {
    await expect(registerAccounts(wh.db, [{ source: 'getcourse', account: 'mars', timeZone: 'Mars/Olympus', currency: null }])).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: 'time zone "Mars/Olympus" of getcourse account "mars" is unknown to the database',
    })
  })

  it('etl.accounts: first and last sync follow the account runs (a load-file run counts for its GetCourse account)', async () => {
    await sql`insert into etl.runs (invocation, source, account, stream, status, started_at) values ('i', 'getcourse-file', 'ekb', 'deals', 'running', '2025-05-01T10:00:00Z')`.execute(
      wh.db,
    )
    await sql`update etl.runs set status = 'succeeded', finished_at = '2025-05-01T10:05:00Z' where account = 'ekb'`.execute(wh.db)
    await sql`insert into etl.runs (invocation, source, account, stream, status, started_at, finished_at) values ('j', 'getcourse', 'ekb', 'users', 'failed', '2025-05-02T10:00:00Z', '2025-05-02T10:01:00Z')`.execute(
      wh.db,
    )
    const rows = await jsonRows(wh, `select first_sync_at, last_sync_at, last_success_at from etl.accounts where account = 'ekb'`)
    expect(rows).toEqual([
      { first_sync_at: '2025-05-01T10:00:00+00:00', last_sync_at: '2025-05-02T10:01:00+00:00', last_success_at: '2025-05-01T10:05:00+00:00' },
    ])
  })

  it('status vocabulary: every KWIGA id and slug the notes document maps to one code; unknown values stay raw with a NULL code', async () => {
    const payments = await jsonRows(
      wh,
      `select v as raw, etl.kwiga_payment_status(v) as code from unnest(array['1','2','3','4','pending','paid','failed','refunded',' Paid ','7']) v`,
    )
    expect(payments.map((r) => [r.raw, r.code])).toEqual([
      ['1', 'pending'],
      ['2', 'paid'],
      ['3', 'failed'],
      ['4', 'refunded'],
      ['pending', 'pending'],
      ['paid', 'paid'],
      ['failed', 'failed'],
      ['refunded', 'refunded'],
      [' Paid ', 'paid'],
      ['7', null],
    ])
    const orders = await jsonRows(
      wh,
      `select v as raw, etl.kwiga_order_paid_status(v) as code from unnest(array['1','2','3','4','not_paid','paid','partially_paid','refunded','unpaid']) v`,
    )
    expect(orders.map((r) => r.code)).toEqual(['not_paid', 'paid', 'partially_paid', 'refunded', 'not_paid', 'paid', 'partially_paid', 'refunded', null])
    const stored = await jsonRows(wh, `select payment_id, status, status_code from kwiga.payments order by payment_id`)
    expect(stored).toEqual([
      { payment_id: 701, status: '2', status_code: 'paid' },
      { payment_id: 702, status: 'refunded', status_code: 'refunded' },
      { payment_id: 703, status: '7', status_code: null },
      { payment_id: 704, status: 'pending', status_code: 'pending' },
      { payment_id: 705, status: '3', status_code: 'failed' },
      { payment_id: 708, status: 'paid', status_code: 'paid' },
      { payment_id: 709, status: '4', status_code: 'refunded' },
    ])
    const orderRows = await jsonRows(wh, `select order_id, paid_status, paid_status_code from kwiga.orders order by order_id`)
    expect(orderRows).toEqual([
      { order_id: 601, paid_status: 'paid', paid_status_code: 'paid' },
      { order_id: 602, paid_status: '2', paid_status_code: 'paid' },
      { order_id: 603, paid_status: '4', paid_status_code: 'refunded' },
    ])
    const tests = await jsonRows(wh, `select id, is_test from getcourse.deals where account = 'msk' order by id`)
    expect(tests).toEqual([
      { id: 10, is_test: false },
      { id: 11, is_test: false },
      { id: 12, is_test: true },
      { id: 13, is_test: false },
    ])
  })

  it('unknown statuses are listed for status (etl.unknown_statuses, unknownStatuses())', async () => {
    const rows = await jsonRows(wh, `select source, account, table_name, column_name, value, rows from etl.unknown_statuses order by 1, 2, 3`)
    expect(rows).toEqual([
      { source: 'getcourse', account: 'msk', table_name: 'getcourse.deals', column_name: 'status', value: 'Какой-то новый', rows: 1 },
      { source: 'getcourse', account: 'msk', table_name: 'getcourse.payments', column_name: 'status', value: 'Странный', rows: 1 },
      { source: 'kwiga', account: 'main', table_name: 'kwiga.payments', column_name: 'status', value: '7', rows: 1 },
    ])
    const kwiga = await unknownStatuses(wh.db, { source: 'kwiga', account: 'main' })
    expect(kwiga.map((u) => [u.table, u.column, u.value, u.rows])).toEqual([['kwiga.payments', 'status', '7', 1]])
  })

  it('status history: one period per status seen, the source change time where given, nothing added by re-loading', async () => {
    const deals = await jsonRows(
      wh,
      `select account, deal_id, status, status_code, seen_from, seen_to from getcourse.deal_status_history order by account, deal_id, seen_from`,
    )
    expect(deals).toEqual([
      { account: 'ekb', deal_id: 20, status: 'Завершен', status_code: 'payed', seen_from: '2025-03-01T20:30:00+00:00', seen_to: null },
      { account: 'msk', deal_id: 10, status: 'Новый', status_code: 'new', seen_from: '2025-01-15T09:00:00+00:00', seen_to: '2025-03-05T20:30:00+00:00' },
      { account: 'msk', deal_id: 10, status: 'Завершен', status_code: 'payed', seen_from: '2025-03-05T20:30:00+00:00', seen_to: null },
      { account: 'msk', deal_id: 11, status: 'Завершен', status_code: 'payed', seen_from: '2025-02-02T09:00:00+00:00', seen_to: null },
      { account: 'msk', deal_id: 12, status: 'Ложный', status_code: 'false', seen_from: '2025-02-03T10:00:00+00:00', seen_to: null },
      { account: 'msk', deal_id: 13, status: 'Какой-то новый', status_code: null, seen_from: '2025-02-10T10:00:00+00:00', seen_to: null },
    ])
    const orders = await jsonRows(wh, `select order_id, status, status_code, seen_from, seen_to from kwiga.order_status_history order by order_id, seen_from`)
    expect(orders).toEqual([
      { order_id: 601, status: '1', status_code: 'not_paid', seen_from: '2025-01-20T10:00:00+00:00', seen_to: '2025-01-31T22:30:00+00:00' },
      { order_id: 601, status: 'paid', status_code: 'paid', seen_from: '2025-01-31T22:30:00+00:00', seen_to: null },
      // '2' after 'paid' is the same code: no new period.
      { order_id: 602, status: 'paid', status_code: 'paid', seen_from: '2025-02-01T12:30:00+00:00', seen_to: null },
      { order_id: 603, status: '4', status_code: 'refunded', seen_from: '2025-04-03T10:00:00+00:00', seen_to: null },
    ])
    // Payments carry no change time: the load that saw the change dates it.
    const payments = await wh.db.selectFrom('getcourse.payment_status_history').selectAll().where('payment_id', '=', '802').orderBy('seen_from').execute()
    expect(payments.map((p) => [p.status_code, p.seen_to === null])).toEqual([
      ['expected', false],
      ['returned', true],
    ])
    expect(payments[1]!.seen_from.getTime()).toBe(payments[0]!.seen_to!.getTime())
    expect(payments[1]!.seen_from.getTime()).toBeGreaterThanOrEqual(secondLoadStarted.getTime())
    expect(payments[1]!.seen_from.getTime()).toBeLessThanOrEqual(secondLoadEnded.getTime())
  })

  it('status history follows a COPY load of many rows as well (the server path for large batches)', async () => {
    const rows = Array.from({ length: 250 }, (_, i) => ({
      account: 'bulk',
      id: 100_000 + i,
      status: i % 2 ? 'Новый' : 'Завершен',
      status_code: i % 2 ? 'new' : 'payed',
      status_changed_at: '2025-06-01T00:00:00Z',
      extra: { 'Поле, с запятой': `v${i}` },
    }))
    await load(wh, 'getcourse.fields', ['account', 'id'], [{ account: 'bulk', id: 1, title: 'Поле, с запятой', type: 'text', context_type: 'deal' }])
    await load(wh, 'getcourse.deals', ['account', 'id'], rows)
    await load(wh, 'getcourse.deals', ['account', 'id'], rows)
    await load(
      wh,
      'getcourse.deals',
      ['account', 'id'],
      rows.map((r) => ({ ...r, status: 'Завершен', status_code: 'payed', status_changed_at: '2025-06-02T00:00:00Z' })),
    )
    const counts = await jsonRows(
      wh,
      `select count(*) as periods, count(*) filter (where seen_to is null) as open,
              (select count(*) from getcourse.deal_field_values where account = 'bulk') as field_values
       from getcourse.deal_status_history where account = 'bulk'`,
    )
    expect(counts).toEqual([{ periods: 375, open: 250, field_values: 250 }])
  })

  it('revenue_daily: days cut in each account zone, test deals out, refunds negative on their date, unknown statuses shown apart', async () => {
    const rows = await jsonRows(wh, `select * from analytics.revenue_daily order by source, account, day, currency`)
    const zero = { orders: 0, amount: 0, refunds: 0, refunded_amount: 0, net_amount: 0, unclassified_payments: 0, unclassified_amount: 0 }
    const msk = { source: 'getcourse', account: 'msk', time_zone: 'Europe/Moscow', currency: 'RUB' }
    const kw = { source: 'kwiga', account: 'main', time_zone: 'Europe/Kyiv', currency: 'UAH' }
    const expected = [
      // 20:30 UTC on 03-01 is 01:30 on 03-02 in Yekaterinburg (it would be 03-01 in Moscow).
      {
        ...zero,
        source: 'getcourse',
        account: 'ekb',
        time_zone: 'Asia/Yekaterinburg',
        currency: 'RUB',
        day: '2025-03-02',
        orders: 1,
        amount: 300,
        net_amount: 300,
      },
      { ...zero, ...msk, day: '2025-02-02', orders: 1, amount: 500, net_amount: 500 },
      { ...zero, ...msk, day: '2025-02-11', unclassified_payments: 1, unclassified_amount: 40 },
      // Payment 803 was first seen returned: dated by its created_at (21:30 UTC = 00:30 next day in Moscow).
      { ...zero, ...msk, day: '2025-02-21', refunds: 1, refunded_amount: 100, net_amount: -100 },
      { ...zero, ...msk, day: '2025-03-05', orders: 1, amount: 1000, net_amount: 1000 },
      // Payment 802 turned returned between two loads: dated by the load that saw it.
      { ...zero, ...msk, day: todayIn('Europe/Moscow'), refunds: 1, refunded_amount: 1000, net_amount: -1000 },
      // 22:30 UTC on 01-31 is 00:30 on 02-01 in Kyiv.
      { ...zero, ...kw, day: '2025-02-01', orders: 2, amount: 150, net_amount: 150 },
      { ...zero, ...kw, day: '2025-02-02', unclassified_payments: 1, unclassified_amount: 20 },
      // Payment 702 refunded: dated by its updated_at.
      { ...zero, ...kw, day: '2025-03-10', refunds: 1, refunded_amount: 50, net_amount: -50 },
      { ...zero, ...kw, day: '2025-04-02', orders: 1, amount: 30, net_amount: 30 },
      // Payment 709 refunded without updated_at: received and refunded on its paid_at day.
      { ...zero, ...kw, day: '2025-04-03', orders: 1, amount: 5, refunds: 1, refunded_amount: 5, net_amount: 0 },
    ]
    expect(rows).toEqual(expected.sort((a, b) => `${a.source}${a.account}${a.day}`.localeCompare(`${b.source}${b.account}${b.day}`)))
  })

  it('revenue by product, manager and UTM source, per local day', async () => {
    const product = await jsonRows(
      wh,
      `select account, product, sum(amount) as amount, sum(refunded_amount) as refunded, sum(net_amount) as net from analytics.revenue_by_product
       where account in ('msk', 'main') group by 1, 2 order by 1, 2`,
    )
    expect(product).toEqual([
      { account: 'main', product: '(none)', amount: 5, refunded: 5, net: 0 },
      { account: 'main', product: 'Python', amount: 130, refunded: 0, net: 130 },
      { account: 'main', product: 'SQL, "основи"', amount: 50, refunded: 50, net: 0 },
      // Payment 804 (unknown status) on deal 13, which has no title: unclassified only.
      { account: 'msk', product: '(none)', amount: 0, refunded: 0, net: 0 },
      { account: 'msk', product: 'Курс А', amount: 500, refunded: 100, net: 400 },
      { account: 'msk', product: 'Курс Б', amount: 1000, refunded: 1000, net: 0 },
    ])
    const manager = await jsonRows(wh, `select account, day, manager, orders, amount from analytics.revenue_by_manager where amount > 0 order by 1, 2, 3`)
    expect(manager).toEqual([
      { account: 'ekb', day: '2025-03-02', manager: '(none)', orders: 1, amount: 300 },
      { account: 'main', day: '2025-02-01', manager: '(none)', orders: 1, amount: 50 },
      { account: 'main', day: '2025-02-01', manager: 'Марія', orders: 1, amount: 100 },
      { account: 'main', day: '2025-04-02', manager: 'Марія', orders: 1, amount: 30 },
      { account: 'main', day: '2025-04-03', manager: '(none)', orders: 1, amount: 5 },
      { account: 'msk', day: '2025-02-02', manager: 'Ирина', orders: 1, amount: 500 },
      { account: 'msk', day: '2025-03-05', manager: '(none)', orders: 1, amount: 1000 },
    ])
    const utm = await jsonRows(wh, `select account, utm_source, sum(net_amount) as net from analytics.revenue_by_utm_source group by 1, 2 order by 1, 2`)
    expect(utm).toEqual([
      { account: 'ekb', utm_source: '(none)', net: 300 },
      { account: 'main', utm_source: '(none)', net: 0 },
      { account: 'main', utm_source: 'instagram', net: 130 },
      { account: 'msk', utm_source: '(none)', net: 0 },
      { account: 'msk', utm_source: 'google', net: 0 },
      { account: 'msk', utm_source: 'vk', net: 400 },
    ])
  })

  it('order_funnel: lead, order and first paid status from the history, with conversion hours', async () => {
    const rows = await jsonRows(
      wh,
      `select source, account, order_id, buyer_id, order_month, paid_day, hours_lead_to_order, hours_order_to_paid from analytics.order_funnel
       where account <> 'bulk' order by source, account, order_id`,
    )
    expect(rows).toEqual([
      {
        source: 'getcourse',
        account: 'ekb',
        order_id: 20,
        buyer_id: 1,
        order_month: '2025-03-01',
        paid_day: '2025-03-02',
        hours_lead_to_order: 105,
        hours_order_to_paid: 1.5,
      },
      {
        source: 'getcourse',
        account: 'msk',
        order_id: 10,
        buyer_id: 1,
        order_month: '2025-01-01',
        paid_day: '2025-03-05',
        hours_lead_to_order: 119,
        hours_order_to_paid: 1187.5,
      },
      {
        source: 'getcourse',
        account: 'msk',
        order_id: 11,
        buyer_id: 1,
        order_month: '2025-02-01',
        paid_day: '2025-02-02',
        hours_lead_to_order: 527,
        hours_order_to_paid: 24,
      },
      // 12 is a test deal: left out.
      {
        source: 'getcourse',
        account: 'msk',
        order_id: 13,
        buyer_id: 2,
        order_month: '2025-02-01',
        paid_day: null,
        hours_lead_to_order: 228.5,
        hours_order_to_paid: null,
      },
      {
        source: 'kwiga',
        account: 'main',
        order_id: 601,
        buyer_id: 501,
        order_month: '2025-01-01',
        paid_day: '2025-02-01',
        hours_lead_to_order: 360,
        hours_order_to_paid: 276.5,
      },
      {
        source: 'kwiga',
        account: 'main',
        order_id: 602,
        buyer_id: 502,
        order_month: '2025-02-01',
        paid_day: '2025-02-01',
        hours_lead_to_order: 2,
        hours_order_to_paid: 0.5,
      },
      {
        source: 'kwiga',
        account: 'main',
        order_id: 603,
        buyer_id: 503,
        order_month: '2025-04-01',
        paid_day: null,
        hours_lead_to_order: 335,
        hours_order_to_paid: null,
      },
    ])
    // "How many deals created in February were paid within 14 days?"
    const question = await jsonRows(
      wh,
      `select count(*) filter (where paid_at < order_at + interval '14 days') as paid_within_14_days, count(*) as created
       from analytics.order_funnel where source = 'getcourse' and account = 'msk' and order_month = '2025-02-01'`,
    )
    expect(question).toEqual([{ paid_within_14_days: 1, created: 2 }])
  })

  it('funnel_monthly: leads per local month, how many ordered and paid, median conversion hours', async () => {
    const rows = await jsonRows(wh, `select * from analytics.funnel_monthly where account <> 'bulk' order by source, account, month`)
    const f = (o: Record<string, unknown>) => ({ median_hours_to_order: null, median_hours_order_to_paid: null, order_to_paid_pct: null, ...o })
    expect(rows).toEqual([
      f({
        source: 'getcourse',
        account: 'ekb',
        time_zone: 'Asia/Yekaterinburg',
        month: '2025-02-01',
        leads: 1,
        ordered: 1,
        paid: 1,
        lead_to_order_pct: 100,
        order_to_paid_pct: 100,
        median_hours_to_order: 105,
        median_hours_order_to_paid: 1.5,
      }),
      f({
        source: 'getcourse',
        account: 'msk',
        time_zone: 'Europe/Moscow',
        month: '2025-01-01',
        leads: 1,
        ordered: 1,
        paid: 1,
        lead_to_order_pct: 100,
        order_to_paid_pct: 100,
        median_hours_to_order: 119,
        median_hours_order_to_paid: 432,
      }),
      // Boris was created at 21:30 UTC on 01-31: 00:30 on 02-01 in Moscow.
      f({
        source: 'getcourse',
        account: 'msk',
        time_zone: 'Europe/Moscow',
        month: '2025-02-01',
        leads: 1,
        ordered: 1,
        paid: 0,
        lead_to_order_pct: 100,
        order_to_paid_pct: 0,
        median_hours_to_order: 228.5,
      }),
      f({ source: 'getcourse', account: 'msk', time_zone: 'Europe/Moscow', month: '2025-03-01', leads: 1, ordered: 0, paid: 0, lead_to_order_pct: 0 }),
      f({
        source: 'kwiga',
        account: 'main',
        time_zone: 'Europe/Kyiv',
        month: '2025-01-01',
        leads: 1,
        ordered: 1,
        paid: 1,
        lead_to_order_pct: 100,
        order_to_paid_pct: 100,
        median_hours_to_order: 360,
        median_hours_order_to_paid: 276.5,
      }),
      f({
        source: 'kwiga',
        account: 'main',
        time_zone: 'Europe/Kyiv',
        month: '2025-02-01',
        leads: 1,
        ordered: 1,
        paid: 1,
        lead_to_order_pct: 100,
        order_to_paid_pct: 100,
        median_hours_to_order: 2,
        median_hours_order_to_paid: 0.5,
      }),
      f({
        source: 'kwiga',
        account: 'main',
        time_zone: 'Europe/Kyiv',
        month: '2025-03-01',
        leads: 1,
        ordered: 1,
        paid: 0,
        lead_to_order_pct: 100,
        order_to_paid_pct: 0,
        median_hours_to_order: 335,
      }),
    ])
  })

  it('cohort_retention: first purchase month × later purchase months, in the account zone', async () => {
    const rows = await jsonRows(
      wh,
      `select source, account, cohort_month, purchase_month, months_since_first, cohort_size, customers, retention_pct
       from analytics.cohort_retention order by source, account, cohort_month, purchase_month`,
    )
    expect(rows).toEqual([
      {
        source: 'getcourse',
        account: 'ekb',
        cohort_month: '2025-03-01',
        purchase_month: '2025-03-01',
        months_since_first: 0,
        cohort_size: 1,
        customers: 1,
        retention_pct: 100,
      },
      {
        source: 'getcourse',
        account: 'msk',
        cohort_month: '2025-02-01',
        purchase_month: '2025-02-01',
        months_since_first: 0,
        cohort_size: 1,
        customers: 1,
        retention_pct: 100,
      },
      {
        source: 'getcourse',
        account: 'msk',
        cohort_month: '2025-02-01',
        purchase_month: '2025-03-01',
        months_since_first: 1,
        cohort_size: 1,
        customers: 1,
        retention_pct: 100,
      },
      {
        source: 'kwiga',
        account: 'main',
        cohort_month: '2025-02-01',
        purchase_month: '2025-02-01',
        months_since_first: 0,
        cohort_size: 2,
        customers: 2,
        retention_pct: 100,
      },
      {
        source: 'kwiga',
        account: 'main',
        cohort_month: '2025-02-01',
        purchase_month: '2025-04-01',
        months_since_first: 2,
        cohort_size: 2,
        customers: 1,
        retention_pct: 50,
      },
      {
        source: 'kwiga',
        account: 'main',
        cohort_month: '2025-04-01',
        purchase_month: '2025-04-01',
        months_since_first: 0,
        cohort_size: 1,
        customers: 1,
        retention_pct: 100,
      },
    ])
  })

  it('person_links / persons: one person across both sources, matched on normalized email, else phone, with the rule shown', async () => {
    const links = await jsonRows(
      wh,
      `select source, account, record_id, email_norm, phone_norm, person_key, matched_by, records, in_getcourse, in_kwiga
       from analytics.person_links where account <> 'bulk' order by source, account, record_id`,
    )
    const anna = { person_key: 'email:anna@example.com', records: 3, in_getcourse: true, in_kwiga: true }
    const olena = { person_key: 'email:olena@example.com', records: 2, in_getcourse: false, in_kwiga: true }
    expect(links).toEqual([
      { source: 'getcourse', account: 'ekb', record_id: 1, email_norm: null, phone_norm: '79001112233', matched_by: 'phone, then email', ...anna },
      { source: 'getcourse', account: 'msk', record_id: 1, email_norm: 'anna@example.com', phone_norm: '79001112233', matched_by: 'email', ...anna },
      {
        source: 'getcourse',
        account: 'msk',
        record_id: 2,
        email_norm: 'boris@example.com',
        phone_norm: null,
        matched_by: 'email',
        person_key: 'email:boris@example.com',
        records: 1,
        in_getcourse: true,
        in_kwiga: false,
      },
      {
        source: 'getcourse',
        account: 'msk',
        record_id: 3,
        email_norm: null,
        phone_norm: null,
        matched_by: 'none',
        person_key: 'getcourse:msk:3',
        records: 1,
        in_getcourse: true,
        in_kwiga: false,
      },
      { source: 'kwiga', account: 'main', record_id: 501, email_norm: 'olena@example.com', phone_norm: '380501112233', matched_by: 'email', ...olena },
      { source: 'kwiga', account: 'main', record_id: 502, email_norm: 'anna@example.com', phone_norm: null, matched_by: 'email', ...anna },
      { source: 'kwiga', account: 'main', record_id: 503, email_norm: null, phone_norm: '380501112233', matched_by: 'phone, then email', ...olena },
    ])
    const persons = await jsonRows(
      wh,
      `select person_key, email, getcourse_records, kwiga_records, in_both, records from analytics.persons where person_key = 'email:anna@example.com'`,
    )
    expect(persons).toEqual([
      {
        person_key: 'email:anna@example.com',
        email: 'anna@example.com',
        getcourse_records: 2,
        kwiga_records: 1,
        in_both: true,
        records: ['getcourse:ekb:1', 'getcourse:msk:1', 'kwiga:main:502'],
      },
    ])
  })

  it('orders view: KWIGA managers, UTM, funnel and stage in columns; status as sent beside its code', async () => {
    const rows = await jsonRows(
      wh,
      `select order_id, status, status_code, is_test, manager, utm_source, funnel, stage, created_day from analytics.orders
       where source = 'kwiga' or order_id in (11, 12) order by source, order_id`,
    )
    expect(rows).toEqual([
      {
        order_id: 11,
        status: 'Завершен',
        status_code: 'payed',
        is_test: false,
        manager: 'Ирина',
        utm_source: 'vk',
        funnel: null,
        stage: null,
        created_day: '2025-02-01',
      },
      {
        order_id: 12,
        status: 'Ложный',
        status_code: 'false',
        is_test: true,
        manager: null,
        utm_source: null,
        funnel: null,
        stage: null,
        created_day: '2025-02-03',
      },
      {
        order_id: 601,
        status: 'paid',
        status_code: 'paid',
        is_test: false,
        manager: 'Марія',
        utm_source: 'instagram',
        funnel: 'Основна',
        stage: 'Нове',
        created_day: '2025-01-20',
      },
      {
        order_id: 602,
        status: '2',
        status_code: 'paid',
        is_test: false,
        manager: null,
        utm_source: null,
        funnel: null,
        stage: null,
        created_day: '2025-02-01',
      },
      {
        order_id: 603,
        status: '4',
        status_code: 'refunded',
        is_test: false,
        manager: null,
        utm_source: null,
        funnel: null,
        stage: null,
        created_day: '2025-04-03',
      },
    ])
  })

  it('every new analytics view and table has a comment', async () => {
    const rows = await jsonRows<{ name: string; comment: string | null }>(
      wh,
      `select n.nspname || '.' || c.relname as name, obj_description(c.oid, 'pg_class') as comment
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where (n.nspname, c.relname) in (('analytics', 'revenue_events'), ('analytics', 'revenue_by_product'), ('analytics', 'revenue_by_manager'),
         ('analytics', 'revenue_by_utm_source'), ('analytics', 'order_funnel'), ('analytics', 'funnel_monthly'), ('analytics', 'cohort_retention'),
         ('analytics', 'person_links'), ('analytics', 'persons'), ('etl', 'accounts'), ('etl', 'unknown_statuses'), ('getcourse', 'deal_status_history'),
         ('getcourse', 'payment_status_history'), ('kwiga', 'order_status_history'), ('getcourse', 'user_field_values'), ('getcourse', 'deal_field_values'),
         ('kwiga', 'contact_field_values'), ('getcourse', 'field_titles'), ('getcourse', 'field_title_map'))
       order by 1`,
    )
    expect(rows).toHaveLength(19)
    for (const r of rows) expect(r.comment, r.name).toMatch(/^(One row per|Every|Configured)/)
  })
})
