-- Fidelity: the warehouse says what the source says, removals included (README "Deletions").
--
-- Every table whose rows can disappear upstream gets `deleted_at timestamptz`: NULL = present
-- upstream; set when a *complete* listing of the row's scope finished without it; cleared when the
-- row is read again. Only complete listings mark rows (etl.listings below); partial, filtered,
-- failed or deferred reads never do.

-- KWIGA's own coupon field `deleted_at` (a coupon deleted in the cabinet and still listed) keeps its
-- value under a name that cannot be confused with the warehouse's convention.
alter table kwiga.coupons rename column deleted_at to source_deleted_at;

do $$
declare
  t record;
begin
  for t in
    select * from (values
      ('getcourse', 'users', 'account, id'),
      ('getcourse', 'groups', 'account, id'),
      ('getcourse', 'group_members', 'account, group_id, user_id'),
      ('getcourse', 'deals', 'account, id'),
      ('getcourse', 'payments', 'account, id'),
      ('getcourse', 'fields', 'account, id'),
      ('kwiga', 'timezones', 'cabinet, timezone_id'),
      ('kwiga', 'products', 'cabinet, product_id'),
      ('kwiga', 'offers', 'cabinet, offer_id'),
      ('kwiga', 'courses', 'cabinet, course_id'),
      ('kwiga', 'coupons', 'cabinet, coupon_id'),
      ('kwiga', 'contact_lists', 'cabinet, list_id'),
      ('kwiga', 'contact_list_members', 'cabinet, list_id, contact_id'),
      ('kwiga', 'contacts', 'cabinet, contact_id'),
      ('kwiga', 'contact_products', 'cabinet, contact_id, product_id'),
      ('kwiga', 'course_users', 'cabinet, course_id, user_id')
    ) as v(schema_name, table_name, key_columns)
  loop
    execute format('alter table %I.%I add column deleted_at timestamptz', t.schema_name, t.table_name);
    -- Small (only deleted rows): lets a load find rows that come back without scanning the table.
    execute format('create index %I on %I.%I (%s) where deleted_at is not null',
                   t.table_name || '_deleted_idx', t.schema_name, t.table_name, t.key_columns);
  end loop;
end $$;

-- A listing in progress: the keys it has read so far, per table. A listing spans batches, and for
-- GetCourse several exports and runs; its keys commit with the rows they came with, so a crash never
-- leaves a listing that looks complete. Completed or superseded listings are removed.
create table etl.listings (
  id          text        not null,
  tbl         text        not null,
  source      text        not null,
  account     text        not null,
  stream      text        not null,
  key_columns text[]      not null,
  started_at  timestamptz not null default now(),
  -- Records of the listing that could not be read far enough to know their key: while any exist the
  -- listing marks nothing deleted (the unreadable record may be a stored row).
  unkeyed     integer     not null default 0,
  primary key (id, tbl)
);
create index listings_stream_idx on etl.listings (source, account, stream);

create table etl.listing_keys (
  listing text not null,
  tbl     text not null,
  key     text not null
);
create index listing_keys_listing_idx on etl.listing_keys (listing, tbl);

alter table etl.runs
  add column rows_marked_deleted bigint not null default 0,
  add column rows_undeleted      bigint not null default 0;

-- Ids the KWIGA docs type as integers (reference notes §3): integer columns. Values that were not
-- integers (none are expected: the loader only stored digit strings) become NULL; `raw` keeps them.
do $$
declare
  c record;
begin
  for c in
    select * from (values
      ('orders', 'type_id'),
      ('offers', 'price_type_id'),
      ('offers', 'limit_type_id'),
      ('courses', 'type_id'),
      ('courses', 'status_id'),
      ('contact_products', 'state_id'),
      ('course_users', 'subscription_state_id'),
      ('lesson_progress', 'quizzing_status_id'),
      ('module_progress', 'quizzing_status_id'),
      ('quiz_progress', 'status_id')
    ) as v(table_name, column_name)
  loop
    execute format('alter table kwiga.%I alter column %I type integer using case when %I ~ ''^-?[0-9]{1,9}$'' then %I::integer end',
                   c.table_name, c.column_name, c.column_name, c.column_name);
  end loop;
