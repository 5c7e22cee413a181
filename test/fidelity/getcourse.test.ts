import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { VirtualClock, type Clock } from '../../src/clock.js'
import type { SimDataset } from '../../src/simulators/getcourse/data.js'
import type { SyncSummary } from '../../src/sync.js'
import { startHarness, type Harness } from '../getcourse/harness.js'

/**
 * Deletion detection and reconciliation against the GetCourse simulator: after upstream deletions,
 * leavers, silent edits and a re-added row, one reconciliation (`sync --full`) leaves every table
 * equal to the simulator's state, with `deleted_at` on exactly the removed rows.
 */

let h: Harness | undefined
afterEach(async () => {
  await h?.close()
  h = undefined
})

const TWO_HOURS = 2 * 3600_000

/** Runs `sync` until no stream is deferred (budget), advancing the clock past the budget window. */
async function syncUntilDone(harness: Harness, options: Parameters<Harness['sync']>[0] = {}): Promise<SyncSummary[]> {
  const runs: SyncSummary[] = []
  for (let i = 0; i < 8; i++) {
    const summary = await harness.sync(options)
    runs.push(summary)
    expect(summary.results.filter((r) => r.status === 'failed' || r.status === 'aborted').map((r) => `${r.stream}: ${r.message}`)).toEqual([])
    if (summary.results.every((r) => r.status === 'succeeded')) return runs
    await (harness.clock as VirtualClock).sleep(TWO_HOURS)
    // Later runs continue the plans the deferred ones left (the `--full` plan is kept in the stream state).
    options = { ...options, full: false }
  }
  throw new Error('sync did not finish within 8 runs')
}

const ids = async (harness: Harness, table: string, deleted: boolean) =>
  (
    await sql<{
      id: string
    }>`select id::text as id from ${sql.table(table)} where account = 'school' and (deleted_at is not null) = ${deleted} order by id`.execute(harness.wh.db)
  ).rows.map((r) => r.id)

const memberKeys = async (harness: Harness, deleted: boolean) =>
  (
    await sql<{
      k: string
    }>`select group_id || ':' || user_id as k from getcourse.group_members where account = 'school' and (deleted_at is not null) = ${deleted} order by 1`.execute(
      harness.wh.db,
    )
  ).rows.map((r) => r.k)

const sorted = (values: Iterable<number | string>) => [...values].map(String).sort()

/** The simulator's truth, as warehouse keys. */
function truth(data: SimDataset) {
  return {
    users: sorted(data.users.map((u) => u.id)),
    deals: sorted(data.deals.map((d) => d.id)),
    payments: sorted(data.payments.map((p) => p.id)),
    groups: sorted(data.groups.map((g) => g.id)),
    members: data.groups.flatMap((g) => g.members.filter((m) => data.user(m.userId)).map((m) => `${g.id}:${m.userId}`)).sort(),
  }
}

async function present(harness: Harness) {
  return {
    users: await ids(harness, 'getcourse.users', false),
    deals: await ids(harness, 'getcourse.deals', false),
    payments: await ids(harness, 'getcourse.payments', false),
    groups: await ids(harness, 'getcourse.groups', false),
    members: await memberKeys(harness, false),
  }
}

