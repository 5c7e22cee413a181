import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { VirtualClock } from '../../src/clock.js'
import { startKwigaSimulator, type KwigaSim } from '../../src/simulators/kwiga/server.js'
import type { SimDataset } from '../../src/simulators/kwiga/data.js'
import { kwigaSource } from '../../src/sources/kwiga/index.js'
import { collectStatus, formatStatus } from '../../src/status.js'
import { createTestWarehouse, type TestWarehouse } from '../support/database.js'
import { CABINETS, count, kwigaConfig, syncKwiga, type SyncKit } from '../kwiga/support.js'

/**
 * KWIGA against its simulator: removed contacts, students and list members are marked deleted by a
 * full read (never by an incremental one); conditional lists left out of an answer keep the stored
 * children; a course user's last activity is the course's own, never the contact's.
 */

const cabinet = CABINETS[0]!

describe.each(['server', 'embedded'])('KWIGA: the warehouse equals the source (%s warehouse)', (kind) => {
  let sim: KwigaSim
  let wh: TestWarehouse
  let kit: SyncKit
  let ds: SimDataset
  const clock = new VirtualClock()

  beforeAll(async () => {
    sim = await startKwigaSimulator({ cabinets: [{ ...cabinet, contacts: 300, courses: 3, usersPerCourse: 30, seed: 23 }], clock })
    wh = await createTestWarehouse({ embedded: kind === 'embedded' })
    kit = { wh, clock, config: kwigaConfig(sim, [cabinet]) }
    ds = sim.dataset(cabinet.cabinetHash)
    const first = await syncKwiga(kit)
    expect(first.results.every((r) => r.status === 'succeeded')).toBe(true)
  })
  afterAll(async () => {
    await sim?.close()
    await wh?.dispose()
  })

  const rows = async <T>(query: ReturnType<typeof sql<T>>) => (await query.execute(wh.db)).rows
  const deletedContacts = async () =>
    (await rows(sql<{ id: string }>`select contact_id::text as id from kwiga.contacts where deleted_at is not null order by 1`)).map((r) => r.id)
  const deletedStudents = async () =>
    (await rows(sql<{ k: string }>`select course_id || ':' || user_id as k from kwiga.course_users where deleted_at is not null order by 1`)).map((r) => r.k)
  const deletedMembers = async () =>
    (await rows(sql<{ k: string }>`select list_id || ':' || contact_id as k from kwiga.contact_list_members where deleted_at is not null order by 1`)).map(
      (r) => r.k,
    )

  it('keeps order products, payments and transactions when an answer leaves those lists out', async () => {
    const before = {
      products: await count(wh, 'kwiga.order_products'),
      payments: await count(wh, 'kwiga.payments'),
      transactions: await count(wh, 'kwiga.transactions'),
      offerProducts: await count(wh, 'kwiga.offer_products'),
    }
    expect(before.payments).toBeGreaterThan(0)
    for (const list of ['order.products', 'order.payments', 'payment.transactions', 'offer.products'] as const) ds.omit.add(list)
    try {
      await clock.sleep(3600_000)
      const res = await syncKwiga(kit, { full: true, streams: ['offers', 'contacts'] })
      expect(res.results.every((r) => r.status === 'succeeded')).toBe(true)
    } finally {
      ds.omit.clear()
    }
    const after = {
      products: await count(wh, 'kwiga.order_products'),
      payments: await count(wh, 'kwiga.payments'),
      transactions: await count(wh, 'kwiga.transactions'),
      offerProducts: await count(wh, 'kwiga.offer_products'),
    }
    expect(after).toEqual(before)
  })

  it("stores a course user's own last activity only (null when the course progress has none)", async () => {
    const stored = await rows(
      sql<{ course_id: string; user_id: string; last_active_at: Date | null }>`select course_id::text, user_id::text, last_active_at from kwiga.course_users`,
    )
    const truth = new Map(ds.courseUsers.filter((cu) => ds.contact(cu.contactId)).map((cu) => [`${cu.courseId}:${cu.userId}`, cu.lastActiveAt]))
    const wrong = stored.filter((r) => {
      const t = truth.get(`${r.course_id}:${r.user_id}`)
      // The simulator trims course_progress for half the courses: then the source said nothing.
      return r.last_active_at !== null && (t === null || t === undefined || Math.abs(r.last_active_at.getTime() - t) >= 1000)
    })
    expect(wrong).toEqual([])
    expect(stored.some((r) => r.last_active_at === null)).toBe(true)
  })

  it('marks removed contacts, students and list members deleted on a full read, not on an incremental one; undeletes on return', async () => {
    const member = ds.contactLists.find((l) => l.contactIds.some((id) => ds.contact(id)?.broken === null))!
    const gone = ds.contact(member.contactIds.find((id) => ds.contact(id)?.broken === null)!)!
    const lists = ds.contactLists
      .filter((l) => l.contactIds.includes(gone.id))
      .map((l) => `${l.id}:${gone.id}`)
      .sort()
    const student = ds.courseUsers.find((cu) => cu.contactId !== gone.id && ds.contact(cu.contactId))!
    ds.deleteContact(gone.id)
    ds.removeCourseUser(student.courseId, student.contactId)

    // Incremental: partial reads mark nothing.
    await clock.sleep(3600_000)
    const incremental = await syncKwiga(kit, { streams: ['contacts', 'course_users'] })
    expect(incremental.results.every((r) => r.status === 'succeeded')).toBe(true)
    expect(await deletedContacts()).toEqual([])
    expect(await deletedStudents()).toEqual([])

    await clock.sleep(3600_000)
    const full = await syncKwiga(kit, { full: true })
    expect(full.results.every((r) => r.status === 'succeeded')).toBe(true)
    expect(await deletedContacts()).toEqual([String(gone.id)])
    expect(await deletedStudents()).toEqual([`${student.courseId}:${student.userId}`])
    expect(await deletedMembers()).toEqual(lists)
    const marked = Object.fromEntries(full.results.filter((r) => r.counts.markedDeleted).map((r) => [r.stream, r.counts.markedDeleted]))
    expect(marked).toEqual({ contacts: 1, course_users: 1, contact_lists: lists.length })
    // `status` shows what the last run marked.
    const report = await collectStatus(wh.db, kit.config, [kwigaSource], 'test')
    expect(report.streams.find((st) => st.stream === 'contacts')).toMatchObject({ markedDeleted: 1, undeleted: 0 })
    expect(formatStatus(report)).toMatch(/contacts\s+succeeded.*\+1\/-0/)
    // Present rows equal the simulator's.
    const present = (await rows(sql<{ id: string }>`select contact_id::text as id from kwiga.contacts where deleted_at is null order by contact_id`)).map(
      (r) => r.id,
    )
    expect(present).toEqual(
      ds.contacts
        .filter((c) => c.broken === null)
        .map((c) => String(c.id))
        .sort((a, b) => Number(a) - Number(b)),
    )
    // The views leave them out.
    const inView = await rows(sql<{ n: number }>`select count(*)::int as n from analytics.people where source = 'kwiga' and person_id = ${gone.id}`)
    expect(inView[0]!.n).toBe(0)

    ds.restoreContact(gone.id)
    await clock.sleep(3600_000)
    const back = await syncKwiga(kit, { full: true, streams: ['contact_lists', 'contacts'] })
    expect(back.results.find((r) => r.stream === 'contacts')!.counts.undeleted).toBe(1)
    expect(await deletedContacts()).toEqual([])
    expect(await deletedMembers()).toEqual([])
    const left = await rows(
      sql<{ n: number }>`select (select count(*) from etl.listing_keys)::int + (select count(*) from etl.listings where closed_at is null)::int as n`,
    )
    expect(left[0]!.n).toBe(0)
  })
})