end $$;

-- The analytics views leave deleted rows out (same columns as 0004, with the filters added).
-- Revenue per day ------------------------------------------------------------------------------------

create or replace view analytics.revenue_daily as
with events as (
  -- GetCourse: money received on a deal (`Оплачено`), on the day it was paid.
  select 'getcourse'::text as source, d.account, 'Europe/Moscow'::text as timezone,
         (d.paid_at at time zone 'Europe/Moscow')::date as day, d.currency, d.id as order_id,
         d.paid as amount, false as is_refund
  from getcourse.deals d
  where d.paid_at is not null and d.paid > 0 and d.deleted_at is null
  union all
  -- GetCourse refunds: payments with status `returned`, on the day the payment was made.
  select 'getcourse', p.account, 'Europe/Moscow',
         (p.created_at at time zone 'Europe/Moscow')::date, coalesce(p.currency, d.currency), d.id,
         p.amount, true
  from getcourse.payments p
  left join getcourse.deals d on d.account = p.account and d.number = p.deal_number
  where p.status_code = 'returned' and p.created_at is not null and p.deleted_at is null
  union all
  -- KWIGA: paid payments, refunded ones included (they were received first), on the day paid.
  select 'kwiga', p.cabinet, 'Europe/Kyiv', (p.paid_at at time zone 'Europe/Kyiv')::date,
         p.currency_code, p.order_id, p.amount, false
  from kwiga.payments p
  where p.status in ('2', '4') and p.paid_at is not null and not exists (select 1 from kwiga.orders go join kwiga.contacts gc on gc.cabinet = go.cabinet and gc.contact_id = go.contact_id where go.cabinet = p.cabinet and go.order_id = p.order_id and gc.deleted_at is not null)
  union all
  select 'kwiga', p.cabinet, 'Europe/Kyiv', (p.paid_at at time zone 'Europe/Kyiv')::date,
         p.currency_code, p.order_id, p.amount, true
  from kwiga.payments p
  where p.status = '4' and p.paid_at is not null and not exists (select 1 from kwiga.orders go join kwiga.contacts gc on gc.cabinet = go.cabinet and gc.contact_id = go.contact_id where go.cabinet = p.cabinet and go.order_id = p.order_id and gc.deleted_at is not null)
)
select source, account, day, timezone, currency,
       count(distinct order_id) filter (where not is_refund) as orders,
       coalesce(sum(amount) filter (where not is_refund), 0) as amount,
       count(*) filter (where is_refund) as refunds,
       coalesce(sum(amount) filter (where is_refund), 0) as refunded_amount,
       coalesce(sum(amount) filter (where not is_refund), 0) - coalesce(sum(amount) filter (where is_refund), 0) as net_amount
from events
group by source, account, day, timezone, currency;

comment on view analytics.revenue_daily is
'One row per source, account (GetCourse account / KWIGA cabinet), day and currency with money received that day. '
'GetCourse: `orders` deals paid that day and `amount` the sum of their `paid` (deals.paid_at, paid > 0; a partly paid deal counts with what was paid). '
'KWIGA: `orders` orders with a paid payment that day and `amount` the sum of payments with status paid or refunded (payments.paid_at). '
'`refunds` / `refunded_amount`: GetCourse payments with status returned, KWIGA payments with status refunded, counted on the day the refunded payment was made '
'(neither API says when the refund happened); `net_amount` = amount - refunded_amount. '
'Days are cut in `timezone` (Europe/Moscow for GetCourse, Europe/Kyiv for KWIGA). Currencies are never mixed: sum per currency. '
'A GetCourse refund whose payment currency is missing takes the deal''s currency; currency is NULL if neither is known. '
'Rows deleted upstream (deleted_at set: GetCourse users, deals, payments, groups, members; KWIGA contacts with their orders, courses, course users) are left out.';

