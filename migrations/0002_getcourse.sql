-- GetCourse warehouse (docs: shared/reference/getcourse-export-api.md §4) and the bookkeeping that
-- keeps every process within the account's export rules (§3.4): one export forming at a time, and
-- at most `budget.requests − budget.reserve` Export-API requests per rolling window.
-- Every key starts with `account` (our configured account name). Dates are timestamptz converted
-- from the account's wall clock; money is numeric; every column we do not type lives in `extra`
-- under its export title.
create schema if not exists getcourse;

create table getcourse.users (
  account           text   not null,
  id                bigint not null,
  email             text,
  registration_type text,
  created_at        timestamptz,
  last_activity_at  timestamptz,
  first_name        text,
  last_name         text,
  phone             text,
  birthday          date,
  age               integer,
  country           text,
  city              text,
  from_partner      text,
  came_from         text,
  utm_source        text,
  utm_medium        text,
  utm_campaign      text,
  utm_term          text,
  utm_content       text,
  utm_group         text,
  partner_id        bigint,
  partner_email     text,
  partner_name      text,
  manager_name      text,
  vk_id             text,
  extra             jsonb not null default '{}',
  synced_at         timestamptz not null default now(),
  primary key (account, id)
);
create index users_created_idx on getcourse.users (account, created_at);
create index users_email_idx on getcourse.users (account, lower(email));

create table getcourse.groups (
  account       text   not null,
  id            bigint not null,
  name          text,
  last_added_at timestamptz,
  extra         jsonb not null default '{}',
  synced_at     timestamptz not null default now(),
  primary key (account, id)
);

create table getcourse.group_members (
  account         text   not null,
  group_id        bigint not null,
  user_id         bigint not null,
  added_at        timestamptz,
  email           text,
  first_name      text,
  last_name       text,
  phone           text,
  user_created_at timestamptz,
  extra           jsonb not null default '{}',
  synced_at       timestamptz not null default now(),
  primary key (account, group_id, user_id)
);
create index group_members_user_idx on getcourse.group_members (account, user_id);

create table getcourse.deals (
  account             text   not null,
  id                  bigint not null,
  number              bigint,
  user_id             bigint,
  user_name           text,
  user_email          text,
  user_phone          text,
  created_at          timestamptz,
  paid_at             timestamptz,
  title               text,
  status              text,
  status_code         text,
  cost                numeric,
  currency            text,
  paid                numeric,
  commission          numeric,
  received            numeric,
  tax                 numeric,
  net_amount          numeric,
  other_fees          numeric,
  earned              numeric,
  manager             text,
  city                text,
  country             text,
  payment_system      text,
  partner_id          bigint,
  promo_code          text,
  promo_action        text,
  order_partner_id    bigint,
  order_partner_email text,
  order_partner_name  text,
  user_partner_id     bigint,
  user_partner_email  text,
  user_partner_name   text,
  utm_source          text,
  utm_medium          text,
  utm_campaign        text,
  utm_term            text,
  utm_content         text,
  utm_group           text,
  tags                text[] not null default '{}',
  offer_tags          text[] not null default '{}',
  changed_at          timestamptz,
  status_changed_at   timestamptz,
  is_paid             boolean,
  is_free             boolean,
  refusal_reason      text,
  extra               jsonb not null default '{}',
  synced_at           timestamptz not null default now(),
  primary key (account, id)
);
create index deals_user_idx on getcourse.deals (account, user_id);
create index deals_created_idx on getcourse.deals (account, created_at);
create index deals_number_idx on getcourse.deals (account, number);

create table getcourse.payments (
  account     text   not null,
  id          bigint not null,
  user_name   text,
  email       text,
  -- `Заказ` is the deal *number* (getcourse.deals.number), not its id (§4.4).
  deal_number bigint,
  created_at  timestamptz,
  type        text,
  status      text,
  status_code text,
  amount      numeric,
  commission  numeric,
  received    numeric,
  currency    text,
  code        text,
  title       text,
  extra       jsonb not null default '{}',
  synced_at   timestamptz not null default now(),
  primary key (account, id)
);
create index payments_deal_idx on getcourse.payments (account, deal_number);

-- Additional-fields dictionary (§5.2).
create table getcourse.fields (
  account         text   not null,
  id              bigint not null,
  title           text,
  type            text,
  context_type    text,
  required        boolean,
  field_order_pos integer,
  extra           jsonb not null default '{}',
  synced_at       timestamptz not null default now(),
  primary key (account, id)
);

-- One row per account: the row every budget reservation locks (`select … for update`), and the
-- window GetCourse declared spent with a 903 answer.
create table etl.getcourse_budget (
  account       text primary key,
  blocked_until timestamptz,
  blocked_note  text,
  updated_at    timestamptz not null default now()
);

-- Every Export-API request, written and committed before it is sent.
create table etl.getcourse_requests (
  id         bigserial primary key,
  account    text        not null,
  sent_at    timestamptz not null,
  kind       text        not null check (kind in ('start', 'poll', 'groups', 'fields')),
  stream     text,
  export_id  bigint,
  error_code integer
);
create index getcourse_requests_window_idx on etl.getcourse_requests (account, sent_at);

-- The single export slot of an account, as we use it: taken before a start, renewed while
-- polling, released when the export is ready or failed. A lease of a dead run expires.
create table etl.getcourse_leases (
  account     text primary key,
  holder      text        not null,
  run_id      bigint,
  stream      text,
  export_id   bigint,
  acquired_at timestamptz not null,
  expires_at  timestamptz not null
);

-- Every export we started. `pending` ones are collected by the next run instead of starting anew.
create table etl.getcourse_exports (
  account         text        not null,
  export_id       bigint      not null,
  stream          text        not null,
  group_id        bigint,
  filters         jsonb       not null,
  filter_field    text        not null,
  window_from     date,
  window_to       date,
  started_at      timestamptz not null,
  first_wait_ms   integer,
  last_pending_at timestamptz,
  ready_at        timestamptz,
  loaded_at       timestamptz,
  status          text        not null default 'pending' check (status in ('pending', 'ready', 'loaded', 'failed')),
  rows            integer,
  requests        integer     not null default 1,
  error           text,
  run_id          bigint,
  primary key (account, export_id)
);
create index getcourse_exports_open_idx on etl.getcourse_exports (account, status) where status in ('pending', 'ready');
create index getcourse_exports_history_idx on etl.getcourse_exports (account, stream, ready_at desc) where ready_at is not null;
