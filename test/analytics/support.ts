import { sql } from 'kysely'
import type { Warehouse } from '../../src/db/index.js'

/**
 * Rows of a query as Postgres renders them in JSON, with the session in UTC: numbers are numbers,
 * timestamps `2025-03-01T21:30:00+00:00`, dates `2025-03-02`, on the server and embedded alike.
 */
export async function jsonRows<T = Record<string, unknown>>(wh: Warehouse, query: string): Promise<T[]> {
  return wh.withTransaction(async (tx) => {
    await sql`set local timezone = 'UTC'`.execute(tx)
    const { rows } = await sql.raw<{ j: string }>(`select row_to_json(q)::text as j from (${query}) q`).execute(tx)
    return rows.map((r) => JSON.parse(r.j) as T)
  })
}

export async function exec(wh: Warehouse, text: string): Promise<void> {
  await wh.execScript(text)
}

/**
 * A small known world, both sources. Times are UTC; GetCourse days are cut in Moscow (+03), KWIGA
 * days in Kyiv (+02 in March), so rows near midnight land on the next local day.
 *
 * GetCourse account `school`:
 * - users 1001 Anna (own UTM google/cpc/spring), 1002 Boris (no UTM; deals with and without UTM), 1003 Carl (nothing)
 * - deals 5001 Anna paid 1000 RUB at 21:30 UTC on 03-01 (= 03-02 Moscow); 5002 Boris unpaid 2000 RUB (UTM vk);
 *   5003 Boris part-paid 200 of 500 RUB (no UTM, his earliest deal); 5004 Boris paid 50 USD (UTM telegram);
 *   5005 Anna paid 300 RUB then refunded (payment 9004 returned)
 * - payments 9001 (101, 1000 RUB), 9002 (103, 200, no currency), 9003 (104, 50 USD), 9004 (105, returned 300),
 *   9005 (102, expected 2000)
 * - group 77 VIP: Anna and user 1004 (not exported as a user: name and email from the group export)
 *
 * KWIGA cabinet `main`:
 * - contacts 201 Olena (first visit instagram; contact UTM telegram), 202 Petro (contact UTM facebook only), 203 (no UTM)
 * - orders 7001 Olena paid 1500 UAH at 22:30 UTC on 03-01 (= 03-02 Kyiv); 7002 Petro not paid (numeric status 1) 40 USD;
 *   7003 Petro refunded (numeric status 4) 20 USD; 7004 Olena partially paid 400 of 1000 UAH (numeric 3)
 * - course 501 Python: module 601 (lessons 701, 702 with quiz 901), lesson 703 at the top level;
 *   Olena (user 301) 1 of 3 lessons done, 702 watched later; Petro (user 302) without KWIGA counters, all 3 lessons,
 *   the module and the quiz done
 */