-- Orders of both sources -----------------------------------------------------------------------------

create or replace view analytics.orders as
select 'getcourse'::text as source,
       d.account,
       d.id as order_id,
       d.number as order_number,
       d.title,
       d.created_at,
       d.paid_at,
       d.status_code as status,
       d.status as status_title,
       coalesce(d.paid, 0) > 0 as is_paid,
       d.cost as amount,
       coalesce(d.paid, 0) as paid_amount,
       d.currency,
       d.user_id as buyer_id,
       d.user_email as buyer_email,
       d.user_name as buyer_name,
       coalesce(p.payments, 0) as payments_count,
       coalesce(p.paid_sum, 0) as payments_paid_sum,
       coalesce(p.refunded_sum, 0) as payments_refunded_sum,
       p.last_payment_at,
       d.utm_source,
       d.utm_medium,
       d.utm_campaign
from getcourse.deals d
left join (
  select account, deal_number,
         count(*) as payments,
         sum(amount) filter (where status_code in ('accepted', 'tobalance')) as paid_sum,
         sum(amount) filter (where status_code = 'returned') as refunded_sum,
         max(created_at) filter (where status_code in ('accepted', 'tobalance')) as last_payment_at
  from getcourse.payments
  where deleted_at is null
  group by account, deal_number
) p on p.account = d.account and p.deal_number = d.number
where d.deleted_at is null
union all
select 'kwiga',
       o.cabinet,
       o.order_id,
       null::bigint,
       pr.titles,
       o.created_at,
       o.paid_at,
       s.status,
       o.paid_status_title,
       s.status in ('paid', 'partially_paid'),
       o.cost_amount,
       coalesce(p.paid_sum, 0),
       o.cost_currency,
       o.contact_id,
       c.email,
       coalesce(nullif(c.name, ''), nullif(concat_ws(' ', nullif(c.first_name, ''), nullif(c.last_name, '')), '')),
       coalesce(p.payments, 0),
       coalesce(p.paid_sum, 0),
       coalesce(p.refunded_sum, 0),
       p.last_payment_at,
       null::text,
       null::text,
       null::text
from kwiga.orders o
cross join lateral (
  select case o.paid_status when '1' then 'not_paid' when '2' then 'paid' when '3' then 'partially_paid' when '4' then 'refunded'
         else o.paid_status end as status
) s
left join kwiga.contacts c on c.cabinet = o.cabinet and c.contact_id = o.contact_id
left join (
  select cabinet, order_id,
         count(*) as payments,
         sum(amount) filter (where status = '2') as paid_sum,
         sum(amount) filter (where status = '4') as refunded_sum,
         max(paid_at) filter (where status = '2') as last_payment_at
  from kwiga.payments
  group by cabinet, order_id
) p on p.cabinet = o.cabinet and p.order_id = o.order_id
left join (
  select cabinet, order_id, string_agg(title, ', ' order by product_id) as titles
  from kwiga.order_products
  group by cabinet, order_id
) pr on pr.cabinet = o.cabinet and pr.order_id = o.order_id
where c.deleted_at is null;

comment on view analytics.orders is
'One row per order: a GetCourse deal or a KWIGA order, with its payments aggregated. '
'`order_id` is the deal / order id; `order_number` the GetCourse deal number (what payments and the GetCourse UI show; NULL for KWIGA). '
'`status` is the source''s code (GetCourse status_code such as payed, part_payed, cancelled; KWIGA paid, not_paid, partially_paid, refunded, '
'with numeric ids mapped to these slugs), `status_title` its label as the source sends it. '
'`amount` is the order cost, `paid_amount` what was received (GetCourse deal `paid`; KWIGA sum of paid payments), `is_paid` = something was received '
'(KWIGA: paid or partially paid; a refunded order is not paid). `buyer_id` is the GetCourse user id / KWIGA contact id. '
'Payments: `payments_count` all of them, `payments_paid_sum` received ones (GetCourse accepted/tobalance, KWIGA paid), `payments_refunded_sum` refunded ones, '
'`last_payment_at` the latest received one. GetCourse payments are matched on the deal number. UTM columns exist for GetCourse deals only. '
'Rows deleted upstream (deleted_at set: GetCourse users, deals, payments, groups, members; KWIGA contacts with their orders, courses, course users) are left out.';

