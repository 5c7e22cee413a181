-- KWIGA warehouse (docs: shared/reference/kwiga-api.md §6). Every key starts with `cabinet` (our
-- configured cabinet name: the API never returns a cabinet id). Ids are bigint, money is numeric,
-- enums keep `<name>_id` (text: some enum ids are strings) and `<name>_label`. `raw` is the item as
-- received, minus nested sets that have their own table.
create schema if not exists kwiga;

-- Dimensions (full refresh each run) ---------------------------------------------------------------

create table kwiga.timezones (
  cabinet     text   not null,
  timezone_id bigint not null,
  name        text,
  name_full   text,
  value       text,
  raw         jsonb  not null,
  synced_at   timestamptz not null default now(),
  primary key (cabinet, timezone_id)
);

create table kwiga.products (
  cabinet          text   not null,
  product_id       bigint not null,
  productable_type text,
  productable_id   bigint,
  title            text,
  link             text,
  raw              jsonb  not null,
  synced_at        timestamptz not null default now(),
  primary key (cabinet, product_id)
);

create table kwiga.offers (
  cabinet                 text   not null,
  offer_id                bigint not null,
  unique_offer_code       text,
  url                     text,
  title                   text,
  description             text,
  short_description       text,
  price_type_id           text,
  price_type_label        text,
  price_amount            numeric,
  price_currency          text,
  price_discounted_amount numeric,
  limit_type_id           text,
  limit_type_label        text,
  limit_of_sales          integer,
  is_active               boolean,
  is_draft                boolean,
  has_subscription        boolean,
  validity_start_at       timestamptz,
  validity_end_at         timestamptz,
  discount_id             bigint,
  discount_start_at       timestamptz,
  discount_end_at         timestamptz,
  raw                     jsonb  not null,
  synced_at               timestamptz not null default now(),
  primary key (cabinet, offer_id)
);

create table kwiga.offer_products (
  cabinet    text   not null,
  offer_id   bigint not null,
  product_id bigint not null,
  title      text,
  synced_at  timestamptz not null default now(),
  primary key (cabinet, offer_id, product_id),
  foreign key (cabinet, offer_id) references kwiga.offers on delete cascade
);

create table kwiga.courses (
  cabinet      text   not null,
  course_id    bigint not null,
  product_id   bigint,
  type_id      text,
  type_label   text,
  title        text,
  slug         text,
  link         text,
  status_id    text,
  status_label text,
  preview_url  text,
  raw          jsonb  not null,
  synced_at    timestamptz not null default now(),
  primary key (cabinet, course_id)
);

create table kwiga.course_offers (
  cabinet   text   not null,
  course_id bigint not null,
  offer_id  bigint not null,
  title     text,
  synced_at timestamptz not null default now(),
  primary key (cabinet, course_id, offer_id),
  foreign key (cabinet, course_id) references kwiga.courses on delete cascade
);

create table kwiga.coupons (
  cabinet              text   not null,
  coupon_id            bigint not null,
  code                 text,
  reward               numeric,
  is_fixed             boolean,
  is_active            boolean,
  is_disposable        boolean,
  used_amount          integer,
  total_uses           integer,
  total_uses_per_user  integer,
  type_discount_id     text,
  type_discount_label  text,
  type_date_expired_id text,
  type_id              text,
  type_label           text,
  expires_at           timestamptz,
  timezone_id          bigint,
  currency_id          bigint,
  currency_code        text,
  contact_id           bigint,
  user_id              bigint,
  created_at           timestamptz,
  updated_at           timestamptz,
  deleted_at           timestamptz,
  raw                  jsonb  not null,
  synced_at            timestamptz not null default now(),
  primary key (cabinet, coupon_id)
);
create index coupons_created_idx on kwiga.coupons (cabinet, created_at);

