-- Analyst model (issue 14): accounts with their zones, one status vocabulary, status history,
-- custom fields as rows, KWIGA order details in columns, and the analytics views analysts ask for,
-- every day cut in the account's own zone.
--
-- Status naming, one rule in every table and view: `<x>` is the value exactly as the source sent it
-- (GetCourse: the Russian label; KWIGA: an id or a slug), `<x>_code` the canonical code of our one
-- vocabulary (NULL when the value is unknown: it is kept raw and listed in etl.unknown_statuses),
-- `<x>_title` a label the source sent beside it.

-- 1. Accounts and their zones -----------------------------------------------------------------------

create table etl.accounts (
  source          text        not null,
  account         text        not null,
  time_zone       text        not null,
  currency        text,
  configured      boolean     not null default true,
  first_sync_at   timestamptz,
  last_sync_at    timestamptz,
  last_success_at timestamptz,
  updated_at      timestamptz not null default now(),
  primary key (source, account)
);
comment on table etl.accounts is 'Every configured GetCourse account and KWIGA cabinet, registered by each sync from the config: its IANA time zone (the zone analytics views cut days in), currency where known, and first / last sync. Accounts removed from the config stay with configured = false.';
comment on column etl.accounts.source is 'getcourse or kwiga.';
comment on column etl.accounts.account is 'Our name of the account / cabinet (config `name`), the `account` / `cabinet` of every row.';
comment on column etl.accounts.time_zone is 'IANA zone of the account: GetCourse config `timezone` (default Europe/Moscow); KWIGA cabinets Europe/Kyiv (the API does not say a cabinet''s zone).';
comment on column etl.accounts.currency is 'Account currency where the config says it; NULL otherwise (money keeps each row''s own currency).';
comment on column etl.accounts.configured is 'False once the account left the config (its rows stay in the warehouse).';
comment on column etl.accounts.first_sync_at is 'Start of the first run of any stream of the account (etl.runs).';
comment on column etl.accounts.last_sync_at is 'End of the latest finished run of any stream of the account, whatever its outcome.';
comment on column etl.accounts.last_success_at is 'End of the latest succeeded run of any stream of the account.';
comment on column etl.accounts.updated_at is 'When the config last registered the account.';

-- Runs keep the sync columns current (load-file runs, source getcourse-file, count for getcourse).
create function etl.accounts_track_run() returns trigger language plpgsql as $$
begin
  update etl.accounts a
     set first_sync_at = least(coalesce(a.first_sync_at, new.started_at), new.started_at),
         last_sync_at = case when new.finished_at is not null then greatest(coalesce(a.last_sync_at, new.finished_at), new.finished_at) else a.last_sync_at end,
         last_success_at = case when new.status = 'succeeded' then greatest(coalesce(a.last_success_at, new.finished_at), new.finished_at) else a.last_success_at end
   where a.source = split_part(new.source, '-', 1) and a.account = new.account
     and (a.first_sync_at is null or new.finished_at is not null);
  return null;
end $$;
create trigger runs_track_accounts after insert or update of status on etl.runs
  for each row execute function etl.accounts_track_run();

-- 2. One status vocabulary --------------------------------------------------------------------------
-- KWIGA payment `status`: ids 1 pending, 2 paid, 3 failed, 4 refunded or those slugs (docs/kwiga.md
-- §4.16); order `paid_status`: slugs paid, not_paid, partially_paid, refunded or 2 / 1 / 3 / 4 (§4.17).
-- GetCourse labels are mapped to the API's filter codes by the loader (status_code, docs/getcourse.md §2).

create function etl.kwiga_payment_status(raw text) returns text language sql immutable parallel safe as $$
  select case lower(btrim(raw))
    when '1' then 'pending' when 'pending' then 'pending'
    when '2' then 'paid' when 'paid' then 'paid'
    when '3' then 'failed' when 'failed' then 'failed'
    when '4' then 'refunded' when 'refunded' then 'refunded'
  end
$$;
comment on function etl.kwiga_payment_status(text) is 'KWIGA payment status as sent (1-4 or a slug) → pending, paid, failed, refunded; NULL when unknown.';

create function etl.kwiga_order_paid_status(raw text) returns text language sql immutable parallel safe as $$
  select case lower(btrim(raw))
    when '1' then 'not_paid' when 'not_paid' then 'not_paid'
    when '2' then 'paid' when 'paid' then 'paid'
    when '3' then 'partially_paid' when 'partially_paid' then 'partially_paid'
    when '4' then 'refunded' when 'refunded' then 'refunded'
  end
$$;
comment on function etl.kwiga_order_paid_status(text) is 'KWIGA order paid_status as sent (1-4 or a slug) → not_paid, paid, partially_paid, refunded; NULL when unknown.';

alter table kwiga.payments add column status_code text generated always as (etl.kwiga_payment_status(status)) stored;
comment on column kwiga.payments.status_code is 'Canonical code of `status` (as sent: 2 or paid): pending, paid, failed, refunded; NULL when the value is unknown (see etl.unknown_statuses).';
alter table kwiga.orders add column paid_status_code text generated always as (etl.kwiga_order_paid_status(paid_status)) stored;
comment on column kwiga.orders.paid_status_code is 'Canonical code of `paid_status` (as sent: paid or 2): not_paid, paid, partially_paid, refunded; NULL when the value is unknown (see etl.unknown_statuses).';

alter table getcourse.deals add column is_test boolean generated always as (coalesce(status_code = 'false', false)) stored;
comment on column getcourse.deals.is_test is 'A test deal (status Ложный, code false): left out of revenue, funnel and cohort views.';

create index deals_unknown_status_idx on getcourse.deals (account) where status_code is null and status is not null;
create index payments_unknown_status_idx on getcourse.payments (account) where status_code is null and status is not null;
create index kwiga_payments_unknown_status_idx on kwiga.payments (cabinet) where status_code is null and status is not null;
create index kwiga_orders_unknown_status_idx on kwiga.orders (cabinet) where paid_status_code is null and paid_status is not null;

create view etl.unknown_statuses as
select 'getcourse'::text as source, account, 'getcourse.deals'::text as table_name, 'status'::text as column_name, status as value,
       count(*) as rows, max(synced_at) as last_synced_at
from getcourse.deals where status_code is null and status is not null group by account, status
union all
select 'getcourse', account, 'getcourse.payments', 'status', status, count(*), max(synced_at)
from getcourse.payments where status_code is null and status is not null group by account, status
union all
select 'kwiga', cabinet, 'kwiga.orders', 'paid_status', paid_status, count(*), max(synced_at)
from kwiga.orders where paid_status_code is null and paid_status is not null group by cabinet, paid_status
union all
select 'kwiga', cabinet, 'kwiga.payments', 'status', status, count(*), max(synced_at)
from kwiga.payments where status_code is null and status is not null group by cabinet, status;
comment on view etl.unknown_statuses is 'One row per status value the vocabulary does not know, per source, account, table and column: kept raw in the table, its canonical code NULL. `rows` rows carry it; `last_synced_at` is when the latest of them was written. Revenue views report such money as unclassified.';