-- KWIGA course progress ------------------------------------------------------------------------------

create or replace view analytics.course_progress as
select cu.cabinet as account,
       cu.course_id,
       co.title as course_title,
       cu.user_id,
       cu.contact_id,
       coalesce(nullif(cu.user_email, ''), c.email) as email,
       coalesce(nullif(cu.user_name, ''), nullif(c.name, ''), nullif(concat_ws(' ', nullif(c.first_name, ''), nullif(c.last_name, '')), '')) as name,
       coalesce(cu.lessons_count_completed, lp.completed, 0) as lessons_done,
       coalesce(cu.lessons_count_viewed, lp.watched, 0) as lessons_viewed,
       coalesce(cu.lessons_count, n.lessons) as lessons_total,
       coalesce(mp.completed, 0) as modules_done,
       n.modules as modules_total,
       coalesce(cu.quizzes_count_completed, qp.completed, 0) as quizzes_done,
       coalesce(cu.quizzes_count, n.quizzes) as quizzes_total,
       round(100.0 * coalesce(cu.lessons_count_completed, lp.completed, 0) / nullif(coalesce(cu.lessons_count, n.lessons), 0), 1) as progress_pct,
       coalesce(cu.is_completed, false) as is_completed,
       cu.completed_at,
       cu.subscription_start_at as enrolled_at,
       greatest(cu.last_active_at, lp.last_at, mp.last_at, qp.last_at) as last_activity_at
from kwiga.course_users cu
left join kwiga.courses co on co.cabinet = cu.cabinet and co.course_id = cu.course_id
left join kwiga.contacts c on c.cabinet = cu.cabinet and c.contact_id = cu.contact_id
left join (
  select cabinet, course_id,
         count(distinct node_id) filter (where nodeble_type = 'course_lesson') as lessons,
         count(distinct node_id) filter (where nodeble_type = 'course_module') as modules,
         count(distinct q.quiz_id) as quizzes
  from kwiga.course_nodes
  left join lateral unnest(quiz_ids) as q(quiz_id) on true
  group by cabinet, course_id
) n on n.cabinet = cu.cabinet and n.course_id = cu.course_id
left join (
  select cabinet, course_id, user_id,
         count(*) filter (where is_completed) as completed,
         count(*) filter (where is_watched) as watched,
         max(greatest(updated_at, completed_at, watching_end_at)) as last_at
  from kwiga.lesson_progress
  group by cabinet, course_id, user_id
) lp on lp.cabinet = cu.cabinet and lp.course_id = cu.course_id and lp.user_id = cu.user_id
left join (
  select cabinet, course_id, user_id,
         count(*) filter (where is_completed) as completed,
         max(greatest(updated_at, completed_at)) as last_at
  from kwiga.module_progress
  group by cabinet, course_id, user_id
) mp on mp.cabinet = cu.cabinet and mp.course_id = cu.course_id and mp.user_id = cu.user_id
left join (
  select cabinet, course_id, user_id,
         count(distinct quiz_id) filter (where finished_at is not null) as completed,
         max(greatest(last_activity_at, finished_at)) as last_at
  from kwiga.quiz_progress
  group by cabinet, course_id, user_id
) qp on qp.cabinet = cu.cabinet and qp.course_id = cu.course_id and qp.user_id = cu.user_id
where cu.deleted_at is null and co.deleted_at is null;

