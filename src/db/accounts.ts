import { sql } from 'kysely'
import { EtlError } from '../errors.js'
import type { Db } from './index.js'
import { toPgJson } from './upsert.js'

/** One configured account or cabinet, as `etl.accounts` records it. */
export interface AccountEntry {
  source: string
  /** Our name of the account (config `name`): the `account` / `cabinet` of its rows. */
  account: string
  /** IANA zone the analytics views cut the account's days in. */
  timeZone: string
  currency: string | null
}

/**
 * Registers the configured accounts in `etl.accounts` (zone, currency; first / last sync are kept by
 * a trigger on etl.runs, backfilled here from runs made before the account was registered). Accounts
 * stored but absent from `entries` are marked `configured = false`, never deleted. A zone the database
 * does not know is refused with CONFIG_INVALID: every view that cuts days in it would fail.
 */
export async function registerAccounts(db: Db, entries: readonly AccountEntry[]): Promise<void> {
  const zones = [...new Set(entries.map((e) => e.timeZone))]
  if (zones.length) {
    const { rows } = await sql<{ name: string }>`select name from pg_timezone_names where name = any(${zones}::text[])`.execute(db)
    const known = new Set(rows.map((r) => r.name))
    const bad = entries.find((e) => !known.has(e.timeZone))
    if (bad) throw new EtlError('CONFIG_INVALID', `time zone "${bad.timeZone}" of ${bad.source} account "${bad.account}" is unknown to the database`)
  }
  const list = entries.map((e) => ({ source: e.source, account: e.account, time_zone: e.timeZone, currency: e.currency }))
  await db.transaction().execute(async (trx) => {
    await sql`
      insert into etl.accounts as a (source, account, time_zone, currency, configured, first_sync_at, last_sync_at, last_success_at)
      select e.source, e.account, e.time_zone, e.currency, true,
             (select min(r.started_at) from etl.runs r where split_part(r.source, '-', 1) = e.source and r.account = e.account),
             (select max(r.finished_at) from etl.runs r where split_part(r.source, '-', 1) = e.source and r.account = e.account),
             (select max(r.finished_at) from etl.runs r where split_part(r.source, '-', 1) = e.source and r.account = e.account and r.status = 'succeeded')
      from jsonb_to_recordset(${toPgJson(list)}::jsonb) as e(source text, account text, time_zone text, currency text)
      on conflict (source, account) do update
        set time_zone = excluded.time_zone, currency = excluded.currency, configured = true, updated_at = now()
        where (a.time_zone, a.currency, a.configured) is distinct from (excluded.time_zone, excluded.currency, true)`.execute(trx)
    await sql`
      update etl.accounts a set configured = false, updated_at = now()
      where a.configured and not exists (
        select 1 from jsonb_to_recordset(${toPgJson(list)}::jsonb) as e(source text, account text)
        where e.source = a.source and e.account = a.account)`.execute(trx)
  })
}