-- 3. Status history (type 2) ------------------------------------------------------------------------
-- Written by statement triggers in the transaction that writes the row. A new row opens a history
-- row; a changed canonical status (the raw value when unknown) closes the open one and opens the
-- next; an unchanged one writes nothing, so re-loading the same export adds nothing. `seen_from` is
-- the source's own change time when it gives one that is later than the previous status (GetCourse
-- deals `status_changed_at`, KWIGA orders `updated_at`), else the time of the load.

create table getcourse.deal_status_history (
  account     text        not null,
  deal_id     bigint      not null,
  status      text        not null,
  status_code text,
  seen_from   timestamptz not null,
  seen_to     timestamptz,
  primary key (account, deal_id, seen_from)
);
create unique index deal_status_history_current_idx on getcourse.deal_status_history (account, deal_id) where seen_to is null;
comment on table getcourse.deal_status_history is 'Every status a GetCourse deal was seen in (type-2 history): one row per status period, the current one with seen_to NULL.';
comment on column getcourse.deal_status_history.account is 'Deal key: account (getcourse.deals.account).';
comment on column getcourse.deal_status_history.deal_id is 'Deal key: getcourse.deals.id.';
comment on column getcourse.deal_status_history.status is 'Status as exported (Russian label).';
comment on column getcourse.deal_status_history.status_code is 'Canonical code (new, payed, cancelled, false, …); NULL for an unknown label.';
comment on column getcourse.deal_status_history.seen_from is 'Start of the period: the deal''s status_changed_at when later than the previous period''s start, else when the load saw the change.';
comment on column getcourse.deal_status_history.seen_to is 'End of the period (the next period''s seen_from); NULL for the current status.';

create table getcourse.payment_status_history (
  account     text        not null,
  payment_id  bigint      not null,
  status      text        not null,
  status_code text,
  seen_from   timestamptz not null,
  seen_to     timestamptz,
  primary key (account, payment_id, seen_from)
);
create unique index payment_status_history_current_idx on getcourse.payment_status_history (account, payment_id) where seen_to is null;
comment on table getcourse.payment_status_history is 'Every status a GetCourse payment was seen in (type-2 history), the current one with seen_to NULL.';
comment on column getcourse.payment_status_history.account is 'Payment key: account (getcourse.payments.account).';
comment on column getcourse.payment_status_history.payment_id is 'Payment key: getcourse.payments.id.';
comment on column getcourse.payment_status_history.status is 'Status as exported (Russian label).';
comment on column getcourse.payment_status_history.status_code is 'Canonical code (expected, accepted, returned, …); NULL for an unknown label.';
comment on column getcourse.payment_status_history.seen_from is 'Start of the period: when the load saw the status (the export has no status change time for payments).';
comment on column getcourse.payment_status_history.seen_to is 'End of the period; NULL for the current status.';

create table kwiga.order_status_history (
  cabinet     text        not null,
  order_id    bigint      not null,
  status      text        not null,
  status_code text,
  seen_from   timestamptz not null,
  seen_to     timestamptz,
  primary key (cabinet, order_id, seen_from)
);
create unique index order_status_history_current_idx on kwiga.order_status_history (cabinet, order_id) where seen_to is null;
comment on table kwiga.order_status_history is 'Every paid_status a KWIGA order was seen in (type-2 history), the current one with seen_to NULL.';
comment on column kwiga.order_status_history.cabinet is 'Order key: cabinet (kwiga.orders.cabinet).';
comment on column kwiga.order_status_history.order_id is 'Order key: kwiga.orders.order_id.';
comment on column kwiga.order_status_history.status is 'paid_status as sent (an id or a slug).';
comment on column kwiga.order_status_history.status_code is 'Canonical code (not_paid, paid, partially_paid, refunded); NULL when unknown.';
comment on column kwiga.order_status_history.seen_from is 'Start of the period: the order''s updated_at when later than the previous period''s start, else when the load saw the change.';
comment on column kwiga.order_status_history.seen_to is 'End of the period; NULL for the current status.';

-- The three trigger functions differ only in names; one generator writes them.
do $gen$
declare
  t record;
begin
  for t in
    select * from (values
      ('getcourse', 'deals', 'deal_status_history', 'account', 'id', 'deal_id', 'status', 'status_code', 'n.status_changed_at'),
      ('getcourse', 'payments', 'payment_status_history', 'account', 'id', 'payment_id', 'status', 'status_code', 'null::timestamptz'),
      ('kwiga', 'orders', 'order_status_history', 'cabinet', 'order_id', 'order_id', 'paid_status', 'paid_status_code', 'n.updated_at')
    ) as v(sch, tbl, hist, acc, id_col, hist_id, st, code, changed)
  loop
    execute format($f$
      create function %1$I.%10$I() returns trigger language plpgsql as $body$
      begin
        -- Close the open period of every row whose status changed.
        with chg as (
          select n.%4$I as acc, n.%5$I as eid,
                 greatest(case when %9$s > h.seen_from and %9$s <= now() then %9$s else now() end,
                          h.seen_from + interval '1 microsecond') as at
          from %11$s n
          join %1$I.%3$I h on h.%4$I = n.%4$I and h.%6$I = n.%5$I and h.seen_to is null
          where n.%7$I is not null and coalesce(n.%8$I, n.%7$I) is distinct from coalesce(h.status_code, h.status))
        update %1$I.%3$I h set seen_to = chg.at from chg
        where h.%4$I = chg.acc and h.%6$I = chg.eid and h.seen_to is null;
        -- Open a period for every row without one: new rows, and those just closed (from their end).
        insert into %1$I.%3$I (%4$I, %6$I, status, status_code, seen_from)
        select n.%4$I, n.%5$I, n.%7$I, n.%8$I,
               coalesce((select max(h.seen_to) from %1$I.%3$I h where h.%4$I = n.%4$I and h.%6$I = n.%5$I),
                        least(coalesce(%9$s, now()), now()))
        from %11$s n
        where n.%7$I is not null
          and not exists (select 1 from %1$I.%3$I h where h.%4$I = n.%4$I and h.%6$I = n.%5$I and h.seen_to is null);
        return null;
      end $body$$f$, t.sch, t.tbl, t.hist, t.acc, t.id_col, t.hist_id, t.st, t.code, t.changed, t.hist || '_write', 'new_rows');
    -- (Transition tables cannot serve two events, hence two triggers.)
    execute format('create trigger %I after insert on %I.%I referencing new table as new_rows for each statement execute function %I.%I()',
                   t.hist || '_ins', t.sch, t.tbl, t.sch, t.hist || '_write');
    execute format('create trigger %I after update on %I.%I referencing new table as new_rows for each statement execute function %I.%I()',
                   t.hist || '_upd', t.sch, t.tbl, t.sch, t.hist || '_write');
  end loop;
end $gen$;

