import type { Warehouse } from '../../src/db/index.js'
import { upsertRows } from '../../src/db/upsert.js'

/**
 * Fixed data for the analyst model (issue 14), loaded the way the runner loads it (upsertRows, one
 * transaction per load), so the status-history and field-value triggers run as in production.
 * Times are UTC. Zones: GetCourse `msk` Europe/Moscow (+03), `ekb` Asia/Yekaterinburg (+05), KWIGA
 * `main` Europe/Kyiv (+02 until 2025-03-30, +03 after).
 *
 * GetCourse msk
 * - users 1 Anna ('Anna@Example.com ', 8 (900) 111-22-33, 2025-01-10 10:00), 2 Boris (2025-01-31 21:30 = 02-01 in Moscow),
 *   3 "not-an-email" without phone (2025-03-01 10:00)
 * - deals 10 Anna new (changed 01-15 09:00) → load 2: payed 1000 RUB at 2025-03-05 20:30 (23:30 Moscow), title Курс Б, utm google;
 *   11 Anna payed 500 RUB at 2025-02-02 09:00, title Курс А, manager Ирина, utm vk; 12 Boris test deal (Ложный) paid 700;
 *   13 Boris unknown label "Какой-то новый", unpaid (2025-02-10 10:00)
 * - payments 801 deal 11 accepted 500; 802 deal 10 expected 1000 → load 2: returned (seen by the load: refund dated by it);
 *   803 deal 11 returned 100 first seen so, created 2025-02-20 21:30 (02-21 Moscow); 804 unknown label "Странный" 40 RUB at 2025-02-11 10:00
 * - fields 100 user Размер (renamed Размер одежды later), 101 deal "Откуда узнали", 102 and 103 user Город (duplicate title)
 * GetCourse ekb
 * - user 1 Carl, no email, phone +7 900 111 22 33 (Anna's), created 2025-02-25 10:00
 * - deal 20 payed 300 RUB at 2025-03-01 20:30 (03-02 01:30 in Yekaterinburg; 03-01 in Moscow), created 19:00
 * KWIGA main
 * - contacts 501 Olena (+380 50 111 2233, additional fields Місто, Інтереси), 502 anna@example.com, 503 phone 0501112233 only (2025-03-20)
 * - orders 601 Olena '1' (updated 01-20 10:00) → load 2: 'paid' (updated 2025-01-31 22:30 = 02-01 00:30 Kyiv), manager Марія, utm instagram,
 *   funnel Основна / stage Нове; 602 Anna 'paid' (updated 02-01 12:30) → load 2: '2' (same code); 603 contact 503 '4' (2025-04-03)
 * - payments 701 (601) '2' 100 UAH paid 2025-01-31 22:30; 702 (602) 'refunded' 50 UAH paid 02-01 12:30, updated 03-10 09:00;
 *   703 (602) unknown '7' 20 UAH created 02-02 08:00; 704 (601) 'pending' 10; 705 (601) '3' 10; 708 (601) 'paid' 30 at 2025-04-02 10:00;
 *   709 (603) '4' 5 UAH paid 04-03 10:00, no updated_at
 */

export async function load(wh: Warehouse, table: string, key: string[], rows: Record<string, unknown>[]): Promise<void> {
  await wh.withTransaction(async (trx, copy) => {
    await upsertRows(trx, { table, key, rows }, copy)
  })
}

const deal = (d: Record<string, unknown>) => ({
  account: 'msk',
  user_id: null,
  created_at: null,
  paid_at: null,
  title: null,
  status: null,
  status_code: null,
  status_changed_at: null,
  cost: null,
  currency: 'RUB',
  paid: 0,
  manager: null,
  utm_source: null,
  extra: {},
  ...d,
})

const kwOrder = (o: Record<string, unknown>) => ({
  cabinet: 'main',
  paid_status_title: null,
  first_paid_at: null,
  paid_at: null,
  cost_amount: null,
  cost_currency: 'UAH',
  manager_ids: null,
  manager_names: null,
  utm_source: null,
  order_stage_title: null,
  order_group_title: null,
  order_funnel_title: null,
  raw: {},
  ...o,
})

const kwPayment = (p: Record<string, unknown>) => ({
  cabinet: 'main',
  status_title: null,
  currency_code: 'UAH',
  paid_at: null,
  created_at: null,
  updated_at: null,
  raw: {},
  ...p,
})

export const FIELDS_1 = [
  { account: 'msk', id: 100, title: 'Размер', type: 'text', context_type: 'user' },
  { account: 'msk', id: 101, title: 'Откуда узнали', type: 'text', context_type: 'deal' },
  { account: 'msk', id: 102, title: 'Город', type: 'text', context_type: 'user' },
  { account: 'msk', id: 103, title: 'Город', type: 'select', context_type: 'user' },
]