create table kwiga.contact_lists (
  cabinet        text   not null,
  list_id        bigint not null,
  title          text,
  description    text,
  is_default     boolean,
  is_active      boolean,
  is_segment     boolean,
  contacts_count integer,
  created_at     timestamptz,
  updated_at     timestamptz,
  raw            jsonb  not null,
  synced_at      timestamptz not null default now(),
  primary key (cabinet, list_id)
);

create table kwiga.contact_list_members (
  cabinet    text   not null,
  list_id    bigint not null,
  contact_id bigint not null,
  email      text,
  synced_at  timestamptz not null default now(),
  primary key (cabinet, list_id, contact_id),
  foreign key (cabinet, list_id) references kwiga.contact_lists on delete cascade
);

-- Contacts and everything nested in them (orders, payments and transactions have no endpoint) -----

create table kwiga.contacts (
  cabinet          text   not null,
  contact_id       bigint not null,
  user_id          bigint,
  email            text,
  first_name       text,
  middle_name      text,
  last_name        text,
  name             text,
  phone            text,
  phone_number     text,
  phone_country    text,
  crm_link         text,
  created_at       timestamptz,
  last_activity_at timestamptz,
  utm              jsonb,
  first_visit      jsonb,
  raw              jsonb  not null,
  synced_at        timestamptz not null default now(),
  primary key (cabinet, contact_id)
);
create index contacts_activity_idx on kwiga.contacts (cabinet, last_activity_at);

create table kwiga.tags (
  cabinet   text   not null,
  tag_id    bigint not null,
  name      text,
  synced_at timestamptz not null default now(),
  primary key (cabinet, tag_id)
);

create table kwiga.contact_tags (
  cabinet    text   not null,
  contact_id bigint not null,
  tag_id     bigint not null,
  synced_at  timestamptz not null default now(),
  primary key (cabinet, contact_id, tag_id),
  foreign key (cabinet, contact_id) references kwiga.contacts on delete cascade
);

create table kwiga.contact_offers (
  cabinet           text   not null,
  contact_id        bigint not null,
  offer_id          bigint not null,
  unique_offer_code text,
  title             text,
  synced_at         timestamptz not null default now(),
  primary key (cabinet, contact_id, offer_id),
  foreign key (cabinet, contact_id) references kwiga.contacts on delete cascade
);

create table kwiga.orders (
  cabinet           text   not null,
  order_id          bigint not null,
  contact_id        bigint not null,
  type_id           text,
  paid_status       text,
  paid_status_title text,
  first_paid_at     timestamptz,
  paid_at           timestamptz,
  created_at        timestamptz,
  updated_at        timestamptz,
  cost_amount       numeric,
  cost_currency     text,
  order_stage_id    bigint,
  order_stage_title text,
  crm_url           text,
  raw               jsonb  not null,
  synced_at         timestamptz not null default now(),
  primary key (cabinet, order_id),
  foreign key (cabinet, contact_id) references kwiga.contacts on delete cascade
);
create index orders_contact_idx on kwiga.orders (cabinet, contact_id);

create table kwiga.order_products (
  cabinet          text   not null,
  order_id         bigint not null,
  product_id       bigint not null,
  productable_type text,
  productable_id   bigint,
  title            text,
  synced_at        timestamptz not null default now(),
  primary key (cabinet, order_id, product_id),
  foreign key (cabinet, order_id) references kwiga.orders on delete cascade
);

create table kwiga.payments (
  cabinet             text   not null,
  payment_id          bigint not null,
  order_id            bigint not null,
  status              text,
  status_title        text,
  payment_type        text,
  payment_type_title  text,
  payment_form        text,
  payment_form_title  text,
  purchase_type       text,
  purchase_type_title text,
  amount              numeric,
  currency_code       text,
  paid_at             timestamptz,
  created_at          timestamptz,
  updated_at          timestamptz,
  raw                 jsonb  not null,
  synced_at           timestamptz not null default now(),
  primary key (cabinet, payment_id),
  foreign key (cabinet, order_id) references kwiga.orders on delete cascade
);
create index payments_order_idx on kwiga.payments (cabinet, order_id);