-- What is stored now is the first status seen.
insert into getcourse.deal_status_history (account, deal_id, status, status_code, seen_from)
select account, id, status, status_code, least(coalesce(status_changed_at, synced_at), synced_at) from getcourse.deals where status is not null;
insert into getcourse.payment_status_history (account, payment_id, status, status_code, seen_from)
select account, id, status, status_code, synced_at from getcourse.payments where status is not null;
insert into kwiga.order_status_history (cabinet, order_id, status, status_code, seen_from)
select cabinet, order_id, paid_status, paid_status_code, least(coalesce(updated_at, synced_at), synced_at) from kwiga.orders where paid_status is not null;

-- 4. Custom fields as rows --------------------------------------------------------------------------
-- GetCourse exports additional fields as columns titled like the field; the loader keeps them in
-- `extra` under that title. Title → field id: the field of the same context (user / deal) whose
-- current title is exactly the title, when exactly one field has it; otherwise a field that had the
-- title before (getcourse.field_titles, the most recently seen), so rows exported before a rename
-- keep their field id; otherwise the cell is no field value (a standard column without a typed
-- column stays in `extra` only). Values are rewritten for every entity a load writes, in the same
-- transaction, and rebuilt for the account when the dictionary changes.

create table getcourse.field_titles (
  account       text        not null,
  field_id      bigint      not null,
  context_type  text        not null default '',
  title         text        not null,
  first_seen_at timestamptz not null default now(),
  last_seen_at  timestamptz not null default now(),
  primary key (account, field_id, title)
);
comment on table getcourse.field_titles is 'Every title a GetCourse additional field has had (from getcourse.fields loads): what lets values exported under an old title keep their field id after a rename.';
comment on column getcourse.field_titles.account is 'Account of the field.';
comment on column getcourse.field_titles.field_id is 'getcourse.fields.id.';
comment on column getcourse.field_titles.context_type is 'user or deal (fields.context_type).';
comment on column getcourse.field_titles.title is 'A title the field had.';
comment on column getcourse.field_titles.first_seen_at is 'First load that saw the field under this title.';
comment on column getcourse.field_titles.last_seen_at is 'Latest load that saw the field under this title.';

insert into getcourse.field_titles (account, field_id, context_type, title, first_seen_at, last_seen_at)
select account, id, coalesce(context_type, ''), title, synced_at, synced_at from getcourse.fields where title is not null and title <> '';

create view getcourse.field_title_map as
with cur as (
  select account, coalesce(context_type, '') as context_type, title, min(id) as field_id, count(*) as n
  from getcourse.fields where deleted_at is null and title is not null and title <> ''
  group by 1, 2, 3
),
former as (
  select distinct on (account, context_type, title) account, context_type, title, field_id
  from getcourse.field_titles
  order by account, context_type, title, last_seen_at desc, field_id
)
select account, context_type, title, field_id, 'current'::text as matched_by from cur where n = 1
union all
select f.account, f.context_type, f.title, f.field_id, 'former'
from former f
where not exists (select 1 from cur c where c.account = f.account and c.context_type = f.context_type and c.title = f.title);
comment on view getcourse.field_title_map is 'One row per account, context (user / deal) and export title that maps to an additional field: by its current title when exactly one field has it (matched_by current), else by a title a field had before (former, the most recently seen). Titles two current fields share map to nothing.';

create table getcourse.user_field_values (
  account   text   not null,
  user_id   bigint not null,
  title     text   not null,
  field_id  bigint not null,
  value     text   not null,
  primary key (account, user_id, title)
);
create index user_field_values_field_idx on getcourse.user_field_values (account, field_id);
comment on table getcourse.user_field_values is 'One row per GetCourse user and additional user field with a non-empty value: the cells of users.extra whose title maps to a field (getcourse.field_title_map), rewritten with every load of the user and whenever the dictionary changes.';
comment on column getcourse.user_field_values.account is 'User key: account.';
comment on column getcourse.user_field_values.user_id is 'User key: getcourse.users.id.';
comment on column getcourse.user_field_values.title is 'Column title as exported (the key in users.extra: `title_2` for a repeated title, `column_N` for a blank one).';
comment on column getcourse.user_field_values.field_id is 'getcourse.fields.id of the user field the title maps to (getcourse.field_title_map).';
comment on column getcourse.user_field_values.value is 'The cell as exported (text).';

create table getcourse.deal_field_values (
  account   text   not null,
  deal_id   bigint not null,
  title     text   not null,
  field_id  bigint not null,
  value     text   not null,
  primary key (account, deal_id, title)
);
create index deal_field_values_field_idx on getcourse.deal_field_values (account, field_id);
comment on table getcourse.deal_field_values is 'One row per GetCourse deal and additional deal field with a non-empty value: the cells of deals.extra whose title maps to a field (getcourse.field_title_map), rewritten with every load of the deal and whenever the dictionary changes.';
comment on column getcourse.deal_field_values.account is 'Deal key: account.';
comment on column getcourse.deal_field_values.deal_id is 'Deal key: getcourse.deals.id.';
comment on column getcourse.deal_field_values.title is 'Column title as exported (the key in deals.extra).';
comment on column getcourse.deal_field_values.field_id is 'getcourse.fields.id of the deal field the title maps to (getcourse.field_title_map).';
comment on column getcourse.deal_field_values.value is 'The cell as exported (text).';

create table kwiga.contact_field_values (
  cabinet       text   not null,
  contact_id    bigint not null,
  field_id      bigint not null,
  title         text,
  value         text,
  display_value text,
  primary key (cabinet, contact_id, field_id)
);
comment on table kwiga.contact_field_values is 'One row per KWIGA contact and additional field with a value (contact `additional_fields`), replaced whenever the contact is loaded with that key; a contact loaded without the key keeps its stored values (the key is conditional, docs/kwiga.md §4.38).';
comment on column kwiga.contact_field_values.cabinet is 'Contact key: cabinet.';
comment on column kwiga.contact_field_values.contact_id is 'Contact key: kwiga.contacts.contact_id.';
comment on column kwiga.contact_field_values.field_id is 'KWIGA field id (`field.id`, else `field_id`).';
comment on column kwiga.contact_field_values.title is 'Field title as sent with the value (`field.title`, else `field.name`).';
comment on column kwiga.contact_field_values.value is 'Raw value as sent (text; JSON text for lists and objects).';
comment on column kwiga.contact_field_values.display_value is 'Readable value as sent (e.g. an option label).';

do $gen$
declare
  t record;