describe('GetCourse: the warehouse equals the source after a reconciliation', () => {
  it.each(['server', 'embedded'])(
    'marks deleted users, deals, payments and leavers; reads silent edits; undeletes a row that comes back (%s warehouse)',
    async (kind) => {
      h = await startHarness({ embedded: kind === 'embedded' })
      const clock = h.clock as VirtualClock
      const data = h.sim.dataset('school')
      await syncUntilDone(h)
      expect(await present(h)).toEqual(truth(data))

      // Upstream: deletions, a leaver, a cost edited without a status change.
      const group = data.groups.find((g) => g.members.length >= 2)!
      const leaver = group.members[0]!.userId
      const goneUser = data.users.find((u) => u.id !== leaver && !data.groups.some((g) => g.members.some((m) => m.userId === u.id)))!
      const goneDeal = data.deals[3]!
      const gonePayment = data.payments[5]!
      const edited = data.deals[10]!
      data.deleteUser(goneUser.id)
      data.deleteDeal(goneDeal.id)
      data.deletePayment(gonePayment.id)
      data.removeGroupMember(group.id, leaver)
      data.updateDeal(edited.id, { cost: 12345.67, manager: 'Новый менеджер, «главный»' })
      expect(data.deal(edited.id)!.status).toBe(edited.status)

      // An incremental run reads only recent windows: it marks nothing deleted.
      await clock.sleep(TWO_HOURS)
      await syncUntilDone(h)
      expect(await ids(h, 'getcourse.users', true)).toEqual([])
      expect(await ids(h, 'getcourse.deals', true)).toEqual([])
      expect(await memberKeys(h, true)).toEqual([])

      // The reconciliation: every stream read completely.
      await clock.sleep(TWO_HOURS)
      const runs = await syncUntilDone(h, { full: true })
      expect(await present(h)).toEqual(truth(data))
      expect(await ids(h, 'getcourse.users', true)).toEqual([String(goneUser.id)])
      expect(await ids(h, 'getcourse.deals', true)).toEqual([String(goneDeal.id)])
      expect(await ids(h, 'getcourse.payments', true)).toEqual([String(gonePayment.id)])
      expect(await memberKeys(h, true)).toEqual([`${group.id}:${leaver}`])
      const deal = await h.wh.db
        .selectFrom('getcourse.deals')
        .select(['cost', 'manager', 'status'])
        .where('account', '=', 'school')
        .where('id', '=', String(edited.id))
        .executeTakeFirstOrThrow()
      expect(deal).toMatchObject({ cost: '12345.67', manager: 'Новый менеджер, «главный»' })

      // The runs say how many rows they marked.
      const marked = runs.flatMap((s) => s.results).reduce((n, r) => n + r.counts.markedDeleted, 0)
      expect(marked).toBe(4)
      const { rows } = await sql<{ stream: string; n: number }>`
      select stream, sum(rows_marked_deleted)::int as n from etl.runs where account = 'school' group by stream having sum(rows_marked_deleted) > 0 order by stream`.execute(
        h.wh.db,
      )
      expect(rows).toEqual([
        { stream: 'deals', n: 1 },
        { stream: 'group_members', n: 1 },
        { stream: 'payments', n: 1 },
        { stream: 'users', n: 1 },
      ])
      // Nothing of the listings is left behind: no keys, no listing still open.
      const left = await sql<{
        n: number
      }>`select (select count(*) from etl.listing_keys)::int + (select count(*) from etl.listings where closed_at is null)::int as n`.execute(h.wh.db)
      expect(left.rows[0]!.n).toBe(0)

      // The analytics views leave deleted rows out.
      const people = await sql<{
        n: number
      }>`select count(*)::int as n from analytics.people where source = 'getcourse' and person_id = ${goneUser.id}`.execute(h.wh.db)
      expect(people.rows[0]!.n).toBe(0)
      const orders = await sql<{ n: number }>`select count(*)::int as n from analytics.orders where source = 'getcourse'`.execute(h.wh.db)
      expect(orders.rows[0]!.n).toBe(data.deals.length)

      // The user comes back: any read undeletes it.
      data.restoreUser(goneUser.id)
      await clock.sleep(TWO_HOURS)
      const back = await syncUntilDone(h, { full: true })
      expect(await ids(h, 'getcourse.users', true)).toEqual([])
      expect(back.flatMap((s) => s.results).find((r) => r.stream === 'users' && r.counts.undeleted > 0)?.counts.undeleted).toBe(1)
      expect(await present(h)).toEqual(truth(data))

      // Budget and the one-export rule held throughout.
      const stats = h.sim.stats('school')
      expect(stats.maxConcurrentForming).toBeLessThanOrEqual(1)
      expect(stats.maxRequestsInWindow).toBeLessThanOrEqual(100)
    },
    120_000,
  )

  it('a reconciliation killed at any point marks nothing deleted that exists upstream', async () => {
    for (const crashAt of [1, 3, 6, 10, 15]) {
      const clock = new VirtualClock(Date.UTC(2026, 0, 15, 9))
      let sleeps = 0
      let armed = false
      const controller = { current: new AbortController() }
      const crashing: Clock = {
        now: () => clock.now(),
        busy: (work) => clock.busy(work),
        sleep: (ms, signal) => {
          if (armed && ++sleeps === crashAt) controller.current.abort(new Error('simulated crash'))
          return clock.sleep(ms, signal)
        },
      }
      const harness = (h = await startHarness({ clock: crashing }))
      const data = harness.sim.dataset('school')
      await syncUntilDone(harness)
      data.deleteUser(data.users[2]!.id)
      await clock.sleep(TWO_HOURS)

      armed = true
      const crashed = await harness.sync({ full: true }, { signal: controller.current.signal })
      expect(
        crashed.results.some((r) => r.status === 'aborted'),
        `crash at sleep ${crashAt}`,
      ).toBe(true)
      armed = false
      // Whatever committed before the crash: no row present upstream is marked.
      const deletedUsers = await ids(harness, 'getcourse.users', true)
      expect(
        deletedUsers.every((id) => !data.user(Number(id))),
        `crash at sleep ${crashAt}`,
      ).toBe(true)
      expect(await ids(harness, 'getcourse.deals', true)).toEqual([])
      expect(await memberKeys(harness, true)).toEqual([])

      // The next runs finish the reconciliation the crashed one started.
      await clock.sleep(TWO_HOURS)
      await syncUntilDone(harness, { full: true })
      expect(await present(harness)).toEqual(truth(data))
      await harness.close()
      h = undefined
    }
  }, 240_000)
})