comment on view analytics.course_progress is
'One row per KWIGA course participant (account = cabinet, course, user). `lessons_done` / `lessons_viewed` / `lessons_total` and the quiz counts '
'are KWIGA''s own counters, else counted from lesson / quiz progress and the course program; `modules_done` counts completed modules, '
'`modules_total` the modules of the program. `progress_pct` = 100 × lessons_done / lessons_total, one decimal (KWIGA''s own percentage is rounded down). '
'`email` / `name` come from the course user, else the contact. `enrolled_at` is the start of the access subscription. '
'`last_activity_at` is the latest of the course user''s last activity and any progress record. Participants are as of the last course_users sync. '
'Rows deleted upstream (deleted_at set: GetCourse users, deals, payments, groups, members; KWIGA contacts with their orders, courses, course users) are left out.';

-- People of both sources with their first UTM touch --------------------------------------------------

create or replace view analytics.people as
with gc_first_deal as (
  select distinct on (account, user_id) account, user_id, utm_source, utm_medium, utm_campaign, created_at
  from getcourse.deals
  where user_id is not null and deleted_at is null
    and coalesce(nullif(utm_source, ''), nullif(utm_medium, ''), nullif(utm_campaign, '')) is not null
  order by account, user_id, created_at nulls last, id
),
gc_deals as (
  select account, user_id,
         count(*) as orders,
         count(*) filter (where paid > 0) as paid_orders,
         min(created_at) as first_order_at,
         min(paid_at) filter (where paid > 0) as first_paid_at
  from getcourse.deals
  where user_id is not null and deleted_at is null
  group by account, user_id
),
kw_orders as (
  select cabinet, contact_id,
         count(*) as orders,
         count(*) filter (where paid_status in ('paid', 'partially_paid', '2', '3')) as paid_orders,
         min(created_at) as first_order_at,
         min(coalesce(first_paid_at, paid_at)) filter (where paid_status in ('paid', 'partially_paid', 'refunded', '2', '3', '4')) as first_paid_at
  from kwiga.orders
  group by cabinet, contact_id
),
kw_utm as (
  select c.cabinet, c.contact_id, c.created_at, c.first_visit,
         nullif(c.first_visit ->> 'utm_source', '') as fv_source,
         nullif(c.first_visit ->> 'utm_medium', '') as fv_medium,
         nullif(c.first_visit ->> 'utm_campaign', '') as fv_campaign,
         -- Cast only what looks like a date: one malformed value must not break the whole view.
         case when c.first_visit ->> 'created_at' ~ '^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}' then (c.first_visit ->> 'created_at')::timestamptz end as fv_at,
         -- contact.utm holds the values seen, as arrays (first element = first seen) or plain strings.
         nullif(case jsonb_typeof(c.utm -> 'utm_source') when 'array' then c.utm -> 'utm_source' ->> 0 else c.utm ->> 'utm_source' end, '') as c_source,
         nullif(case jsonb_typeof(c.utm -> 'utm_medium') when 'array' then c.utm -> 'utm_medium' ->> 0 else c.utm ->> 'utm_medium' end, '') as c_medium,
         nullif(case jsonb_typeof(c.utm -> 'utm_campaign') when 'array' then c.utm -> 'utm_campaign' ->> 0 else c.utm ->> 'utm_campaign' end, '') as c_campaign
  from kwiga.contacts c
)
select 'getcourse'::text as source,
       u.account,
       u.id as person_id,
       u.id as user_id,
       u.email,
       nullif(concat_ws(' ', nullif(u.first_name, ''), nullif(u.last_name, '')), '') as name,
       u.phone,
       u.created_at,
       case when t.own then nullif(u.utm_source, '') else fd.utm_source end as utm_source,
       case when t.own then nullif(u.utm_medium, '') else fd.utm_medium end as utm_medium,
       case when t.own then nullif(u.utm_campaign, '') else fd.utm_campaign end as utm_campaign,
       case when t.own then 'user' when fd.user_id is not null then 'deal' end as utm_from,
       case when t.own then u.created_at else fd.created_at end as first_touch_at,
       coalesce(gd.orders, 0) as orders,
       coalesce(gd.paid_orders, 0) as paid_orders,
       gd.first_order_at,
       gd.first_paid_at