begin
  for t in
    select * from (values ('users', 'user_field_values', 'user_id', 'user'), ('deals', 'deal_field_values', 'deal_id', 'deal')) as v(tbl, vals, id_col, ctx)
  loop
    -- Only titles that map to a field are read out of `extra` (a probe per mapped title and row), and
    -- only differences are written: values the row no longer has are deleted, new or changed ones upserted.
    execute format($f$
      create function getcourse.%5$I() returns trigger language plpgsql as $body$
      begin
        with m as materialized (
          select account, title, field_id from getcourse.field_title_map
          where context_type = %4$L and account in (select distinct account from new_rows)),
        d as materialized (
          select n.account, n.id, m.title from new_rows n join m on m.account = n.account
          where jsonb_typeof(n.extra -> m.title) not in ('null', 'object', 'array') and n.extra ->> m.title <> '')
        delete from getcourse.%2$I v using new_rows n
        where v.account = n.account and v.%3$I = n.id
          and not exists (select 1 from d where d.account = v.account and d.id = v.%3$I and d.title = v.title);
        insert into getcourse.%2$I as v (account, %3$I, title, field_id, value)
        with m as materialized (
          select account, title, field_id from getcourse.field_title_map
          where context_type = %4$L and account in (select distinct account from new_rows))
        select n.account, n.id, m.title, m.field_id, n.extra ->> m.title
        from new_rows n
        join m on m.account = n.account
        where jsonb_typeof(n.extra -> m.title) not in ('null', 'object', 'array') and n.extra ->> m.title <> ''
        on conflict (account, %3$I, title) do update set field_id = excluded.field_id, value = excluded.value
          where (v.field_id, v.value) is distinct from (excluded.field_id, excluded.value);
        return null;
      end $body$$f$, t.tbl, t.vals, t.id_col, t.ctx, t.vals || '_write');
    execute format('create trigger %I after insert on getcourse.%I referencing new table as new_rows for each statement execute function getcourse.%I()',
                   t.vals || '_ins', t.tbl, t.vals || '_write');
    execute format('create trigger %I after update on getcourse.%I referencing new table as new_rows for each statement execute function getcourse.%I()',
                   t.vals || '_upd', t.tbl, t.vals || '_write');
  end loop;
end $gen$;

-- Rebuilds the value rows of some accounts from `extra` (a dictionary change: a title now maps to
-- another field, to one, or to none). Scans the accounts' users and deals; dictionaries change rarely.
create function getcourse.rebuild_field_values(accounts text[]) returns void language sql as $$
  delete from getcourse.user_field_values where account = any(accounts);
  insert into getcourse.user_field_values (account, user_id, title, field_id, value)
  select n.account, n.id, m.title, m.field_id, n.extra ->> m.title
  from getcourse.field_title_map m
  join getcourse.users n on n.account = m.account
  where m.context_type = 'user' and m.account = any(accounts)
    and jsonb_typeof(n.extra -> m.title) not in ('null', 'object', 'array') and n.extra ->> m.title <> '';
  delete from getcourse.deal_field_values where account = any(accounts);
  insert into getcourse.deal_field_values (account, deal_id, title, field_id, value)
  select n.account, n.id, m.title, m.field_id, n.extra ->> m.title
  from getcourse.field_title_map m
  join getcourse.deals n on n.account = m.account
  where m.context_type = 'deal' and m.account = any(accounts)
    and jsonb_typeof(n.extra -> m.title) not in ('null', 'object', 'array') and n.extra ->> m.title <> '';
$$;
comment on function getcourse.rebuild_field_values(text[]) is 'Rewrites getcourse.user_field_values / deal_field_values of the given accounts from users.extra / deals.extra and getcourse.field_title_map.';

select getcourse.rebuild_field_values(array(select distinct account from getcourse.fields));

-- A dictionary load records the titles and rebuilds the values of its accounts.
create function getcourse.fields_titles_write() returns trigger language plpgsql as $$
begin
  insert into getcourse.field_titles as t (account, field_id, context_type, title)
  select account, id, coalesce(context_type, ''), title from new_rows where title is not null and title <> ''
  on conflict (account, field_id, title) do update set last_seen_at = now(), context_type = excluded.context_type;
  perform getcourse.rebuild_field_values(array(select distinct account from new_rows));
  return null;
end $$;
create trigger fields_titles_ins after insert on getcourse.fields referencing new table as new_rows for each statement execute function getcourse.fields_titles_write();
create trigger fields_titles_upd after update on getcourse.fields referencing new table as new_rows for each statement execute function getcourse.fields_titles_write();

create function kwiga.contact_field_values_write() returns trigger language plpgsql as $$
begin
  delete from kwiga.contact_field_values v using new_rows n
  where v.cabinet = n.cabinet and v.contact_id = n.contact_id and jsonb_typeof(n.raw -> 'additional_fields') = 'array';
  insert into kwiga.contact_field_values (cabinet, contact_id, field_id, title, value, display_value)
  select distinct on (n.cabinet, n.contact_id, f.field_id) n.cabinet, n.contact_id, f.field_id,
         coalesce(e.value -> 'field' ->> 'title', e.value -> 'field' ->> 'name'),
         case when jsonb_typeof(e.value -> 'value') in ('object', 'array') then (e.value -> 'value')::text else e.value ->> 'value' end,
         case when jsonb_typeof(e.value -> 'display_value') in ('object', 'array') then (e.value -> 'display_value')::text else e.value ->> 'display_value' end
  from new_rows n
  cross join lateral jsonb_array_elements(n.raw -> 'additional_fields') e
  cross join lateral (select coalesce(e.value -> 'field' ->> 'id', e.value ->> 'field_id') as fid) k
  cross join lateral (select case when k.fid ~ '^[0-9]{1,18}$' then k.fid::bigint end as field_id) f
  where jsonb_typeof(n.raw -> 'additional_fields') = 'array' and jsonb_typeof(e.value) = 'object' and f.field_id is not null
  order by n.cabinet, n.contact_id, f.field_id;
  return null;
end $$;
create trigger contact_field_values_ins after insert on kwiga.contacts referencing new table as new_rows for each statement execute function kwiga.contact_field_values_write();
create trigger contact_field_values_upd after update on kwiga.contacts referencing new table as new_rows for each statement execute function kwiga.contact_field_values_write();
update kwiga.contacts set raw = raw where jsonb_typeof(raw -> 'additional_fields') = 'array';

-- 5. KWIGA order details in columns (filled by the loader from the order item) ----------------------

alter table kwiga.orders
  add column manager_ids        bigint[],
  add column manager_names      text[],
  add column utm_source         text,
  add column utm_medium         text,
  add column utm_campaign       text,
  add column utm_term           text,
  add column utm_content        text,
  add column order_group_id     bigint,
  add column order_group_title  text,
  add column order_funnel_id    bigint,
  add column order_funnel_title text;
comment on column kwiga.orders.manager_ids is 'Ids of the order''s managers (`managers[].id`); NULL when the order came without `managers`.';
comment on column kwiga.orders.manager_names is 'Names of the order''s managers (`managers[].name`, in the same order as manager_ids).';
comment on column kwiga.orders.utm_source is 'Order `utm.utm_source`: the first value (UtmList holds arrays), or the string when one was sent.';
comment on column kwiga.orders.utm_medium is 'Order `utm.utm_medium` (first value).';
comment on column kwiga.orders.utm_campaign is 'Order `utm.utm_campaign` (first value).';
comment on column kwiga.orders.utm_term is 'Order `utm.utm_term` (first value).';
comment on column kwiga.orders.utm_content is 'Order `utm.utm_content` (first value).';
comment on column kwiga.orders.order_group_id is 'Funnel step of the order''s stage: `order_stage.order_group.id`.';
comment on column kwiga.orders.order_group_title is '`order_stage.order_group.title` (else its slug).';
comment on column kwiga.orders.order_funnel_id is 'Funnel of the order''s stage: `order_stage.order_funnel.id`.';
comment on column kwiga.orders.order_funnel_title is '`order_stage.order_funnel.title`.';

