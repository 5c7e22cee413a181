import { describe, expect, it } from 'vitest'
import { SimDataset } from './data.js'

const NOW = Date.UTC(2026, 0, 15, 12)
const TWO_YEARS = 2 * 365 * 86_400_000

function dataset(contacts = 1_000, seed = 11) {
  return new SimDataset('cab-test', { contacts, seed }, () => NOW)
}

describe('SimDataset', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = dataset()
    const b = dataset()
    expect(JSON.stringify([a.contacts, a.orders, a.courseUsers, a.coupons])).toBe(JSON.stringify([b.contacts, b.orders, b.courseUsers, b.coupons]))
    expect(dataset(1_000, 12).contacts[0].email).not.toBe(a.contacts[0].email)
    expect(new SimDataset('other-hash', { contacts: 10 }, () => NOW).seed).not.toBe(new SimDataset('cab-test', { contacts: 10 }, () => NOW).seed)
  })

  it('hands out auto-increment-like ids that follow creation time, within the last two years', () => {
    const ds = dataset()
    for (let i = 1; i < ds.contacts.length; i++) {
      expect(ds.contacts[i].id).toBeGreaterThan(ds.contacts[i - 1].id)
      expect(ds.contacts[i].createdAt).toBeGreaterThanOrEqual(ds.contacts[i - 1].createdAt)
    }
    for (const c of ds.contacts) {
      expect(c.createdAt).toBeGreaterThanOrEqual(NOW - TWO_YEARS)
      expect(c.createdAt).toBeLessThanOrEqual(NOW)
      if (c.lastActivityAt !== null) expect(c.lastActivityAt).toBeGreaterThanOrEqual(c.createdAt)
      expect(c.lastActivityAt ?? 0).toBeLessThanOrEqual(NOW)
    }
    const orderIds = ds.orders.map((o) => o.id)
    expect(orderIds).toEqual([...orderIds].sort((x, y) => x - y))
  })

  it('backs every enrolment with access, and every paid order with payments that add up', () => {
    const ds = dataset()
    for (const course of ds.courses) expect(ds.courseUsers.filter((u) => u.courseId === course.id)).toHaveLength(50)
    for (const cu of ds.courseUsers) {
      const course = ds.courses.find((c) => c.id === cu.courseId)!
      expect(ds.subscriptionsOf(cu.contactId).some((s) => s.productId === course.productId)).toBe(true)
      expect(ds.contact(cu.contactId)!.userId).toBe(cu.userId)
      for (const q of cu.quizProgress) expect(course.lessons.find((l) => l.id === q.lessonId)!.quizIds).toContain(q.quizId)
    }
    for (const o of ds.orders) {
      expect(o.createdAt).toBeLessThanOrEqual(NOW)
      if (o.amount === 0) continue
      const total = o.payments.reduce((n, p) => n + p.amount, 0)
      expect(Math.abs(total - o.amount)).toBeLessThan(0.05)
      for (const p of o.payments) for (const t of p.transactions) expect([t.paymentId, t.orderId]).toEqual([p.id, o.id])
    }
  })

  it('shares one quiz between two lessons somewhere, so quiz progress needs the (lesson, quiz) pair', () => {
    const ds = dataset(100, 5)
    const shared = ds.courses.flatMap((c) => c.quizzes.filter((q) => c.lessons.filter((l) => l.quizIds.includes(q.id)).length > 1))
    expect(shared.length).toBeGreaterThan(0)
  })

  it('declares one broken contact per 500, never enrolled and never buying', () => {
    const ds = dataset(2_000)
    const broken = ds.brokenContacts()
    expect(broken.map((c) => c.broken)).toEqual(['null-id', 'zero-created-at', 'null-id', 'zero-created-at'])
    for (const c of broken) {
      expect(ds.ordersOf(c.id)).toHaveLength(0)
      expect(ds.courseUsers.some((u) => u.contactId === c.id)).toBe(false)
    }
  })

  it('generates 20,000 contacts quickly', () => {
    const t = performance.now()
    expect(dataset(20_000).contacts).toHaveLength(20_000)
    expect(performance.now() - t).toBeLessThan(5_000)
  })
})
