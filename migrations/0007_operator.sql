-- Operator experience (issue 16): source schema drift and the mark `status --check` keeps between checks.

-- Column titles (GetCourse exports) and item fields (KWIGA answers) as first seen, per account and scope.
create table etl.schema_changes (
  id            bigserial primary key,
  source        text        not null,
  account       text        not null,
  stream        text        not null,
  scope         text        not null,
  name          text        not null,
  baseline      boolean     not null default false,
  first_seen_at timestamptz not null default now(),
  run_id        bigint references etl.runs (id) on delete set null,
  unique (source, account, scope, name)
);
create index schema_changes_new_idx on etl.schema_changes (first_seen_at desc) where not baseline;

comment on table etl.schema_changes is 'Every GetCourse column title and KWIGA item field seen so far, per account and scope; rows with baseline = false appeared after the first read of their scope (a source schema change), logged once and shown by `status`.';
comment on column etl.schema_changes.id is 'Surrogate key, in the order names were first seen.';
comment on column etl.schema_changes.source is 'Source that sent the name: getcourse or kwiga.';
comment on column etl.schema_changes.account is 'Our account / cabinet name (config `name`).';
comment on column etl.schema_changes.stream is 'Stream whose read first saw the name.';
comment on column etl.schema_changes.scope is 'What the name belongs to: a GetCourse export (`users`, `deals` …) or a KWIGA endpoint path with ids as :id (`/contacts`, `/courses/:id/users`).';
comment on column etl.schema_changes.name is 'The column title or field name exactly as the source sent it.';
comment on column etl.schema_changes.baseline is 'True for names seen by the first read of the scope (what the source had when we started); false for names that appeared later.';
comment on column etl.schema_changes.first_seen_at is 'When the name was first seen (commit time of the batch that saw it).';
comment on column etl.schema_changes.run_id is 'The run (etl.runs.id) that first saw the name.';

-- One row per named check: what `status --check` saw last time, so that "rejects grew" compares with it.
create table etl.check_marks (
  name           text        primary key,
  checked_at     timestamptz not null default now(),
  last_reject_id bigint      not null default 0
);

comment on table etl.check_marks is 'Marks kept by `status --check` between two checks (cron / health checks): what the previous check saw.';
comment on column etl.check_marks.name is 'Which check the mark belongs to (`status --check`).';
comment on column etl.check_marks.checked_at is 'When that check last ran.';
comment on column etl.check_marks.last_reject_id is 'Highest etl.rejects.id at that check: rejects with a higher id arrived since.';