alter table kwiga.offers
  add column purchases_count integer,
  add column sales_left      integer;
comment on column kwiga.offers.purchases_count is 'Sales of the offer so far (`purchases_count`, sent by the per-offer endpoint /offers/:id, §2 R10); NULL when not read.';
comment on column kwiga.offers.sales_left is 'Sales left under the offer''s limit (`sales_left`, R10); NULL when unlimited or not read.';

-- 6. Analytics views, days in each account's own zone ----------------------------------------------
-- Zone of a row: etl.accounts.time_zone of its source and account; an account no sync has
-- registered (removed from the config before 0006, or rows written by hand) falls back to the
-- source default, Europe/Moscow for GetCourse and Europe/Kyiv for KWIGA.

drop view analytics.revenue_daily;
drop view analytics.orders;
drop view analytics.payments;
drop view analytics.people;

create function etl.normalize_phone(raw text) returns text language sql immutable parallel safe as $$
  select case
    when d ~ '^8[0-9]{10}$' then '7' || substr(d, 2)
    when d ~ '^0[0-9]{9}$' then '38' || d
    when length(d) between 10 and 15 then d
  end
  from (select regexp_replace(coalesce(raw, ''), '[^0-9]', '', 'g') as d) x
$$;
comment on function etl.normalize_phone(text) is 'Phone → digits with the country code: everything but digits dropped; 8XXXXXXXXXX (Russian trunk prefix) → 7XXXXXXXXXX; 0XXXXXXXXX (Ukrainian national) → 380XXXXXXXXX; NULL unless 10–15 digits remain.';

create view analytics.revenue_events as
with gc_refund_seen as (
  -- First load that saw a payment returned after seeing it in another status.
  select h.account, h.payment_id, min(h.seen_from) as at
  from getcourse.payment_status_history h
  where h.status_code = 'returned'
    and exists (select 1 from getcourse.payment_status_history e where e.account = h.account and e.payment_id = h.payment_id and e.seen_from < h.seen_from)
  group by h.account, h.payment_id
),
kw_products as (
  select cabinet, order_id, string_agg(coalesce(title, product_id::text), ', ' order by product_id) as product
  from kwiga.order_products group by cabinet, order_id
),
kw as (
  select p.*, o.contact_id, pr.product, array_to_string(o.manager_names, ', ') as manager,
         o.utm_source, o.utm_medium, o.utm_campaign
  from kwiga.payments p
  left join kwiga.orders o on o.cabinet = p.cabinet and o.order_id = p.order_id
  left join kwiga.contacts c on c.cabinet = o.cabinet and c.contact_id = o.contact_id
  left join kw_products pr on pr.cabinet = p.cabinet and pr.order_id = p.order_id
  where c.deleted_at is null
),
ev as (
  select 'getcourse'::text as source, d.account, 'payment'::text as event, d.paid_at as occurred_at, 'deal paid_at'::text as date_basis,
         d.currency, d.paid as amount, d.id as order_id, null::bigint as payment_id, d.user_id as buyer_id,
         d.title as product, d.manager, d.utm_source, d.utm_medium, d.utm_campaign, d.status, d.status_code
  from getcourse.deals d
  where d.deleted_at is null and not d.is_test and d.paid > 0 and d.paid_at is not null
  union all
  select 'getcourse', p.account, case when p.status_code = 'returned' then 'refund' else 'unclassified' end,
         case when p.status_code = 'returned' then coalesce(r.at, p.created_at) else p.created_at end,
         case when p.status_code = 'returned' and r.at is not null then 'status history' else 'payment created_at' end,
         coalesce(p.currency, d.currency), case when p.status_code = 'returned' then -p.amount else p.amount end,
         d.id, p.id, d.user_id, d.title, d.manager, d.utm_source, d.utm_medium, d.utm_campaign, p.status, p.status_code
  from getcourse.payments p
  left join getcourse.deals d on d.account = p.account and d.number = p.deal_number and d.deleted_at is null
  left join gc_refund_seen r on r.account = p.account and r.payment_id = p.id
  where p.deleted_at is null and not coalesce(d.is_test, false)
    and (p.status_code = 'returned' or (p.status_code is null and p.status is not null))
  union all
  select 'kwiga', cabinet, 'payment', paid_at, 'paid_at', currency_code, amount, order_id, payment_id, contact_id,
         product, manager, utm_source, utm_medium, utm_campaign, status, status_code
  from kw where status_code in ('paid', 'refunded') and paid_at is not null
  union all
  select 'kwiga', cabinet, 'refund', case when updated_at >= paid_at then updated_at else paid_at end,
         case when updated_at >= paid_at then 'updated_at' else 'paid_at' end, currency_code, -amount, order_id, payment_id, contact_id,
         product, manager, utm_source, utm_medium, utm_campaign, status, status_code
  from kw where status_code = 'refunded' and paid_at is not null
  union all
  select 'kwiga', cabinet, 'unclassified', coalesce(paid_at, created_at), case when paid_at is not null then 'paid_at' else 'created_at' end,
         currency_code, amount, order_id, payment_id, contact_id, product, manager, utm_source, utm_medium, utm_campaign, status, status_code
  from kw where status_code is null and status is not null
)
select ev.source, ev.account, z.time_zone, (ev.occurred_at at time zone z.time_zone)::date as day, ev.event, ev.occurred_at, ev.date_basis,
       ev.currency, ev.amount, ev.order_id, ev.payment_id, ev.buyer_id, ev.product, ev.manager, ev.utm_source, ev.utm_medium, ev.utm_campaign,
       ev.status, ev.status_code
from ev
left join etl.accounts a on a.source = ev.source and a.account = ev.account
cross join lateral (select coalesce(a.time_zone, case ev.source when 'kwiga' then 'Europe/Kyiv' else 'Europe/Moscow' end) as time_zone) z;

comment on view analytics.revenue_events is
'One row per money event, the base of every revenue view. `event`: payment (money received: a GetCourse deal''s `paid` on its paid_at, test deals excluded; '
'a KWIGA payment with status paid or refunded on its paid_at), refund (negative amount: a GetCourse payment with status returned, dated when a load first saw '
'it turn returned, else its created_at; a KWIGA refunded payment dated its updated_at, the source''s change time, else paid_at), unclassified (a payment whose '
'status the vocabulary does not know: never in net revenue, always shown). `date_basis` names the time used. `day` is the local day of occurred_at in the '
'account''s `time_zone` (etl.accounts). `product`: GetCourse deal title, KWIGA order product titles; `manager`: GetCourse deal manager, KWIGA order managers; '
'UTM: of the deal / order. `buyer_id`: GetCourse user id, KWIGA contact id. Deleted rows are left out.';

