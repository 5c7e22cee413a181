import type { SimDataset } from '../../src/simulators/kwiga/server.js'

/** Row counts each kwiga table should hold after a complete load of one simulated cabinet. */
export function expectedCounts(ds: SimDataset): Record<string, number> {
  const good = ds.contacts.filter((c) => c.broken === null)
  const goodIds = new Set(good.map((c) => c.id))
  const orders = good.flatMap((c) => ds.ordersOf(c.id))
  const payments = orders.flatMap((o) => o.payments)
  const productIds = new Set(ds.products.map((p) => p.id))
  const contactProducts = new Set<string>()
  let subscriptions = 0
  for (const c of good) {
    for (const s of ds.subscriptionsOf(c.id)) {
      if (!productIds.has(s.productId)) continue
      contactProducts.add(`${c.id}:${s.productId}`)
      subscriptions++
    }
  }
  const nodes = (list: readonly { children: readonly unknown[] }[]): number => list.reduce((n, node) => n + 1 + nodes(node.children as never), 0)
  const courseUsers = ds.courseUsers.filter((cu) => ds.contact(cu.contactId))
  const offersBought = good.map(
    (c) =>
      new Set(
        ds
          .ordersOf(c.id)
          .filter((o) => o.paidStatus !== 'not_paid' && o.offerId !== null)
          .map((o) => o.offerId),
      ).size,
  )
  return {
    'kwiga.timezones': ds.timezones.length,
    'kwiga.products': ds.products.length,
    'kwiga.offers': ds.offers.length,
    'kwiga.offer_products': ds.offers.reduce((n, o) => n + o.productIds.filter((p) => productIds.has(p)).length, 0),
    'kwiga.courses': ds.courses.length,
    'kwiga.coupons': ds.coupons.length,
    'kwiga.contact_lists': ds.contactLists.length,
    'kwiga.contact_list_members': ds.contactLists.reduce((n, l) => n + l.contactIds.filter((id) => ds.contact(id)).length, 0),
    'kwiga.contacts': good.length,
    'kwiga.contact_tags': good.reduce((n, c) => n + new Set(c.tagIds).size, 0),
    'kwiga.tags': new Set(good.flatMap((c) => c.tagIds)).size,
    'kwiga.contact_offers': offersBought.reduce((a, b) => a + b, 0),
    'kwiga.orders': orders.length,
    'kwiga.order_products': orders.reduce((n, o) => n + new Set(o.productIds.filter((p) => productIds.has(p))).size, 0),
    'kwiga.payments': payments.length,
    'kwiga.transactions': payments.reduce((n, p) => n + p.transactions.length, 0),
    'kwiga.certificates': ds.certificates.filter((c) => goodIds.has(c.contactId)).length,
    'kwiga.contact_products': contactProducts.size,
    'kwiga.product_subscriptions': subscriptions,
    'kwiga.course_users': courseUsers.length,
    'kwiga.course_nodes': ds.courses.reduce((n, c) => n + nodes(c.program), 0),
    'kwiga.lesson_progress': courseUsers.reduce((n, cu) => n + cu.lessonProgress.length, 0),
    'kwiga.quiz_progress': courseUsers.reduce((n, cu) => n + cu.quizProgress.length, 0),
  }
}

export const CONTACT_TABLES = [
  'kwiga.contacts',
  'kwiga.contact_tags',
  'kwiga.orders',
  'kwiga.order_products',
  'kwiga.payments',
  'kwiga.transactions',
  'kwiga.certificates',
]