from getcourse.users u
cross join lateral (
  select coalesce(nullif(u.utm_source, ''), nullif(u.utm_medium, ''), nullif(u.utm_campaign, '')) is not null as own
) t
left join gc_first_deal fd on fd.account = u.account and fd.user_id = u.id
left join gc_deals gd on gd.account = u.account and gd.user_id = u.id
where u.deleted_at is null
union all
select 'kwiga',
       c.cabinet,
       c.contact_id,
       c.user_id,
       c.email,
       coalesce(nullif(c.name, ''), nullif(concat_ws(' ', nullif(c.first_name, ''), nullif(c.last_name, '')), '')),
       coalesce(c.phone, c.phone_number),
       c.created_at,
       case when t.visit then k.fv_source else k.c_source end,
       case when t.visit then k.fv_medium else k.c_medium end,
       case when t.visit then k.fv_campaign else k.c_campaign end,
       case when t.visit then 'first_visit' when t.contact then 'contact' end,
       case when t.visit then coalesce(k.fv_at, c.created_at) when t.contact then c.created_at end,
       coalesce(ko.orders, 0),
       coalesce(ko.paid_orders, 0),
       ko.first_order_at,
       ko.first_paid_at
from kwiga.contacts c
join kw_utm k on k.cabinet = c.cabinet and k.contact_id = c.contact_id
cross join lateral (
  select coalesce(k.fv_source, k.fv_medium, k.fv_campaign) is not null as visit,
         coalesce(k.c_source, k.c_medium, k.c_campaign) is not null as contact
) t
left join kw_orders ko on ko.cabinet = c.cabinet and ko.contact_id = c.contact_id
where c.deleted_at is null;

comment on view analytics.people is
'One row per GetCourse user and per KWIGA contact (`person_id` = GetCourse user id / KWIGA contact id; `user_id` = the platform user id). '
'First UTM touch (`utm_source`, `utm_medium`, `utm_campaign`, `utm_from`, `first_touch_at`): GetCourse: the user''s own UTM fields (utm_from = user), '
'else the earliest deal of the user that has UTM (deal); KWIGA: the UTM of the first recorded visit (first_visit), else the first values of the contact''s UTM '
'(contact). NULL when no UTM is known. `orders` / `paid_orders` / `first_order_at` / `first_paid_at` from GetCourse deals / KWIGA orders '
'(a later refund does not undo first_paid_at). The same person in both sources appears twice: match on lower(email). '
'Rows deleted upstream (deleted_at set: GetCourse users, deals, payments, groups, members; KWIGA contacts with their orders, courses, course users) are left out.';

-- GetCourse group membership -------------------------------------------------------------------------

create or replace view analytics.group_membership as
select gm.account,
       gm.group_id,
       g.name as group_name,
       gm.user_id,
       coalesce(nullif(u.email, ''), gm.email) as email,
       coalesce(nullif(u.first_name, ''), gm.first_name) as first_name,
       coalesce(nullif(u.last_name, ''), gm.last_name) as last_name,
       coalesce(nullif(u.phone, ''), gm.phone) as phone,
       gm.added_at,
       coalesce(u.created_at, gm.user_created_at) as user_created_at
from getcourse.group_members gm
left join getcourse.groups g on g.account = gm.account and g.id = gm.group_id
left join getcourse.users u on u.account = gm.account and u.id = gm.user_id
where gm.deleted_at is null and g.deleted_at is null;

comment on view analytics.group_membership is
'One row per GetCourse group and member, as of the last group_members sync, with the group name and the member''s email and name '
'(from getcourse.users when the user is loaded, else from the group export itself). `added_at` is when the user joined the group. '
'`group_name` is NULL for a group that the groups stream has not seen (yet). '
'Rows deleted upstream (deleted_at set: GetCourse users, deals, payments, groups, members; KWIGA contacts with their orders, courses, course users) are left out.';

-- All payments of both sources -----------------------------------------------------------------------