create view analytics.revenue_daily as
select source, account, day, time_zone, currency,
       count(distinct order_id) filter (where event = 'payment') as orders,
       coalesce(sum(amount) filter (where event = 'payment'), 0) as amount,
       count(*) filter (where event = 'refund') as refunds,
       coalesce(-sum(amount) filter (where event = 'refund'), 0) as refunded_amount,
       coalesce(sum(amount) filter (where event in ('payment', 'refund')), 0) as net_amount,
       count(*) filter (where event = 'unclassified') as unclassified_payments,
       coalesce(sum(amount) filter (where event = 'unclassified'), 0) as unclassified_amount
from analytics.revenue_events
group by source, account, day, time_zone, currency;
comment on view analytics.revenue_daily is
'One row per source, account, local day (in the account''s time_zone, etl.accounts) and currency: `orders` orders with money received that day, `amount` received, '
'`refunds` / `refunded_amount` refunds dated that day (positive), `net_amount` = amount - refunded_amount, `unclassified_payments` / `unclassified_amount` '
'payments with a status the vocabulary does not know (not in net). See analytics.revenue_events for which events and dates count; currencies are never mixed.';

create view analytics.revenue_by_product as
select source, account, day, time_zone, currency, coalesce(product, '(none)') as product,
       count(distinct order_id) filter (where event = 'payment') as orders,
       coalesce(sum(amount) filter (where event = 'payment'), 0) as amount,
       coalesce(-sum(amount) filter (where event = 'refund'), 0) as refunded_amount,
       coalesce(sum(amount) filter (where event in ('payment', 'refund')), 0) as net_amount,
       coalesce(sum(amount) filter (where event = 'unclassified'), 0) as unclassified_amount
from analytics.revenue_events
group by source, account, day, time_zone, currency, coalesce(product, '(none)');
comment on view analytics.revenue_by_product is
'One row per source, account, local day, currency and product / offer (GetCourse deal title; KWIGA product titles of the order, comma-joined; (none) when unknown): '
'orders paid, amount received, refunds (positive), net, unclassified, as in analytics.revenue_daily.';

create view analytics.revenue_by_manager as
select source, account, day, time_zone, currency, coalesce(nullif(manager, ''), '(none)') as manager,
       count(distinct order_id) filter (where event = 'payment') as orders,
       coalesce(sum(amount) filter (where event = 'payment'), 0) as amount,
       coalesce(-sum(amount) filter (where event = 'refund'), 0) as refunded_amount,
       coalesce(sum(amount) filter (where event in ('payment', 'refund')), 0) as net_amount,
       coalesce(sum(amount) filter (where event = 'unclassified'), 0) as unclassified_amount
from analytics.revenue_events
group by source, account, day, time_zone, currency, coalesce(nullif(manager, ''), '(none)');
comment on view analytics.revenue_by_manager is
'One row per source, account, local day, currency and manager (GetCourse deal manager; KWIGA order managers, comma-joined; (none) when the order has none): '
'orders paid, amount received, refunds (positive), net, unclassified, as in analytics.revenue_daily.';

create view analytics.revenue_by_utm_source as
select source, account, day, time_zone, currency, coalesce(nullif(utm_source, ''), '(none)') as utm_source,
       count(distinct order_id) filter (where event = 'payment') as orders,
       coalesce(sum(amount) filter (where event = 'payment'), 0) as amount,
       coalesce(-sum(amount) filter (where event = 'refund'), 0) as refunded_amount,
       coalesce(sum(amount) filter (where event in ('payment', 'refund')), 0) as net_amount,
       coalesce(sum(amount) filter (where event = 'unclassified'), 0) as unclassified_amount
from analytics.revenue_events
group by source, account, day, time_zone, currency, coalesce(nullif(utm_source, ''), '(none)');
comment on view analytics.revenue_by_utm_source is
'One row per source, account, local day, currency and UTM source of the order (GetCourse deal utm_source; KWIGA order utm.utm_source, first value; (none) when absent): '
'orders paid, amount received, refunds (positive), net, unclassified, as in analytics.revenue_daily.';

create view analytics.orders as
select 'getcourse'::text as source,
       d.account,
       d.id as order_id,
       d.number as order_number,
       d.title,
       d.created_at,
       (d.created_at at time zone z.time_zone)::date as created_day,
       z.time_zone,
       d.paid_at,
       d.status,
       d.status_code,
       d.status as status_title,
       d.is_test,
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
       d.manager,
       d.utm_source,
       d.utm_medium,
       d.utm_campaign,
       null::text as funnel,
       null::text as stage
from getcourse.deals d
left join etl.accounts a on a.source = 'getcourse' and a.account = d.account
cross join lateral (select coalesce(a.time_zone, 'Europe/Moscow') as time_zone) z
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
       (o.created_at at time zone z.time_zone)::date,
       z.time_zone,
       o.paid_at,
       o.paid_status,
       o.paid_status_code,
       o.paid_status_title,
       false,
       o.paid_status_code in ('paid', 'partially_paid'),
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
       array_to_string(o.manager_names, ', '),
       o.utm_source,
       o.utm_medium,
       o.utm_campaign,
       o.order_funnel_title,
       o.order_stage_title
