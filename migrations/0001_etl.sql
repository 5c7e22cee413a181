-- Bookkeeping for every source: run history, per-stream cursors, quarantined input.
create schema if not exists etl;
create schema if not exists getcourse;
create schema if not exists kwiga;

-- One row per stream per run. `invocation` groups the streams of one `sync` call.
create table etl.runs (
  id             bigserial primary key,
  invocation     text        not null,
  source         text        not null,
  account        text        not null,
  stream         text        not null,
  status         text        not null check (status in ('running', 'succeeded', 'failed', 'deferred', 'aborted')),
  started_at     timestamptz not null default now(),
  heartbeat_at   timestamptz not null default now(),
  finished_at    timestamptz,
  rows_read      bigint      not null default 0,
  rows_inserted  bigint      not null default 0,
  rows_updated   bigint      not null default 0,
  rows_unchanged bigint      not null default 0,
  rows_deleted   bigint      not null default 0,
  rows_rejected  bigint      not null default 0,
  requests       integer     not null default 0,
  error_code     text,
  message        text,
  resume_at      timestamptz,
  details        jsonb,
  pid            integer,
  host           text
);
create index runs_stream_idx on etl.runs (source, account, stream, started_at desc);
create index runs_running_idx on etl.runs (status) where status = 'running';

-- Cursor / watermark of a stream, written in the same transaction as the rows it covers.
create table etl.stream_state (
  source     text        not null,
  account    text        not null,
  stream     text        not null,
  state      jsonb       not null,
  run_id     bigint,
  updated_at timestamptz not null default now(),
  primary key (source, account, stream)
);

-- Input records that could not be normalized, with the reason and the record as received.
create table etl.rejects (
  id         bigserial primary key,
  run_id     bigint references etl.runs (id) on delete set null,
  source     text        not null,
  account    text        not null,
  stream     text        not null,
  reason     text        not null,
  record_key text,
  raw        jsonb,
  created_at timestamptz not null default now()
);
create index rejects_stream_idx on etl.rejects (source, account, stream, created_at desc);