export const SEED_SQL = `
insert into getcourse.users (account, id, email, first_name, last_name, phone, created_at, utm_source, utm_medium, utm_campaign) values
  ('school', 1001, 'anna@example.com', 'Anna', 'Ivanova', '+79001112233', '2025-03-01 10:00:00+00', 'google', 'cpc', 'spring'),
  ('school', 1002, 'boris@example.com', 'Boris', 'Petrov', null, '2025-03-01 11:00:00+00', null, null, null),
  ('school', 1003, 'carl@example.com', 'Carl', null, null, '2025-03-01 12:00:00+00', null, '', null);

insert into getcourse.deals (account, id, number, user_id, user_name, user_email, created_at, paid_at, title, status, status_code, cost, currency, paid, is_paid, utm_source, utm_medium, utm_campaign) values
  ('school', 5001, 101, 1001, 'Anna Ivanova', 'anna@example.com', '2025-03-01 21:00:00+00', '2025-03-01 21:30:00+00', 'Курс А', 'Завершен', 'payed', 1000, 'RUB', 1000, true, null, null, null),
  ('school', 5002, 102, 1002, 'Boris Petrov', 'boris@example.com', '2025-03-05 09:00:00+00', null, 'Курс Б', 'Новый', 'new', 2000, 'RUB', 0, false, 'vk', 'post', 'launch'),
  ('school', 5003, 103, 1002, 'Boris Petrov', 'boris@example.com', '2025-03-02 08:00:00+00', '2025-03-02 09:00:00+00', 'Курс В', 'Частично оплачен', 'part_payed', 500, 'RUB', 200, false, null, null, null),
  ('school', 5004, 104, 1002, 'Boris Petrov', 'boris@example.com', '2025-03-10 11:00:00+00', '2025-03-10 12:00:00+00', 'Course D', 'Завершен', 'payed', 50, 'USD', 50, true, 'telegram', 'dm', 'usd'),
  ('school', 5005, 105, 1001, 'Anna Ivanova', 'anna@example.com', '2025-03-02 09:30:00+00', '2025-03-02 10:00:00+00', 'Курс Д', 'Ожидаем возврата', 'waiting_for_return', 300, 'RUB', 300, true, null, null, null);

insert into getcourse.payments (account, id, user_name, email, deal_number, created_at, type, status, status_code, amount, currency) values
  ('school', 9001, 'Anna Ivanova', 'anna@example.com', 101, '2025-03-01 21:30:00+00', 'ЮKassa', 'Получен', 'accepted', 1000, 'RUB'),
  ('school', 9002, 'Boris Petrov', 'boris@example.com', 103, '2025-03-02 09:00:00+00', 'CloudPayments', 'Получен', 'accepted', 200, null),
  ('school', 9003, 'Boris Petrov', 'boris@example.com', 104, '2025-03-10 12:00:00+00', 'CloudPayments', 'Получен', 'accepted', 50, 'USD'),
  ('school', 9004, 'Anna Ivanova', 'anna@example.com', 105, '2025-03-02 10:00:00+00', 'ЮKassa', 'Возвращен', 'returned', 300, 'RUB'),
  ('school', 9005, 'Boris Petrov', '', 102, '2025-03-05 09:05:00+00', 'Тинькофф', 'Ожидаем оплаты', 'expected', 2000, null);

insert into getcourse.groups (account, id, name) values ('school', 77, 'VIP');
insert into getcourse.group_members (account, group_id, user_id, added_at, email, first_name, last_name, user_created_at) values
  ('school', 77, 1001, '2025-03-03 10:00:00+00', 'old-anna@example.com', 'Anya', null, '2025-03-01 10:00:00+00'),
  ('school', 77, 1004, '2025-03-04 10:00:00+00', 'dmitry@example.com', 'Dmitry', 'Orlov', '2024-12-31 23:00:00+00');

insert into kwiga.contacts (cabinet, contact_id, user_id, email, first_name, last_name, name, phone, created_at, utm, first_visit, raw) values
  ('main', 201, 301, 'olena@example.com', 'Olena', 'K', 'Olena K', '+380501112233', '2025-02-01 10:05:00+00',
   '{"utm_source": ["telegram"], "utm_medium": ["cpc"], "utm_campaign": ["winter"]}',
   '{"created_at": "2025-02-01T10:00:00.000000Z", "utm_source": "instagram", "utm_medium": "stories", "utm_campaign": "autumn"}', '{}'),
  ('main', 202, 302, 'petro@example.com', 'Petro', 'M', null, null, '2025-02-02 10:00:00+00',
   '{"utm_source": ["facebook", "google"], "utm_medium": ["cpc"], "utm_campaign": ["winter"], "utm_term": []}',
   '{"created_at": "2025-02-02T09:59:00.000000Z", "utm_source": null, "utm_medium": null, "utm_campaign": null}', '{}'),
  ('main', 203, null, 'quiet@example.com', null, null, 'Quiet', null, '2025-02-03 10:00:00+00', null, null, '{}');

insert into kwiga.orders (cabinet, order_id, contact_id, paid_status, paid_status_title, first_paid_at, paid_at, created_at, cost_amount, cost_currency, raw) values
  ('main', 7001, 201, 'paid', 'Сплачено', '2025-03-01 22:30:00+00', '2025-03-01 22:30:00+00', '2025-03-01 22:00:00+00', 1500, 'UAH', '{}'),
  ('main', 7002, 202, '1', 'Не сплачено', null, null, '2025-03-03 10:00:00+00', 40, 'USD', '{}'),
  ('main', 7003, 202, '4', 'Повернення коштів', '2025-03-04 10:00:00+00', '2025-03-04 10:00:00+00', '2025-03-04 09:00:00+00', 20, 'USD', '{}'),
  ('main', 7004, 201, '3', 'Частково сплачено', '2025-03-05 10:00:00+00', '2025-03-05 10:00:00+00', '2025-03-05 09:00:00+00', 1000, 'UAH', '{}');

insert into kwiga.order_products (cabinet, order_id, product_id, title) values
  ('main', 7001, 12, 'Python'), ('main', 7001, 11, 'Bonus'), ('main', 7004, 12, 'Python');

insert into kwiga.payments (cabinet, payment_id, order_id, status, status_title, payment_form_title, amount, currency_code, paid_at, created_at, raw) values
  ('main', 8001, 7001, '2', 'Paid', 'Card', 1500, 'UAH', '2025-03-01 22:30:00+00', '2025-03-01 22:00:00+00', '{}'),
  ('main', 8002, 7002, '3', 'Failed', 'Card', 40, 'USD', null, '2025-03-03 10:00:00+00', '{}'),
  ('main', 8003, 7003, '4', 'Refunded', 'Card', 20, 'USD', '2025-03-04 10:00:00+00', '2025-03-04 09:00:00+00', '{}'),
  ('main', 8004, 7004, '2', 'Paid', 'Card', 400, 'UAH', '2025-03-05 10:00:00+00', '2025-03-05 09:00:00+00', '{}'),
  ('main', 8005, 7004, '1', 'Pending', 'Card', 600, 'UAH', null, '2025-03-05 09:00:00+00', '{}');

insert into kwiga.courses (cabinet, course_id, title, raw) values ('main', 501, 'Python', '{}');
insert into kwiga.course_nodes (cabinet, course_id, node_id, parent_node_id, position, depth, nodeble_type, nodeble_id, title, quiz_ids, raw) values
  ('main', 501, 1, null, 1, 0, 'course_module', 601, 'Basics', '{}', '{}'),
  ('main', 501, 2, 1, 1, 1, 'course_lesson', 701, 'Hello', '{}', '{}'),
  ('main', 501, 3, 1, 2, 1, 'course_lesson', 702, 'Loops', '{901}', '{}'),
  ('main', 501, 4, null, 2, 0, 'course_lesson', 703, 'Wrap-up', '{}', '{}'),
  ('main', 501, 5, null, 3, 0, 'info_section', 801, 'Links', '{}', '{}');

insert into kwiga.course_users (cabinet, course_id, user_id, contact_id, user_name, user_email, lessons_count, lessons_count_viewed, lessons_count_completed,
                                quizzes_count, quizzes_count_completed, is_completed, last_active_at, subscription_start_at, raw) values
  ('main', 501, 301, 201, 'Olena K', 'olena@example.com', 3, 2, 1, 1, 0, false, '2025-03-06 10:00:00+00', '2025-03-01 22:30:00+00', '{}'),
  ('main', 501, 302, 202, null, null, null, null, null, null, null, true, '2025-03-08 10:00:00+00', '2025-03-04 10:00:00+00', '{}');

insert into kwiga.lesson_progress (cabinet, course_id, user_id, lesson_id, node_id, is_watched, is_completed, completed_at, updated_at) values
  ('main', 501, 301, 701, 2, true, true, '2025-03-06 10:00:00+00', '2025-03-06 10:00:00+00'),
  ('main', 501, 301, 702, 3, true, false, null, '2025-03-07 12:00:00+00'),
  ('main', 501, 302, 701, 2, true, true, '2025-03-05 10:00:00+00', '2025-03-05 10:00:00+00'),
  ('main', 501, 302, 702, 3, true, true, '2025-03-06 10:00:00+00', '2025-03-06 10:00:00+00'),
  ('main', 501, 302, 703, 4, true, true, '2025-03-08 10:00:00+00', '2025-03-08 10:00:00+00');

insert into kwiga.module_progress (cabinet, course_id, user_id, module_id, node_id, is_watched, is_completed, completed_at, updated_at) values
  ('main', 501, 301, 601, 1, true, false, null, '2025-03-06 10:00:00+00'),
  ('main', 501, 302, 601, 1, true, true, '2025-03-06 10:00:00+00', '2025-03-06 10:00:00+00');

insert into kwiga.quiz_progress (cabinet, course_id, user_id, course_lesson_id, quiz_id, node_id, status_slug, finished_at, last_activity_at) values
  ('main', 501, 302, 702, 901, 3, 'passed', '2025-03-06 10:00:00+00', '2025-03-06 10:00:00+00');
`