from kwiga.orders o
left join etl.accounts a on a.source = 'kwiga' and a.account = o.cabinet
cross join lateral (select coalesce(a.time_zone, 'Europe/Kyiv') as time_zone) z
left join kwiga.contacts c on c.cabinet = o.cabinet and c.contact_id = o.contact_id
left join (
  select cabinet, order_id,
         count(*) as payments,
         sum(amount) filter (where status_code = 'paid') as paid_sum,
         sum(amount) filter (where status_code = 'refunded') as refunded_sum,
         max(paid_at) filter (where status_code = 'paid') as last_payment_at
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
'One row per order: a GetCourse deal or a KWIGA order, with its payments aggregated. `order_id` is the deal / order id; `order_number` the GetCourse deal number. '
'Status, one rule everywhere: `status` as the source sent it (GetCourse Russian label, KWIGA paid_status id or slug), `status_code` the canonical code '
'(GetCourse new, payed, part_payed, cancelled, false, …; KWIGA not_paid, paid, partially_paid, refunded; NULL when unknown), `status_title` the label. '
'`is_test`: a GetCourse test deal (status false), left out of revenue. `created_day` is the local day in the account''s `time_zone`. '
'`amount` is the order cost, `paid_amount` what was received (GetCourse deal `paid`; KWIGA sum of paid payments), `is_paid` = something was received '
'(KWIGA: paid or partially paid). Payments: `payments_count`, `payments_paid_sum` (GetCourse accepted/tobalance, KWIGA paid), `payments_refunded_sum`, '
'`last_payment_at`. `manager`, UTM: of the deal / order (KWIGA managers comma-joined, UTM first values); `funnel` / `stage`: the KWIGA order''s funnel and stage. '
'Rows deleted upstream (GetCourse deals and payments, KWIGA contacts with their orders) are left out.';

create view analytics.payments as
select 'getcourse'::text as source,
       p.account,
       p.id as payment_id,
       d.id as order_id,
       p.deal_number as order_number,
       p.status,
       p.status_code,
       p.status as status_title,
       p.status_code in ('accepted', 'tobalance') as is_received,
       p.status_code = 'returned' as is_refunded,
       p.amount,
       coalesce(p.currency, d.currency) as currency,
       p.type as payment_system,
       p.created_at,
       case when p.status_code in ('accepted', 'tobalance', 'returned') then p.created_at end as paid_at,
       (p.created_at at time zone z.time_zone)::date as created_day,
       z.time_zone,
       coalesce(nullif(p.email, ''), d.user_email) as buyer_email
from getcourse.payments p
left join getcourse.deals d on d.account = p.account and d.number = p.deal_number
left join etl.accounts a on a.source = 'getcourse' and a.account = p.account
cross join lateral (select coalesce(a.time_zone, 'Europe/Moscow') as time_zone) z
where p.deleted_at is null
union all
select 'kwiga',
       p.cabinet,
       p.payment_id,
       p.order_id,
       null::bigint,
       p.status,
       p.status_code,
       p.status_title,
       p.status_code = 'paid',
       p.status_code = 'refunded',
       p.amount,
       p.currency_code,
       coalesce(p.payment_form_title, p.payment_type_title),
       p.created_at,
       p.paid_at,
       (p.created_at at time zone z.time_zone)::date,
       z.time_zone,
       c.email
from kwiga.payments p
left join etl.accounts a on a.source = 'kwiga' and a.account = p.cabinet
cross join lateral (select coalesce(a.time_zone, 'Europe/Kyiv') as time_zone) z
left join kwiga.orders o on o.cabinet = p.cabinet and o.order_id = p.order_id
left join kwiga.contacts c on c.cabinet = o.cabinet and c.contact_id = o.contact_id
where c.deleted_at is null;

comment on view analytics.payments is
'One row per payment: GetCourse payments (matched to their deal on the deal number) and KWIGA payments of orders. '
'`status` as sent (GetCourse label, KWIGA id or slug), `status_code` canonical (GetCourse expected, accepted, returned, tobalance, …; KWIGA pending, paid, '
'failed, refunded; NULL when unknown), `status_title` the label. `is_received` = money arrived and was not refunded; `is_refunded` = refunded afterwards. '
'`paid_at`: KWIGA''s paid_at; GetCourse has no separate payment date, so its created_at when the payment was received or refunded. `created_day` in the '
'account''s `time_zone`. GetCourse payment currency falls back to the deal''s. `payment_system`: GetCourse payment type, KWIGA payment form. '
'Rows deleted upstream are left out.';

create view analytics.people as
with gc_first_deal as (
  select distinct on (account, user_id) account, user_id, utm_source, utm_medium, utm_campaign, created_at
  from getcourse.deals
  where user_id is not null and deleted_at is null and not is_test
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
  where user_id is not null and deleted_at is null and not is_test
  group by account, user_id
),
kw_orders as (
  select cabinet, contact_id,
         count(*) as orders,
         count(*) filter (where paid_status_code in ('paid', 'partially_paid')) as paid_orders,
         min(created_at) as first_order_at,
         min(coalesce(first_paid_at, paid_at)) filter (where paid_status_code in ('paid', 'partially_paid', 'refunded')) as first_paid_at
  from kwiga.orders
  group by cabinet, contact_id
),
kw_utm as (
  select c.cabinet, c.contact_id, c.created_at, c.first_visit,
         nullif(c.first_visit ->> 'utm_source', '') as fv_source,
         nullif(c.first_visit ->> 'utm_medium', '') as fv_medium,
         nullif(c.first_visit ->> 'utm_campaign', '') as fv_campaign,
         case when c.first_visit ->> 'created_at' ~ '^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}' then (c.first_visit ->> 'created_at')::timestamptz end as fv_at,
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
'(contact). NULL when no UTM is known. `orders` / `paid_orders` / `first_order_at` / `first_paid_at` from GetCourse deals (test deals left out) / KWIGA orders '
'(a later refund does not undo first_paid_at). The same person in both sources: see analytics.person_links. Rows deleted upstream are left out.';

-- Funnel: lead → order → paid -------------------------------------------------------------------------

create view analytics.order_funnel as
with gc_paid as (
  select account, deal_id, min(seen_from) as at from getcourse.deal_status_history
  where status_code in ('payed', 'part_payed') group by account, deal_id
),
kw_paid as (
  select cabinet, order_id, min(seen_from) as at from kwiga.order_status_history
  where status_code in ('paid', 'partially_paid') group by cabinet, order_id
),
o as (
  select 'getcourse'::text as source, d.account, d.id as order_id, d.user_id as buyer_id, u.created_at as lead_at, d.created_at as order_at,
         p.at as paid_at, d.status_code
  from getcourse.deals d
  left join getcourse.users u on u.account = d.account and u.id = d.user_id
  left join gc_paid p on p.account = d.account and p.deal_id = d.id
  where d.deleted_at is null and not d.is_test
  union all
  select 'kwiga', o.cabinet, o.order_id, o.contact_id, c.created_at, o.created_at, p.at, o.paid_status_code
  from kwiga.orders o
  left join kwiga.contacts c on c.cabinet = o.cabinet and c.contact_id = o.contact_id
  left join kw_paid p on p.cabinet = o.cabinet and p.order_id = o.order_id
  where c.deleted_at is null
)
select o.source, o.account, z.time_zone, o.order_id, o.buyer_id, o.status_code,
       o.lead_at, o.order_at, o.paid_at,
       (o.lead_at at time zone z.time_zone)::date as lead_day,
       (o.order_at at time zone z.time_zone)::date as order_day,
       (o.paid_at at time zone z.time_zone)::date as paid_day,
       date_trunc('month', o.order_at at time zone z.time_zone)::date as order_month,
       round((extract(epoch from o.order_at - o.lead_at) / 3600)::numeric, 2) as hours_lead_to_order,
       round((extract(epoch from o.paid_at - o.order_at) / 3600)::numeric, 2) as hours_order_to_paid
from o
left join etl.accounts a on a.source = o.source and a.account = o.account
cross join lateral (select coalesce(a.time_zone, case o.source when 'kwiga' then 'Europe/Kyiv' else 'Europe/Moscow' end) as time_zone) z;

comment on view analytics.order_funnel is
'One row per order (GetCourse deal, test deals left out; KWIGA order) with its lead → order → paid times: `lead_at` when the buyer (GetCourse user / KWIGA contact) '
'was created, `order_at` when the order was, `paid_at` the start of the first status-history period in a paid status (GetCourse payed or part_payed, '
'KWIGA paid or partially_paid; getcourse.deal_status_history / kwiga.order_status_history), NULL if never seen paid. Days and `order_month` are local to the '
'account''s `time_zone`; `hours_*` are the conversion times. "Deals created in March paid within 14 days": '
'count(*) filter (where paid_at < order_at + interval ''14 days'') where order_month = ''2025-03-01''.';

create view analytics.funnel_monthly as
with leads as (
  select 'getcourse'::text as source, account, id as buyer_id, created_at from getcourse.users where deleted_at is null
  union all
  select 'kwiga', cabinet, contact_id, created_at from kwiga.contacts where deleted_at is null
),
firsts as (
  select source, account, buyer_id, min(order_at) as first_order_at, min(paid_at) as first_paid_at
  from analytics.order_funnel where buyer_id is not null group by source, account, buyer_id
),
per_lead as (
  select l.source, l.account, z.time_zone, l.created_at,
         date_trunc('month', l.created_at at time zone z.time_zone)::date as month,
         f.first_order_at, f.first_paid_at
  from leads l
  left join firsts f on f.source = l.source and f.account = l.account and f.buyer_id = l.buyer_id
  left join etl.accounts a on a.source = l.source and a.account = l.account
  cross join lateral (select coalesce(a.time_zone, case l.source when 'kwiga' then 'Europe/Kyiv' else 'Europe/Moscow' end) as time_zone) z
  where l.created_at is not null
)
select source, account, time_zone, month,
       count(*) as leads,
       count(first_order_at) as ordered,
       count(first_paid_at) as paid,
       round(100.0 * count(first_order_at) / count(*), 1) as lead_to_order_pct,
       round(100.0 * count(first_paid_at) / nullif(count(first_order_at), 0), 1) as order_to_paid_pct,
       round((percentile_cont(0.5) within group (order by extract(epoch from first_order_at - created_at) / 3600))::numeric, 2) as median_hours_to_order,
       round((percentile_cont(0.5) within group (order by extract(epoch from first_paid_at - first_order_at) / 3600))::numeric, 2) as median_hours_order_to_paid
from per_lead
group by source, account, time_zone, month;

comment on view analytics.funnel_monthly is
'One row per source, account and month in which leads were created (GetCourse users / KWIGA contacts, month local to the account''s `time_zone`): `leads` created, '
'`ordered` those with an order (ever), `paid` those with an order seen paid (analytics.order_funnel), the conversion percentages, and the median hours from lead '
'to first order and from first order to first paid status.';

-- Cohorts ---------------------------------------------------------------------------------------------

create view analytics.cohort_retention as
with purchases as (
  select distinct source, account, time_zone, buyer_id, date_trunc('month', day)::date as month
  from analytics.revenue_events
  where event = 'payment' and buyer_id is not null and day is not null
),
firsts as (
  select source, account, buyer_id, min(month) as cohort_month from purchases group by source, account, buyer_id
),
sizes as (
  select source, account, cohort_month, count(*) as cohort_size from firsts group by source, account, cohort_month
)
select p.source, p.account, p.time_zone, f.cohort_month, p.month as purchase_month,
       ((extract(year from p.month) - extract(year from f.cohort_month)) * 12 + extract(month from p.month) - extract(month from f.cohort_month))::int as months_since_first,
       s.cohort_size,
       count(*) as customers,
       round(100.0 * count(*) / s.cohort_size, 1) as retention_pct
from purchases p
join firsts f on f.source = p.source and f.account = p.account and f.buyer_id = p.buyer_id
join sizes s on s.source = f.source and s.account = f.account and s.cohort_month = f.cohort_month
group by p.source, p.account, p.time_zone, f.cohort_month, p.month, s.cohort_size;

comment on view analytics.cohort_retention is
'One row per source, account, cohort month (the month of a buyer''s first purchase) and purchase month: `customers` of the cohort who bought in that month, '
'`cohort_size`, `retention_pct` = 100 × customers / cohort_size, `months_since_first` (0 = the cohort''s own month). A purchase is a payment event of '
'analytics.revenue_events (money received; test deals left out); months are local to the account''s `time_zone`. Buyer: GetCourse user / KWIGA contact.';

-- One person across both sources -----------------------------------------------------------------------

create view analytics.person_links as
with recs as (
  select 'getcourse'::text as source, account, id as record_id, email, phone,
         nullif(concat_ws(' ', nullif(first_name, ''), nullif(last_name, '')), '') as name, created_at
  from getcourse.users where deleted_at is null
  union all
  select 'kwiga', cabinet, contact_id, email, coalesce(phone, phone_number),
         coalesce(nullif(name, ''), nullif(concat_ws(' ', nullif(first_name, ''), nullif(last_name, '')), '')), created_at
  from kwiga.contacts where deleted_at is null
),
norm as (
  select r.*,
         case when btrim(r.email) ~ '^[^@[:space:]]+@[^@[:space:]]+$' then lower(btrim(r.email)) end as email_norm,
         etl.normalize_phone(r.phone) as phone_norm
  from recs r
),
phone_email as (
  select distinct on (phone_norm) phone_norm, email_norm
  from norm where phone_norm is not null and email_norm is not null
  order by phone_norm, created_at nulls last, source, account, record_id
),
keyed as (
  select n.*,
         case when n.email_norm is not null then 'email:' || n.email_norm
              when pe.email_norm is not null then 'email:' || pe.email_norm
              when n.phone_norm is not null then 'phone:' || n.phone_norm
              else n.source || ':' || n.account || ':' || n.record_id end as person_key,
         case when n.email_norm is not null then 'email'
              when pe.email_norm is not null then 'phone, then email'
              when n.phone_norm is not null then 'phone'
              else 'none' end as matched_by
  from norm n
  left join phone_email pe on n.email_norm is null and pe.phone_norm = n.phone_norm
)
select source, account, record_id, name, email, phone, email_norm, phone_norm, person_key, matched_by,
       count(*) over w as records,
       bool_or(source = 'getcourse') over w as in_getcourse,
       bool_or(source = 'kwiga') over w as in_kwiga
from keyed
window w as (partition by person_key);

comment on view analytics.person_links is
'One row per GetCourse user and KWIGA contact with the person it belongs to (`person_key`). Match rule (`matched_by`): records with the same normalized email '
'are one person (email: lower-cased, trimmed, must look like a@b); a record without a usable email takes the email person of the earliest record with the same '
'normalized phone (phone, then email), else is keyed by the phone alone (phone); else it is a person of its own (none). Phones are normalized by '
'etl.normalize_phone (digits, 8… → 7…, 0… → 380…, 10–15 digits). `records` counts the person''s records; `in_getcourse` / `in_kwiga` say where the person is.';

create view analytics.persons as
select person_key,
       min(matched_by) filter (where matched_by <> 'none') as matched_by,
       (array_agg(email_norm order by email_norm) filter (where email_norm is not null))[1] as email,
       (array_agg(phone_norm order by phone_norm) filter (where phone_norm is not null))[1] as phone,
       (array_agg(name order by source, account, record_id) filter (where name is not null))[1] as name,
       count(*) filter (where source = 'getcourse') as getcourse_records,
       count(*) filter (where source = 'kwiga') as kwiga_records,
       bool_or(source = 'getcourse') and bool_or(source = 'kwiga') as in_both,
       array_agg(source || ':' || account || ':' || record_id order by source, account, record_id) as records
from analytics.person_links
group by person_key;

comment on view analytics.persons is
'One row per person across both sources (analytics.person_links, same match rule): the normalized email and phone, a name, how many GetCourse users and KWIGA '
'contacts it has, `in_both` when it is in both sources, and `records` as source:account:id.';
