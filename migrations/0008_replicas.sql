-- Scheduler replicas (issue 19): every `schedule` process on a server registers here, heartbeats, and
-- says what it is doing. The job queue itself is pg-boss's (schema `etl_queue`, created by pg-boss).
create table etl.replicas (
  id           text        primary key,
  host         text        not null,
  pid          integer     not null,
  started_at   timestamptz not null default now(),
  heartbeat_at timestamptz not null default now(),
  http         text,
  doing        jsonb       not null default '[]'
);
create index replicas_heartbeat_idx on etl.replicas (heartbeat_at);
-- /metrics reads the runs of its own process (host, pid) at every scrape.
create index runs_process_idx on etl.runs (host, pid, started_at);

comment on table etl.replicas is 'Live scheduler replicas (schedule processes on a server): one row each, heartbeated; a row whose heartbeat is older than the lease, or whose session lock is free, is a dead replica whose queued work other replicas take over';
comment on column etl.replicas.id is 'Random id of the process, also the key of its session advisory lock (course-etl:replica:<id>)';
comment on column etl.replicas.host is 'Host name of the machine (or container) the replica runs on';
comment on column etl.replicas.pid is 'Process id on that host';
comment on column etl.replicas.started_at is 'When the replica registered';
comment on column etl.replicas.heartbeat_at is 'Last heartbeat, on the database clock; older than replicas.leaseSeconds means dead';
comment on column etl.replicas.http is 'HOST:PORT of its metrics / status server, when it serves one';
comment on column etl.replicas.doing is 'What it holds now: [{jobId, job, tick, source, account, since}], one entry per account job fetched from the queue';
comment on index etl.runs_process_idx is 'The runs of one process, for its /metrics counters (src/observe/queries.ts)';