/** First sync of everything. */
export async function loadFirst(wh: Warehouse): Promise<void> {
  await load(wh, 'getcourse.fields', ['account', 'id'], FIELDS_1)
  await load(
    wh,
    'getcourse.users',
    ['account', 'id'],
    [
      {
        account: 'msk',
        id: 1,
        email: 'Anna@Example.com ',
        phone: '8 (900) 111-22-33',
        first_name: 'Анна',
        created_at: '2025-01-10T10:00:00Z',
        extra: { Размер: 'M', Город: 'Москва', 'Комментарий, "важный"': 'да, "очень"', Пусто: '' },
      },
      { account: 'msk', id: 2, email: 'boris@example.com', phone: null, first_name: 'Борис', created_at: '2025-01-31T21:30:00Z', extra: {} },
      { account: 'msk', id: 3, email: 'not-an-email', phone: null, first_name: null, created_at: '2025-03-01T10:00:00Z', extra: {} },
      { account: 'ekb', id: 1, email: null, phone: '+7 900 111 22 33', first_name: 'Carl', created_at: '2025-02-25T10:00:00Z', extra: {} },
    ],
  )
  await load(
    wh,
    'getcourse.deals',
    ['account', 'id'],
    [
      deal({
        id: 10,
        number: 1010,
        user_id: 1,
        created_at: '2025-01-15T09:00:00Z',
        status: 'Новый',
        status_code: 'new',
        status_changed_at: '2025-01-15T09:00:00Z',
        cost: 1000,
      }),
      deal({
        id: 11,
        number: 1011,
        user_id: 1,
        created_at: '2025-02-01T09:00:00Z',
        status: 'Завершен',
        status_code: 'payed',
        status_changed_at: '2025-02-02T09:00:00Z',
        cost: 500,
        paid: 500,
        paid_at: '2025-02-02T09:00:00Z',
        title: 'Курс А',
        manager: 'Ирина',
        utm_source: 'vk',
        extra: { 'Откуда узнали': 'Из ВК, друзья' },
      }),
      deal({
        id: 12,
        number: 1012,
        user_id: 2,
        created_at: '2025-02-03T09:00:00Z',
        status: 'Ложный',
        status_code: 'false',
        status_changed_at: '2025-02-03T10:00:00Z',
        paid: 700,
        paid_at: '2025-02-03T10:00:00Z',
        title: 'Тест',
      }),
      deal({
        id: 13,
        number: 1013,
        user_id: 2,
        created_at: '2025-02-10T10:00:00Z',
        status: 'Какой-то новый',
        status_changed_at: '2025-02-10T10:00:00Z',
        cost: 900,
      }),
      deal({
        account: 'ekb',
        id: 20,
        number: 2020,
        user_id: 1,
        created_at: '2025-03-01T19:00:00Z',
        status: 'Завершен',
        status_code: 'payed',
        status_changed_at: '2025-03-01T20:30:00Z',
        paid: 300,
        paid_at: '2025-03-01T20:30:00Z',
        title: 'Курс Е',
      }),
    ],
  )
  await load(
    wh,
    'getcourse.payments',
    ['account', 'id'],
    [
      {
        account: 'msk',
        id: 801,
        deal_number: 1011,
        created_at: '2025-02-02T09:00:00Z',
        status: 'Получен',
        status_code: 'accepted',
        amount: 500,
        currency: 'RUB',
      },
      {
        account: 'msk',
        id: 802,
        deal_number: 1010,
        created_at: '2025-03-05T20:00:00Z',
        status: 'Ожидаем оплаты',
        status_code: 'expected',
        amount: 1000,
        currency: 'RUB',
      },
      {
        account: 'msk',
        id: 803,
        deal_number: 1011,
        created_at: '2025-02-20T21:30:00Z',
        status: 'Возвращен',
        status_code: 'returned',
        amount: 100,
        currency: 'RUB',
      },
      { account: 'msk', id: 804, deal_number: 1013, created_at: '2025-02-11T10:00:00Z', status: 'Странный', status_code: null, amount: 40, currency: 'RUB' },
    ],
  )
  await load(
    wh,
    'kwiga.contacts',
    ['cabinet', 'contact_id'],
    [
      {
        cabinet: 'main',
        contact_id: 501,
        email: 'olena@example.com',
        phone: '+380 50 111 2233',
        name: 'Олена',
        created_at: '2025-01-05T10:00:00Z',
        raw: {
          id: 501,
          additional_fields: [
            { id: 1, field: { id: 31, title: 'Місто' }, value: 'Київ', display_value: 'Київ' },
            { id: 2, field: { id: 32, title: 'Інтереси' }, value: [1, 2], display_value: 'Python, SQL' },
            { id: 3, field: { title: 'без id' }, value: 'x' },
          ],
        },
      },
      { cabinet: 'main', contact_id: 502, email: 'anna@example.com', phone: null, name: 'Anna', created_at: '2025-02-01T10:00:00Z', raw: { id: 502 } },
      { cabinet: 'main', contact_id: 503, email: null, phone: '0501112233', name: null, created_at: '2025-03-20T10:00:00Z', raw: { id: 503 } },
    ],
  )
  await load(
    wh,
    'kwiga.orders',
    ['cabinet', 'order_id'],
    [
      kwOrder({
        order_id: 601,
        contact_id: 501,
        paid_status: '1',
        created_at: '2025-01-20T10:00:00Z',
        updated_at: '2025-01-20T10:00:00Z',
        cost_amount: 100,
        manager_ids: [7],
        manager_names: ['Марія'],
        utm_source: 'instagram',
        order_stage_title: 'Нове',
        order_group_title: 'new',
        order_funnel_title: 'Основна',
      }),
      kwOrder({ order_id: 602, contact_id: 502, paid_status: 'paid', created_at: '2025-02-01T12:00:00Z', updated_at: '2025-02-01T12:30:00Z', cost_amount: 70 }),
      kwOrder({ order_id: 603, contact_id: 503, paid_status: '4', created_at: '2025-04-03T09:00:00Z', updated_at: '2025-04-03T10:00:00Z', cost_amount: 5 }),
    ],
  )
  await load(
    wh,
    'kwiga.order_products',
    ['cabinet', 'order_id', 'product_id'],
    [
      { cabinet: 'main', order_id: 601, product_id: 12, title: 'Python' },
      { cabinet: 'main', order_id: 602, product_id: 13, title: 'SQL, "основи"' },
    ],
  )
  await load(
    wh,
    'kwiga.payments',
    ['cabinet', 'payment_id'],
    [
      kwPayment({ payment_id: 701, order_id: 601, status: '2', amount: 100, paid_at: '2025-01-31T22:30:00Z' }),
      kwPayment({ payment_id: 702, order_id: 602, status: 'refunded', amount: 50, paid_at: '2025-02-01T12:30:00Z', updated_at: '2025-03-10T09:00:00Z' }),
      kwPayment({ payment_id: 703, order_id: 602, status: '7', amount: 20, created_at: '2025-02-02T08:00:00Z' }),
      kwPayment({ payment_id: 704, order_id: 601, status: 'pending', amount: 10, created_at: '2025-02-02T08:00:00Z' }),
      kwPayment({ payment_id: 705, order_id: 601, status: '3', amount: 10, created_at: '2025-02-02T08:00:00Z' }),
      kwPayment({ payment_id: 708, order_id: 601, status: 'paid', amount: 30, paid_at: '2025-04-02T10:00:00Z' }),
      kwPayment({ payment_id: 709, order_id: 603, status: '4', amount: 5, paid_at: '2025-04-03T10:00:00Z' }),
    ],
  )
}

