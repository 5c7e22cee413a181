import { describe, expect, it } from 'vitest'
import { USER_FIELDS, dealFields } from './columns.js'
import { HISTORY_MS, SimDataset } from './data.js'
import { ZonedTime } from './local-time.js'
import { dealRow, rowContext, userRow } from './rows.js'

const NOW = Date.UTC(2026, 0, 15, 9)

function dataset(seed = 11, now = () => NOW) {
  return new SimDataset({ seed, users: 400, deals: 600, payments: 300, groups: 5, currency: 'RUB', now })
}

describe('SimDataset', () => {
  it('is the same for the same seed and different for another', () => {
    expect(JSON.stringify(dataset(11).deals)).toBe(JSON.stringify(dataset(11).deals))
    expect(JSON.stringify(dataset(12).users)).not.toBe(JSON.stringify(dataset(11).users))
  })

  it('keeps references and dates consistent', () => {
    const data = dataset()
    const users = new Map(data.users.map((u) => [u.id, u]))
    const deals = new Map(data.deals.map((d) => [d.id, d]))
    expect(users.size).toBe(400)
    expect(new Set(data.users.map((u) => u.email.toLowerCase())).size).toBe(400)
    for (const u of data.users) {
      expect(u.createdAt).toBeGreaterThan(NOW - HISTORY_MS)
      expect(u.createdAt).toBeLessThan(NOW)
    }
    for (const d of data.deals) {
      const owner = users.get(d.userId)!
      expect(owner).toBeDefined()
      expect(d.createdAt).toBeGreaterThanOrEqual(owner.createdAt)
      expect(d.statusChangedAt).toBeGreaterThanOrEqual(d.createdAt)
      expect(d.updatedAt).toBeGreaterThanOrEqual(d.statusChangedAt)
      if (d.payedAt !== null) expect(d.payedAt).toBeGreaterThanOrEqual(d.createdAt)
      expect(d.statusChangedAt).toBeLessThanOrEqual(NOW)
    }
    for (const p of data.payments) {
      const deal = deals.get(p.dealId)!
      expect(deal).toBeDefined()
      expect(p.userId).toBe(deal.userId)
      expect(p.createdAt).toBeGreaterThanOrEqual(deal.createdAt)
      expect(p.statusChangedAt).toBeGreaterThanOrEqual(p.createdAt)
    }
    for (const g of data.groups) for (const m of g.members) expect(m.addedAt).toBeGreaterThanOrEqual(users.get(m.userId)!.createdAt)
    expect(new Set(data.deals.map((d) => d.status)).size).toBeGreaterThanOrEqual(6)
  })

  it('replaces records on mutation, so earlier snapshots keep their values', () => {
    let now = NOW
    const data = dataset(11, () => now)
    const before = data.deals.find((d) => d.status === 'new' && d.cost > 0)!
    now += 60_000
    const after = data.changeDealStatus(before.id, 'payed')
    expect(before.status).toBe('new')
    expect(data.deal(before.id)).toBe(after)
    expect(after).toMatchObject({ status: 'payed', paid: before.cost, payedAt: now, statusChangedAt: now, finishedAt: now })
    const user = data.addUser()
    expect(user.createdAt).toBe(now)
    expect(user.id).toBeGreaterThan(data.users[data.users.length - 2].id)
  })

  it('renders rows aligned with the field lists, some shorter at the tail', () => {
    const data = dataset()
    const ctx = rowContext(new ZonedTime('Europe/Moscow'), NOW, 'RUB')
    const users = data.users.map((u) => userRow(u, ctx))
    expect(users.every((r) => r.length <= USER_FIELDS.length)).toBe(true)
    expect(users.some((r) => r.length < USER_FIELDS.length)).toBe(true)
    const byId = new Map(data.users.map((u) => [u.id, u]))
    const deals = data.deals.map((d) => dealRow(d, byId.get(d.userId), ctx))
    expect(deals.every((r) => r.length <= dealFields('RUB').length)).toBe(true)
  })
})

describe('ZonedTime', () => {
  it('formats account-local wall time and finds local midnight', () => {
    const moscow = new ZonedTime('Europe/Moscow')
    expect(moscow.dateTime(Date.UTC(2025, 11, 31, 22, 5, 9))).toBe('2026-01-01 01:05:09')
    expect(moscow.startOfDay(2026, 1, 1)).toBe(Date.UTC(2025, 11, 31, 21))
    const berlin = new ZonedTime('Europe/Berlin')
    expect(berlin.dateTime(Date.UTC(2025, 6, 1, 12))).toBe('2025-07-01 14:00:00')
    expect(berlin.startOfDay(2025, 7, 1)).toBe(Date.UTC(2025, 5, 30, 22))
    expect(moscow.dateTime(null)).toBe('')
  })
})
