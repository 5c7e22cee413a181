import type { Config } from '../config.js'
import type { Warehouse } from '../db/index.js'
import { listReplicas, type ReplicaRow } from '../db/replicas.js'

export interface ReplicaStatus extends ReplicaRow {
  /** Heartbeat within `replicas.leaseSeconds`. */
  live: boolean
}

/** The replicas for `status`: live ones, and ones past their lease that nobody has swept yet. */
export async function collectReplicas(warehouse: Warehouse, config: Config): Promise<ReplicaStatus[]> {
  return (await listReplicas(warehouse.db)).map((r) => ({ ...r, live: r.silentSeconds <= config.replicas.leaseSeconds }))
}

/** What each replica does, one phrase: `nightly: getcourse/acme, kwiga/main` or `idle`. */
export function describeDoing(r: ReplicaRow): string {
  if (!r.doing.length) return 'idle'
  const byJob = new Map<string, string[]>()
  for (const d of r.doing) byJob.set(d.job, [...(byJob.get(d.job) ?? []), `${d.source}/${d.account}`])
  return [...byJob].map(([job, accounts]) => `${job}: ${accounts.join(', ')}`).join('; ')
}

/** `status` addition: the JSON field and the text block (appended after the stream table). */
export async function replicaStatus(warehouse: Warehouse, config: Config): Promise<{ json: { replicas: ReplicaStatus[] }; text: string }> {
  const replicas = await collectReplicas(warehouse, config)
  if (!replicas.length) return { json: { replicas }, text: warehouse.kind === 'server' ? '\nreplicas: none running' : '' }
  const lines = replicas.map(
    (r) =>
      `  ${r.host} pid ${r.pid}${r.live ? '' : ` (silent ${r.silentSeconds}s: dead, not yet taken over)`}${r.http ? ` http ${r.http}` : ''} — ${describeDoing(r)}`,
  )
  return { json: { replicas }, text: `\nreplicas (${replicas.filter((r) => r.live).length} live):\n${lines.join('\n')}` }
}