create table kwiga.transactions (
  cabinet               text   not null,
  transaction_id        bigint not null,
  payment_id            bigint not null,
  order_id              bigint,
  merchant_id           bigint,
  payment_system_status text,
  failure_reason        text,
  price                 numeric,
  currency_code         text,
  payer_account         text,
  card_mask             text,
  rrn                   text,
  fee                   numeric,
  created_at            timestamptz,
  raw                   jsonb  not null,
  synced_at             timestamptz not null default now(),
  primary key (cabinet, transaction_id),
  foreign key (cabinet, payment_id) references kwiga.payments on delete cascade
);
create index transactions_payment_idx on kwiga.transactions (cabinet, payment_id);

create table kwiga.certificates (
  cabinet              text   not null,
  certificate_id       bigint not null,
  contact_id           bigint not null,
  uuid                 text,
  number               text,
  user_id              bigint,
  link                 text,
  issued_at            timestamptz,
  finished_at          timestamptz,
  points               integer,
  certificateble_type  text,
  certificateble_title text,
  template_id          bigint,
  raw                  jsonb  not null,
  synced_at            timestamptz not null default now(),
  primary key (cabinet, certificate_id),
  foreign key (cabinet, contact_id) references kwiga.contacts on delete cascade
);
create index certificates_contact_idx on kwiga.certificates (cabinet, contact_id);

-- Products a contact has access to (`GET /contacts/:id/products`, one call per contact) ------------

create table kwiga.contact_products (
  cabinet              text   not null,
  contact_id           bigint not null,
  product_id           bigint not null,
  productable_type     text,
  productable_id       bigint,
  title                text,
  image_url            text,
  is_published         boolean,
  is_active            boolean,
  is_paid              boolean,
  start_at             timestamptz,
  end_at               timestamptz,
  offer_end_at         timestamptz,
  order_end_at         timestamptz,
  count_available_days integer,
  count_left_days      integer,
  state_id             text,
  state_label          text,
  raw                  jsonb  not null,
  synced_at            timestamptz not null default now(),
  primary key (cabinet, contact_id, product_id)
);

create table kwiga.product_subscriptions (
  cabinet         text   not null,
  subscription_id bigint not null,
  contact_id      bigint not null,
  product_id      bigint,
  user_id         bigint,
  order_id        bigint,
  offer_id        bigint,
  creator_id      bigint,
  is_active       boolean,
  start_at        timestamptz,
  end_at          timestamptz,
  order_end_at    timestamptz,
  paid_at         timestamptz,
  created_at      timestamptz,
  updated_at      timestamptz,
  raw             jsonb  not null,
  synced_at       timestamptz not null default now(),
  primary key (cabinet, subscription_id)
);
create index product_subscriptions_contact_idx on kwiga.product_subscriptions (cabinet, contact_id);

-- Which contacts need `/contacts/:id/products`: the contacts stream writes a fingerprint of each
-- contact it reads; contact_products calls the ones whose fingerprint moved, plus a rolling sweep.
create table kwiga.contact_product_checks (
  cabinet      text   not null,
  contact_id   bigint not null,
  contact_hash text   not null,
  checked_hash text,
  checked_at   timestamptz,
  synced_at    timestamptz not null default now(),
  primary key (cabinet, contact_id)
);
create index contact_product_checks_sweep_idx on kwiga.contact_product_checks (cabinet, checked_at nulls first, contact_id);

-- Course participants, the program tree and progress (§5) -----------------------------------------

