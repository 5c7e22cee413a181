import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VirtualClock } from '../../src/clock.js'
import { startKwigaSimulator, type Fault, type KwigaSim } from '../../src/simulators/kwiga/server.js'
import { createTestWarehouse, type TestWarehouse } from '../support/database.js'
import { CONTACT_TABLES, expectedCounts } from './expected.js'
import { CABINETS, captureLog, count, kwigaConfig, syncKwiga, type SyncKit } from './support.js'

const [alpha, beta] = CABINETS as [(typeof CABINETS)[0], (typeof CABINETS)[0]]
const clock = new VirtualClock()
const logs = captureLog()
let sim: KwigaSim
let wh: TestWarehouse
let kit: SyncKit

beforeAll(async () => {
  sim = await startKwigaSimulator({
    cabinets: [
      { ...alpha, contacts: 250, courses: 2, usersPerCourse: 15, seed: 21 },
      { ...beta, contacts: 120, courses: 1, usersPerCourse: 10, seed: 22 },
    ],
    clock,
  })
  wh = await createTestWarehouse()
  kit = { wh, clock, config: kwigaConfig(sim, [alpha]), log: logs.log }
})
afterAll(async () => {
  await sim?.close()
  await wh?.dispose()
})

async function resetContacts() {
  await wh.db.deleteFrom('etl.stream_state').execute()
  await wh.db.deleteFrom('kwiga.contacts').execute()
}

async function expectContactsComplete(hash = alpha.cabinetHash, cabinet = alpha.name) {
  const expected = expectedCounts(sim.dataset(hash))
  for (const table of CONTACT_TABLES) expect([table, await count(wh, table, cabinet)]).toEqual([table, expected[table]])
}

describe('kwiga faults', () => {
  it('a rejected token fails that cabinet (later streams skipped) while another cabinet loads', async () => {
    const config = kwigaConfig(sim, [{ ...alpha, token: 'tok-revoked-000000000' }, beta])
    const res = await syncKwiga({ ...kit, config }, { streams: ['products', 'contacts'] })
    const byCabinet = (name: string) => res.results.filter((r) => r.account === name)
    expect(byCabinet('alpha').map((r) => [r.stream, r.status, r.errorCode])).toEqual([
      ['products', 'failed', 'AUTH_FAILED'],
      ['contacts', 'failed', 'AUTH_FAILED'],
    ])
    expect(byCabinet('alpha')[0]!.message).toMatch(/cabinet "alpha": the token was rejected.*HTTP 401/)
    expect(byCabinet('alpha')[1]!.message).toMatch(/^skipped:/)
    expect(byCabinet('beta').map((r) => r.status)).toEqual(['succeeded', 'succeeded'])
    await expectContactsComplete(beta.cabinetHash, beta.name)
    expect(await count(wh, 'kwiga.contacts', 'alpha')).toBe(0)
  })

  const transient: [string, Fault[]][] = [
    [
      '500, 502 and 503 answers',
      [
        { kind: 'http', status: 500, path: /page=2/ },
        { kind: 'http', status: 502, path: /page=2/ },
        { kind: 'http', status: 503, path: /page=3/ },
      ],
    ],
    ['a connection reset', [{ kind: 'reset', path: /page=2/ }]],
    [
      'a truncated body',
      [
        { kind: 'truncate', path: /page=1/ },
        { kind: 'truncate', path: /page=3/ },
      ],
    ],
    ['an HTML page with status 200', [{ kind: 'html200', path: /page=2/ }]],
    [
      'a page shifted by an insert at the head',
      [
        { kind: 'shift', path: /page=2/ },
        { kind: 'shift', path: /page=3/ },
      ],
    ],
  ]
  for (const [name, faults] of transient) {
    it(`survives ${name} with complete data`, async () => {
      await resetContacts()
      for (const f of faults) sim.injectFault({ ...f, path: new RegExp(`^/contacts\\?.*${f.path!.source}`) })
      const res = await syncKwiga(kit, { streams: ['contacts'] })
      expect(res.results[0]).toMatchObject({ status: 'succeeded' })
      await expectContactsComplete()
    })
  }

  it('a body that stays unusable fails the stream clearly; nothing is recorded as complete', async () => {
    await resetContacts()
    // Four unusable answers in a row: the client's attempts for one page (the next run gets clean ones).
    for (let i = 0; i < 4; i++) sim.injectFault({ kind: 'html200', path: /^\/contacts\?.*page=2/ })
    const res = await syncKwiga(kit, { streams: ['contacts'] })
    expect(res.results[0]).toMatchObject({ status: 'failed', errorCode: 'RESPONSE_INVALID' })
    expect(res.results[0]!.message).toMatch(/not JSON/)
    const state = await wh.db.selectFrom('etl.stream_state').select('state').where('stream', '=', 'contacts').executeTakeFirstOrThrow()
    expect(state.state).toMatchObject({ plan: { page: 2 } })
    expect((state.state as { watermark?: unknown }).watermark).toBeUndefined()
    const healed = await syncKwiga(kit, { streams: ['contacts'] })
    expect(healed.results[0]!.status).toBe('succeeded')
    await expectContactsComplete()
  })

  it('a 422 fails with the validation message; a contact gone before its products call is skipped', async () => {
    await wh.db
      .updateTable('etl.stream_state')
      .set({
        state: JSON.stringify({
          plan: {
            steps: [{ label: 'contacts', path: '/contacts', query: [['filters[date_from]', 'yesterday']], pageSize: 100 }],
            step: 0,
            page: 1,
            candidate: {},
            full: false,
          },
        }) as never,
      })
      .where('stream', '=', 'contacts')
      .execute()
    const bad = await syncKwiga(kit, { streams: ['contacts'] })
    expect(bad.results[0]).toMatchObject({ status: 'failed', errorCode: 'HTTP_STATUS' })
    expect(bad.results[0]!.message).toMatch(/422 \(validation failed.*must be a valid date/)

    const ds = sim.dataset(alpha.cabinetHash)
    const gone = ds.contacts.find((c) => c.broken === null)!
    ds.deleteContact(gone.id)
    const res = await syncKwiga(kit, { streams: ['contact_products'] })
    expect(res.results[0]!.status).toBe('succeeded')
    expect(logs.text()).toContain('contact not found (404) while reading its products; skipped')
  })

  it('never writes the token or the cabinet hash to logs or tables', async () => {
    await syncKwiga(kit, { streams: ['timezones', 'coupons', 'contact_lists', 'courses', 'course_users'] })
    const text = logs.text()
    expect(text.length).toBeGreaterThan(1000)
    const secrets = [alpha.token, alpha.cabinetHash, beta.token, beta.cabinetHash, 'tok-revoked-000000000']
    for (const s of secrets) expect(text).not.toContain(s)
    const { rows } = await sql<{ table_schema: string; table_name: string }>`
      select table_schema, table_name from information_schema.tables where table_schema in ('kwiga', 'etl')`.execute(wh.db)
    for (const t of rows) {
      const dump = await sql<{ t: string }>`select string_agg(x::text, ' ') as t from ${sql.table(`${t.table_schema}.${t.table_name}`)} x`.execute(wh.db)
      for (const s of secrets) expect([t.table_name, dump.rows[0]!.t?.includes(s) ?? false]).toEqual([t.table_name, false])
    }
  })
})