/** Second sync: deal 10 paid, payment 802 returned, order 601 paid, order 602 sent as '2' (same code). */
export async function loadSecond(wh: Warehouse): Promise<void> {
  await load(
    wh,
    'getcourse.deals',
    ['account', 'id'],
    [
      deal({
        id: 10,
        number: 1010,
        user_id: 1,
        created_at: '2025-01-15T09:00:00Z',
        status: 'Завершен',
        status_code: 'payed',
        status_changed_at: '2025-03-05T20:30:00Z',
        cost: 1000,
        paid: 1000,
        paid_at: '2025-03-05T20:30:00Z',
        title: 'Курс Б',
        utm_source: 'google',
      }),
    ],
  )
  await load(
    wh,
    'getcourse.payments',
    ['account', 'id'],
    [
      {
        account: 'msk',
        id: 802,
        deal_number: 1010,
        created_at: '2025-03-05T20:00:00Z',
        status: 'Возвращен',
        status_code: 'returned',
        amount: 1000,
        currency: 'RUB',
      },
    ],
  )
  await load(
    wh,
    'kwiga.orders',
    ['cabinet', 'order_id'],
    [
      kwOrder({
        order_id: 601,
        contact_id: 501,
        paid_status: 'paid',
        created_at: '2025-01-20T10:00:00Z',
        updated_at: '2025-01-31T22:30:00Z',
        cost_amount: 100,
        manager_ids: [7],
        manager_names: ['Марія'],
        utm_source: 'instagram',
        order_stage_title: 'Нове',
        order_group_title: 'new',
        order_funnel_title: 'Основна',
      }),
      kwOrder({ order_id: 602, contact_id: 502, paid_status: '2', created_at: '2025-02-01T12:00:00Z', updated_at: '2025-02-01T12:30:00Z', cost_amount: 70 }),
    ],
  )
}