create table kwiga.course_users (
  cabinet                       text   not null,
  course_id                     bigint not null,
  user_id                       bigint not null,
  contact_id                    bigint,
  user_name                     text,
  user_email                    text,
  course_points                 numeric,
  lessons_available_count       integer,
  is_full_access                boolean,
  lessons_count                 integer,
  lessons_count_viewed          integer,
  lessons_viewed_percentage     numeric,
  lessons_count_completed       integer,
  lessons_completion_percentage numeric,
  quizzes_count                 integer,
  quizzes_count_completed       integer,
  quizzes_completion_percentage numeric,
  scores_max                    numeric,
  quizzes_scores                numeric,
  product_scores                numeric,
  scores                        numeric,
  is_completed                  boolean,
  completed_at                  timestamptz,
  last_active_at                timestamptz,
  current_lesson_id             bigint,
  next_lesson_id                bigint,
  current_dripping_date         timestamptz,
  next_dripping_date            timestamptz,
  subscription_is_active        boolean,
  subscription_is_paid          boolean,
  subscription_start_at         timestamptz,
  subscription_end_at           timestamptz,
  subscription_state_id         text,
  subscription_state_label      text,
  raw                           jsonb  not null,
  synced_at                     timestamptz not null default now(),
  primary key (cabinet, course_id, user_id)
);
create index course_users_contact_idx on kwiga.course_users (cabinet, contact_id);

-- One row per program node; progress joins on (course_id, nodeble_type, nodeble_id).
create table kwiga.course_nodes (
  cabinet            text   not null,
  course_id          bigint not null,
  node_id            bigint not null,
  parent_node_id     bigint,
  position           integer,
  depth              integer not null,
  nodeble_type       text,
  nodeble_id         bigint,
  title              text,
  slug               text,
  ancestor_lesson_id bigint,
  quiz_ids           bigint[] not null default '{}',
  raw                jsonb  not null,
  synced_at          timestamptz not null default now(),
  primary key (cabinet, course_id, node_id)
);
create index course_nodes_nodeble_idx on kwiga.course_nodes (cabinet, course_id, nodeble_type, nodeble_id);

create table kwiga.lesson_progress (
  cabinet              text   not null,
  course_id            bigint not null,
  user_id              bigint not null,
  lesson_id            bigint not null,
  node_id              bigint,
  is_watched           boolean,
  is_completed         boolean,
  quizzing_status_id   text,
  quizzing_status_slug text,
  watching_start_at    timestamptz,
  watching_end_at      timestamptz,
  quizzing_start_at    timestamptz,
  quizzing_end_at      timestamptz,
  completed_at         timestamptz,
  created_at           timestamptz,
  updated_at           timestamptz,
  synced_at            timestamptz not null default now(),
  primary key (cabinet, course_id, user_id, lesson_id),
  foreign key (cabinet, course_id, user_id) references kwiga.course_users on delete cascade
);

create table kwiga.module_progress (
  cabinet              text   not null,
  course_id            bigint not null,
  user_id              bigint not null,
  module_id            bigint not null,
  node_id              bigint,
  is_watched           boolean,
  is_completed         boolean,
  quizzing_status_id   text,
  quizzing_status_slug text,
  watching_start_at    timestamptz,
  watching_end_at      timestamptz,
  quizzing_start_at    timestamptz,
  quizzing_end_at      timestamptz,
  completed_at         timestamptz,
  created_at           timestamptz,
  updated_at           timestamptz,
  synced_at            timestamptz not null default now(),
  primary key (cabinet, course_id, user_id, module_id),
  foreign key (cabinet, course_id, user_id) references kwiga.course_users on delete cascade
);

-- Keyed by (lesson, quiz): one quiz can sit in several lessons of a course (§5).
create table kwiga.quiz_progress (
  cabinet          text   not null,
  course_id        bigint not null,
  user_id          bigint not null,
  course_lesson_id bigint not null,
  quiz_id          bigint not null,
  node_id          bigint,
  status_id        text,
  status_slug      text,
  scores           numeric,
  scores_max       numeric,
  started_at       timestamptz,
  finished_at      timestamptz,
  checked_at       timestamptz,
  last_activity_at timestamptz,
  attempt_number   integer,
  synced_at        timestamptz not null default now(),
  primary key (cabinet, course_id, user_id, course_lesson_id, quiz_id),
  foreign key (cabinet, course_id, user_id) references kwiga.course_users on delete cascade
);
