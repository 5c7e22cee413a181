-- The statement triggers of 0006 (status history, custom-field values) joined each statement's new
-- rows with the whole history / value table. The planner works from statistics taken before the
-- load (a table growing under a load is not analyzed again until autovacuum gets to it), and took a
-- hash join over every open history row for every batch: 190 ms per 5,000 deals at 295k deals, a
-- load quadratic in the table's size (bench/RESULTS.md, finding 12). The same functions, written so
-- that each new row probes the table's index: LATERAL … LIMIT 1 / OFFSET 0 subqueries cannot be
-- turned into joins, and rows are changed by their ctid. Behaviour is unchanged.

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
      create or replace function %1$I.%10$I() returns trigger language plpgsql as $body$
      declare
        r record;
      begin
        -- Close the open period of every row whose status changed (an index probe per new row).
        for r in
          select o.tid, greatest(case when %9$s > o.seen_from and %9$s <= now() then %9$s else now() end,
                                 o.seen_from + interval '1 microsecond') as at
          from new_rows n
          cross join lateral (
            select h.ctid as tid, h.seen_from, h.status, h.status_code from %1$I.%3$I h
            where h.%4$I = n.%4$I and h.%6$I = n.%5$I and h.seen_to is null limit 1) o
          where n.%7$I is not null and coalesce(n.%8$I, n.%7$I) is distinct from coalesce(o.status_code, o.status)
        loop
          update %1$I.%3$I set seen_to = r.at where ctid = r.tid and seen_to is null;
        end loop;
        -- Open a period for every row without one: new rows, and those just closed (from their end).
        insert into %1$I.%3$I (%4$I, %6$I, status, status_code, seen_from)
        select n.%4$I, n.%5$I, n.%7$I, n.%8$I,
               coalesce((select max(h.seen_to) from %1$I.%3$I h where h.%4$I = n.%4$I and h.%6$I = n.%5$I),
                        least(coalesce(%9$s, now()), now()))
        from new_rows n
        left join lateral (
          select true as open from %1$I.%3$I h where h.%4$I = n.%4$I and h.%6$I = n.%5$I and h.seen_to is null limit 1) o on true
        where n.%7$I is not null and o.open is null;
        return null;
      end $body$$f$, t.sch, t.tbl, t.hist, t.acc, t.id_col, t.hist_id, t.st, t.code, t.changed, t.hist || '_write');
  end loop;
end $gen$;

do $gen$
declare
  t record;
begin
  for t in
    select * from (values ('users', 'user_field_values', 'user_id', 'user'), ('deals', 'deal_field_values', 'deal_id', 'deal')) as v(tbl, vals, id_col, ctx)
  loop
    execute format($f$
      create or replace function getcourse.%5$I() returns trigger language plpgsql as $body$
      begin
        with m as materialized (
          select account, title, field_id from getcourse.field_title_map
          where context_type = %4$L and account in (select distinct account from new_rows)),
        d as materialized (
          select n.account, n.id, m.title from new_rows n join m on m.account = n.account
          where jsonb_typeof(n.extra -> m.title) not in ('null', 'object', 'array') and n.extra ->> m.title <> '')
        delete from getcourse.%2$I v
        where v.ctid = any (array(
          select x.tid from new_rows n
          cross join lateral (select y.ctid as tid, y.title from getcourse.%2$I y where y.account = n.account and y.%3$I = n.id offset 0) x
          where not exists (select 1 from d where d.account = n.account and d.id = n.id and d.title = x.title)));
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
  end loop;
end $gen$;

create or replace function kwiga.contact_field_values_write() returns trigger language plpgsql as $$
begin
  delete from kwiga.contact_field_values v
  where v.ctid = any (array(
    select x.tid from new_rows n
    cross join lateral (select y.ctid as tid from kwiga.contact_field_values y where y.cabinet = n.cabinet and y.contact_id = n.contact_id offset 0) x
    where jsonb_typeof(n.raw -> 'additional_fields') = 'array'));
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
