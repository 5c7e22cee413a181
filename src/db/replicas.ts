import { sql } from 'kysely'
import type pg from 'pg'
import type { Db } from './index.js'

/** One account job a replica holds (fetched from the queue, not yet completed). */
export interface HeldJob {
  jobId: string
  job: string
  tick: string
  source: string
  account: string
  since: string
}

export interface ReplicaRow {
  id: string
  host: string
  pid: number
  startedAt: string
  heartbeatAt: string
  /** Seconds since the last heartbeat, on the database clock. */
  silentSeconds: number
  http: string | null
  doing: HeldJob[]
}

/** The session advisory lock a replica holds while it lives (its connection closing frees it). */
export const replicaLockKey = (param: string) => `hashtextextended('course-etl:replica:' || ${param}, 0)`
/** The lock a replica holds on an account while it syncs it: never two replicas on one account. */
export const accountLockKey = (param: string) => `hashtextextended('course-etl:account:' || ${param}, 0)`

/**
 * Session settings for the connection that holds a replica's locks: the server notices a host that
 * vanished without closing its sockets (power loss, cable) within about 10 + 5 × 3 s, and frees its locks.
 */
export const LOCK_SESSION_SETTINGS = 'set tcp_keepalives_idle = 10; set tcp_keepalives_interval = 5; set tcp_keepalives_count = 3'

export async function saveReplica(client: pg.PoolClient, r: { id: string; host: string; pid: number; http: string | null; doing: HeldJob[] }): Promise<void> {
  await client.query(
    `insert into etl.replicas (id, host, pid, http, doing) values ($1, $2, $3, $4, $5::jsonb)
     on conflict (id) do update set heartbeat_at = now(), http = excluded.http, doing = excluded.doing`,
    [r.id, r.host, r.pid, r.http, JSON.stringify(r.doing)],
  )
}

export async function deleteReplica(client: pg.PoolClient, id: string): Promise<void> {
  await client.query('delete from etl.replicas where id = $1', [id])
}

/**
 * Claims the rows of dead replicas: silent longer than the lease, or whose session lock is free (the
 * process is gone: SIGKILL, OOM; Postgres closed its session). Deleting the row is the claim, so of two
 * replicas sweeping at once only one takes each dead replica's jobs. Returns what they held.
 */
export async function claimDeadReplicas(
  client: pg.PoolClient,
  self: string,
  leaseSeconds: number,
): Promise<{ id: string; host: string; pid: number; doing: HeldJob[] }[]> {
  const { rows } = await client.query<{ id: string; stale: boolean }>(
    `select id, heartbeat_at < now() - make_interval(secs => $2) as stale from etl.replicas where id <> $1`,
    [self, leaseSeconds],
  )
  const claimed: { id: string; host: string; pid: number; doing: HeldJob[] }[] = []
  for (const r of rows) {
    let locked = false
    if (!r.stale) {
      const got = await client.query<{ ok: boolean }>(`select pg_try_advisory_lock(${replicaLockKey('$1')}) as ok`, [r.id])
      locked = got.rows[0]?.ok === true
      if (!locked) continue
    }
    try {
      const del = await client.query<{ id: string; host: string; pid: number; doing: HeldJob[] }>(
        'delete from etl.replicas where id = $1 returning id, host, pid, doing',
        [r.id],
      )
      if (del.rows[0]) claimed.push(del.rows[0])
    } finally {
      if (locked) await client.query(`select pg_advisory_unlock(${replicaLockKey('$1')})`, [r.id])
    }
  }
  return claimed
}

/** Replicas that heartbeated within the lease, and how many account jobs they hold. */
export async function liveReplicaLoad(client: pg.PoolClient, leaseSeconds: number): Promise<{ live: number; held: number }> {
  const { rows } = await client.query<{ live: number; held: number }>(
    `select count(*)::int as live, coalesce(sum(jsonb_array_length(doing)), 0)::int as held
     from etl.replicas where heartbeat_at >= now() - make_interval(secs => $1)`,
    [leaseSeconds],
  )
  return rows[0] ?? { live: 0, held: 0 }
}

/** Every registered replica, newest first (`status`, the status page). */
export async function listReplicas(db: Db): Promise<ReplicaRow[]> {
  const { rows } = await sql<{
    id: string
    host: string
    pid: number
    started_at: Date
    heartbeat_at: Date
    silent: number
    http: string | null
    doing: HeldJob[]
  }>`select id, host, pid, started_at, heartbeat_at, extract(epoch from now() - heartbeat_at)::float8 as silent, http, doing
     from etl.replicas order by started_at desc`.execute(db)
  return rows.map((r) => ({
    id: r.id,
    host: r.host,
    pid: r.pid,
    startedAt: new Date(r.started_at).toISOString(),
    heartbeatAt: new Date(r.heartbeat_at).toISOString(),
    silentSeconds: Math.max(0, Math.round(r.silent)),
    http: r.http,
    doing: r.doing,
  }))
}

/** Takes the account's lock on the replica's lock session; false when another session holds it. */
export async function tryLockAccount(client: pg.PoolClient, source: string, account: string): Promise<boolean> {
  const { rows } = await client.query<{ ok: boolean }>(`select pg_try_advisory_lock(${accountLockKey('$1')}) as ok`, [`${source}:${account}`])
  return rows[0]?.ok === true
}

export async function unlockAccount(client: pg.PoolClient, source: string, account: string): Promise<void> {
  await client.query(`select pg_advisory_unlock(${accountLockKey('$1')})`, [`${source}:${account}`])
}

/** Opens the replica's lock session: keepalives set, its own lock taken. */
export async function holdReplicaLock(client: pg.PoolClient, id: string): Promise<void> {
  await client.query(LOCK_SESSION_SETTINGS)
  await client.query(`select pg_advisory_lock(${replicaLockKey('$1')})`, [id])
}
