import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VirtualClock } from '../../src/clock.js'
import { startKwigaSimulator, type KwigaSim } from '../../src/simulators/kwiga/server.js'
import { kwigaSource } from '../../src/sources/kwiga/index.js'
import { runSync } from '../../src/sync.js'
import { createTestWarehouse, quietLog, type TestWarehouse } from '../support/database.js'
import { expectedCounts } from './expected.js'
import { CABINETS, count, kwigaConfig, syncKwiga, type SyncKit } from './support.js'

const cabinet = CABINETS[0]!
let sim: KwigaSim
let wh: TestWarehouse
let kit: SyncKit
const clock = new VirtualClock()

beforeAll(async () => {
  sim = await startKwigaSimulator({ cabinets: [{ ...cabinet, contacts: 400, courses: 3, usersPerCourse: 40, seed: 11 }], clock })
  wh = await createTestWarehouse()
  kit = { wh, clock, config: kwigaConfig(sim, [cabinet]) }
})
afterAll(async () => {
  await sim?.close()
  await wh?.dispose()
})

const query = async <T>(text: string) => (await sql.raw<T>(text).execute(wh.db)).rows

describe('kwiga paginated pulls', () => {
  it('fills every table with the whole dataset, typed and related', async () => {
    const res = await syncKwiga(kit)
    expect(res.results.map((r) => [r.stream, r.status, r.message])).toEqual(res.results.map((r) => [r.stream, 'succeeded', r.message]))
    expect(res.results.map((r) => r.stream)).toEqual([
      'timezones',
      'products',
      'offers',
      'courses',
      'coupons',
      'contact_lists',
      'contacts',
      'contact_products',
      'course_users',
    ])

    const ds = sim.dataset(cabinet.cabinetHash)
    const expected = expectedCounts(ds)
    const actual: Record<string, number> = {}
    for (const table of Object.keys(expected)) actual[table] = await count(wh, table)
    expect(actual).toEqual(expected)
    expect(await count(wh, 'kwiga.module_progress')).toBeGreaterThan(0)

    // The broken rows (id null, zero date) are quarantined with their reason, nothing else is.
    const rejects = await wh.db.selectFrom('etl.rejects').select(['stream', 'reason']).execute()
    expect(rejects).toHaveLength(ds.brokenContacts().length)
    expect(rejects.every((r) => r.stream === 'contacts')).toBe(true)

    const [types] = await query<Record<string, string>>(`
      select pg_typeof(contact_id)::text as id, pg_typeof(created_at)::text as created, pg_typeof(raw)::text as raw from kwiga.contacts limit 1`)
    expect(types).toEqual({ id: 'bigint', created: 'timestamp with time zone', raw: 'jsonb' })
    const [money] = await query<{ n: number }>(`select count(*)::int as n from kwiga.payments where amount is null or currency_code is null`)
    expect(money!.n).toBe(0)
  })

  it('records the item fields each endpoint sent, contact products included (etl.schema_changes baselines)', async () => {
    const { rows } = await sql<{ name: string }>`
      select name from etl.schema_changes where source = 'kwiga' and account = ${cabinet.name} and scope = '/contacts/:id/products' order by name`.execute(
      wh.db,
    )
    // The truth: the fields of the simulator's own answers for the contacts the stream read.
    const ids = (await query<{ contact_id: string }>('select distinct contact_id from kwiga.contact_products order by 1 limit 20')).map((r) => r.contact_id)
    expect(ids.length).toBeGreaterThan(0)
    const sent = new Set<string>()
    for (const id of ids) {
      const res = await fetch(`${sim.url}/contacts/${id}/products`, {
        headers: { Token: cabinet.token, 'Cabinet-Hash': cabinet.cabinetHash, Accept: 'application/json' },
      })
      const body = (await res.json()) as { data: Record<string, unknown>[] }
      for (const item of body.data) for (const k of Object.keys(item)) sent.add(k)
    }
    expect(rows.length).toBeGreaterThan(0)
    const recorded = new Set(rows.map((r) => r.name))
    for (const name of sent) expect(recorded.has(name), name).toBe(true)
  })

  it('relates children to parents: order_products → orders → contacts, progress → course_nodes', async () => {
    const [orphans] = await query<Record<string, number>>(`
      select
        (select count(*)::int from kwiga.order_products op left join kwiga.orders o using (cabinet, order_id) left join kwiga.contacts c on c.cabinet = o.cabinet and c.contact_id = o.contact_id where c.contact_id is null) as order_products,
        (select count(*)::int from kwiga.transactions t left join kwiga.payments p using (cabinet, payment_id) where p.order_id is null) as transactions,
        (select count(*)::int from kwiga.lesson_progress lp left join kwiga.course_nodes n on n.cabinet = lp.cabinet and n.course_id = lp.course_id and n.nodeble_type = 'course_lesson' and n.nodeble_id = lp.lesson_id where n.node_id is null or n.node_id <> lp.node_id) as lessons,
        (select count(*)::int from kwiga.module_progress mp left join kwiga.course_nodes n on n.cabinet = mp.cabinet and n.course_id = mp.course_id and n.node_id = mp.node_id where n.nodeble_type is distinct from 'course_module' or n.nodeble_id <> mp.module_id) as modules,
        (select count(*)::int from kwiga.quiz_progress qp left join kwiga.course_nodes n on n.cabinet = qp.cabinet and n.course_id = qp.course_id and n.node_id = qp.node_id where not (qp.quiz_id = any(n.quiz_ids)) or n.node_id is null) as quizzes,
        (select count(*)::int from kwiga.course_users cu left join kwiga.contacts c on c.cabinet = cu.cabinet and c.contact_id = cu.contact_id where c.contact_id is null) as course_users_without_contact`)
    expect(orphans).toEqual({ order_products: 0, transactions: 0, lessons: 0, modules: 0, quizzes: 0, course_users_without_contact: expect.any(Number) })
    const [sums] = await query<{ lessons: number; matches: boolean }>(`
      select sum(lessons_count_completed)::int as lessons,
        sum(lessons_count_completed) = (select count(*) from kwiga.lesson_progress where is_completed) as matches
      from kwiga.course_users`)
    expect(sums!.matches).toBe(true)
  })

  it('a second run writes nothing new (idempotent)', async () => {
    const res = await syncKwiga(kit)
    expect(res.ok).toBe(true)
    const byStream = Object.fromEntries(res.results.map((r) => [r.stream, r.counts]))
    for (const c of Object.values(byStream)) expect(c.inserted).toBe(0)
    expect(byStream.contacts!.deleted).toBe(0)
  })

  it('incremental contacts pick up new and active contacts; a full run drops removed tags', async () => {
    const ds = sim.dataset(cabinet.cabinetHash)
    const tagged = ds.contacts.find((c) => c.broken === null && c.tagIds.length >= 2)!
    const removed = tagged.tagIds[0]!
    await clock.sleep(3600_000)
    const fresh = ds.addContact({ email: 'fresh.contact@example.com', tags: ['new-lead'] })
    ds.removeTag(tagged.id, removed)

    const incremental = await syncKwiga(kit, { streams: ['contacts', 'contact_products'] })
    expect(incremental.ok).toBe(true)
    const contacts = incremental.results.find((r) => r.stream === 'contacts')!
    expect(contacts.counts.read).toBeLessThan(ds.contacts.length / 2)
    expect(await count(wh, 'kwiga.contacts')).toBe(expectedCounts(ds)['kwiga.contacts'])
    const [row] = await query<{ email: string }>(`select email from kwiga.contacts where contact_id = ${fresh.id}`)
    expect(row!.email).toBe('fresh.contact@example.com')
    const products = incremental.results.find((r) => r.stream === 'contact_products')!
    // The new contact is checked; the sweep re-checks the 200 checked longest ago.
    expect(products.counts.requests).toBeGreaterThanOrEqual(1)
    expect(products.counts.requests).toBeLessThanOrEqual(1 + 200 + 2)

    // Tag removal does not count as activity (§6): the incremental run cannot see it, a full run does.
    const tagsOf = async () =>
      (await query<{ tag_id: string }>(`select tag_id from kwiga.contact_tags where contact_id = ${tagged.id} order by tag_id`)).map((r) => Number(r.tag_id))
    expect(await tagsOf()).toContain(removed)
    const full = await syncKwiga(kit, { streams: ['contacts'], full: true })
    expect(full.results[0]!.counts.deleted).toBeGreaterThanOrEqual(1)
    expect(await tagsOf()).toEqual([...new Set(tagged.tagIds)].sort((a, b) => a - b))
  })

  it('a run killed mid-stream resumes at the page it reached and the watermark waits for the end', async () => {
    await wh.db.deleteFrom('etl.stream_state').where('stream', '=', 'contacts').execute()
    const before = sim.requests.length
    // 400 contacts at 100 a page: stop after two pages.
    const abort = new AbortController()
    let pages = 0
    const res = await runSync(
      {
        warehouse: wh,
        config: kit.config,
        log: quietLog,
        clock,
        sources: [kwigaSource],
        signal: abort.signal,
        onProgress: (key, p) => {
          if (key.stream === 'contacts' && p.rows > 0 && ++pages === 2) abort.abort()
        },
      },
      { streams: ['contacts'] },
    )
    expect(res.results[0]!.status).toBe('aborted')
    const state = await wh.db.selectFrom('etl.stream_state').select('state').where('stream', '=', 'contacts').executeTakeFirstOrThrow()
    const saved = state.state as { plan?: { page: number }; watermark?: unknown }
    expect(saved.plan?.page).toBeGreaterThanOrEqual(3)
    expect(saved.watermark).toBeUndefined()
    const pagesRead = sim.requests
      .slice(before)
      .filter((r) => r.path === '/contacts')
      .map((r) => Number(r.query.page))

    const resumed = await syncKwiga(kit, { streams: ['contacts'] })
    expect(resumed.ok).toBe(true)
    const resumedPages = sim.requests
      .slice(before)
      .filter((r) => r.path === '/contacts')
      .map((r) => Number(r.query.page))
      .slice(pagesRead.length)
    expect(resumedPages[0]).toBe(saved.plan!.page)
    const done = await wh.db.selectFrom('etl.stream_state').select('state').where('stream', '=', 'contacts').executeTakeFirstOrThrow()
    expect((done.state as { watermark?: { createdAt: string } }).watermark?.createdAt).toBeTruthy()
    expect((done.state as { plan?: unknown }).plan).toBeUndefined()
  })
})