create or replace view analytics.payments as
select 'getcourse'::text as source,
       p.account,
       p.id as payment_id,
       d.id as order_id,
       p.deal_number as order_number,
       p.status_code as status,
       p.status as status_title,
       p.status_code in ('accepted', 'tobalance') as is_received,
       p.status_code = 'returned' as is_refunded,
       p.amount,
       coalesce(p.currency, d.currency) as currency,
       p.type as payment_system,
       p.created_at,
       case when p.status_code in ('accepted', 'tobalance', 'returned') then p.created_at end as paid_at,
       coalesce(nullif(p.email, ''), d.user_email) as buyer_email
from getcourse.payments p
left join getcourse.deals d on d.account = p.account and d.number = p.deal_number
where p.deleted_at is null
union all
select 'kwiga',
       p.cabinet,
       p.payment_id,
       p.order_id,
       null::bigint,
       s.status,
       p.status_title,
       s.status = 'paid',
       s.status = 'refunded',
       p.amount,
       p.currency_code,
       coalesce(p.payment_form_title, p.payment_type_title),
       p.created_at,
       p.paid_at,
       c.email
from kwiga.payments p
cross join lateral (
  select case p.status when '1' then 'pending' when '2' then 'paid' when '3' then 'failed' when '4' then 'refunded' else p.status end as status
) s
left join kwiga.orders o on o.cabinet = p.cabinet and o.order_id = p.order_id
left join kwiga.contacts c on c.cabinet = o.cabinet and c.contact_id = o.contact_id
where c.deleted_at is null;

comment on view analytics.payments is
'One row per payment: GetCourse payments (matched to their deal on the deal number) and KWIGA payments of orders. '
'`status`: GetCourse status_code (accepted, tobalance, expected, returned), KWIGA pending, paid, failed, refunded (numeric ids mapped). '
'`is_received` = money arrived and was not refunded; `is_refunded` = refunded afterwards. `paid_at`: KWIGA''s paid_at; GetCourse has no separate '
'payment date, so its created_at when the payment was received or refunded. GetCourse payment currency falls back to the deal''s. '
'`payment_system`: GetCourse payment type (ЮKassa, CloudPayments, …), KWIGA payment form. '
'Rows deleted upstream (deleted_at set: GetCourse users, deals, payments, groups, members; KWIGA contacts with their orders, courses, course users) are left out.';

-- Freshness of every stream --------------------------------------------------------------------------

create or replace view analytics.sync_freshness as
select k.source,
       k.account,
       k.stream,
       last.started_at as last_run_at,
       last.status as last_status,
       ok.finished_at as last_success_at,
       now() - ok.finished_at as age,
       round(extract(epoch from now() - ok.finished_at) / 3600, 1) as age_hours,
       ok.rows_read as last_success_rows_read,
       (select count(*) from etl.runs f
        where f.source = k.source and f.account = k.account and f.stream = k.stream and f.status in ('failed', 'aborted')
          and f.started_at > coalesce(ok.started_at, '-infinity'::timestamptz)) as failures_since_success,
       case when last.status <> 'succeeded' then last.error_code end as last_error_code,
       case when last.status <> 'succeeded' then last.message end as last_error,
       last.resume_at
from (select distinct source, account, stream from etl.runs) k
left join lateral (
  select r.started_at, r.status, r.error_code, r.message, r.resume_at from etl.runs r
  where r.source = k.source and r.account = k.account and r.stream = k.stream
  order by r.started_at desc, r.id desc limit 1
) last on true
left join lateral (
  select r.started_at, r.finished_at, r.rows_read from etl.runs r
  where r.source = k.source and r.account = k.account and r.stream = k.stream and r.status = 'succeeded'
  order by r.finished_at desc, r.id desc limit 1
) ok on true;

comment on view analytics.sync_freshness is
'One row per source, account and stream that ever ran (from etl.runs): the last run and its status, the last successful run, '
'the age of the data (`age`, `age_hours`: now minus the end of the last success; NULL if it never succeeded), the rows read by that run, '
'failed/aborted runs since, and the error and resume time of the last run when it did not succeed (deferred runs carry resume_at). '
'Streams of accounts removed from the config stay listed with a growing age.';
