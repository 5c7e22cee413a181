import { z } from 'zod'
import type { TableWrite } from '../../db/upsert.js'
import type { RejectInput } from '../../contract.js'
import { crawlPlanSchema, filterSince, later, normalizeEach, replaceWrite, runCrawl, type CrawlStep } from './crawl.js'
import { normalizeContact, type ContactRows } from './normalize.js'
import { resumablePlan, type KwigaStreamDef, type StreamKit } from './stream-context.js'

/** Newest `created_at` and `last_activity_at` loaded: where the next incremental run starts. */
const watermarkSchema = z.object({ createdAt: z.string().nullable().optional(), lastActivityAt: z.string().nullable().optional() })
export type ContactsWatermark = z.infer<typeof watermarkSchema>

const contactsStateSchema = z.object({
  watermark: watermarkSchema.optional(),
  lastFullAt: z.string().nullable().optional(),
  plan: crawlPlanSchema(watermarkSchema).optional(),
})
type ContactsState = z.infer<typeof contactsStateSchema>

const BASE_QUERY: [string, string][] = [
  ['with_orders', '1'],
  ['with_certificates', '1'],
  // Ascending ids: contacts created during the crawl land on the last page instead of shifting the others.
  ['sort_by', 'asc'],
]

/**
 * Contacts with their tags, offers, orders (products, payments, transactions) and certificates; the
 * only way to reach orders and payments (§2.1).
 *
 * Incremental runs read two filtered lists, because the filters are ANDed and mean different things
 * (§2 R1): `filters[date_from]` is the creation date (new contacts) and `filters[last_activity_from]`
 * the last activity (purchases, course progress). Both start at the watermark minus the overlap. Tag
 * edits and payment-status changes may not count as activity (§6: unknown; the simulator says they do
 * not), so every `fullRefreshMs` (and with `--full`) the whole list is read instead.
 */
export function contactsStream(cabinet: string): KwigaStreamDef<ContactsState> {
  return { state: contactsStateSchema, run: (k) => contacts(k, cabinet) }
}

async function* contacts(k: StreamKit<ContactsState>, cabinet: string) {
  const saved: ContactsState = k.ctx.state ?? {}
  const startedAt = new Date(k.ctx.clock.now()).toISOString()
  const plan = resumablePlan<ContactsWatermark>(k.ctx, () => {
    const watermark = saved.watermark ?? null
    const full = k.full(watermark, saved.lastFullAt ?? null)
    const step = (label: string, filter: [string, string][]): CrawlStep => ({
      label,
      path: '/contacts',
      query: [...BASE_QUERY, ...filter],
      pageSize: k.options.contactsPageSize,
    })
    const steps: CrawlStep[] = []
    if (full || !watermark) steps.push(step('contacts', []))
    else {
      if (watermark.createdAt) steps.push(step('new contacts', [['filters[date_from]', filterSince(watermark.createdAt, k.options.overlapMs)]]))
      if (watermark.lastActivityAt)
        steps.push(step('active contacts', [['filters[last_activity_from]', filterSince(watermark.lastActivityAt, k.options.overlapMs)]]))
    }
    return { steps, step: 0, page: 1, candidate: { createdAt: watermark?.createdAt ?? null, lastActivityAt: watermark?.lastActivityAt ?? null }, full }
  })
  yield* runCrawl({
    ctx: k.ctx,
    client: k.client,
    plan,
    saved: { ...saved },
    load: (_step, page, candidate) => {
      const rejects: RejectInput[] = []
      const missed: (string | null)[] = []
      const contacts = normalizeEach(page.items, rejects, (item) => normalizeContact(cabinet, item), missed)
      let next = candidate
      for (const c of contacts) {
        rejects.push(...c.rejects)
        next = {
          createdAt: later(next.createdAt, c.contact.created_at as string | null),
          lastActivityAt: later(next.lastActivityAt, c.contact.last_activity_at as string | null),
        }
      }
      return { writes: contactWrites(cabinet, contacts), rejects, candidate: next, missed }
    },
    // A full read lists every contact of the cabinet (README "Deletions").
    listed: () => [{ table: 'kwiga.contacts', key: ['cabinet', 'contact_id'], scope: { cabinet } }],
    finish: (candidate) => ({ watermark: candidate, lastFullAt: plan.full ? startedAt : (saved.lastFullAt ?? null) }),
  })
}

/** Parents first (foreign keys); each child set replaces the stored one of the parents re-read. */
export function contactWrites(cabinet: string, contacts: readonly ContactRows[]): TableWrite[] {
  const keyOf = (c: ContactRows) => [cabinet, c.contact.contact_id]
  const loaded = <K extends keyof ContactRows>(key: K) => contacts.filter((c) => c[key] !== null)
  const withTags = loaded('contactTags')
  const withOffers = loaded('contactOffers')
  const withOrders = loaded('orders')
  // A contact one of whose orders was rejected keeps its stored orders (the rejected one exists upstream).
  const ordersReplaced = withOrders.filter((c) => c.ordersWhole)
  const withCertificates = loaded('certificates')
  const orders = withOrders.flatMap((c) => c.orders!)
  const payments = contacts.flatMap((c) => c.payments)
  // An order's products / payments and a payment's transactions are replaced only when the answer
  // carried that list: absent means "not sent" (reference §4.36), `[]` means none.
  const productParents = contacts.flatMap((c) => c.orderProductParents)
  const paymentParents = contacts.flatMap((c) => c.paymentParents)
  const transactionParents = contacts.flatMap((c) => c.transactionParents)
  return [
    { table: 'kwiga.contacts', key: ['cabinet', 'contact_id'], rows: contacts.map((c) => c.contact) },
    { table: 'kwiga.tags', key: ['cabinet', 'tag_id'], rows: contacts.flatMap((c) => c.tags ?? []) },
    replaceWrite(
      'kwiga.contact_tags',
      ['cabinet', 'contact_id', 'tag_id'],
      withTags.flatMap((c) => c.contactTags!),
      ['cabinet', 'contact_id'],
      withTags.map(keyOf),
    ),
    replaceWrite(
      'kwiga.contact_offers',
      ['cabinet', 'contact_id', 'offer_id'],
      withOffers.flatMap((c) => c.contactOffers!),
      ['cabinet', 'contact_id'],
      withOffers.map(keyOf),
    ),
    replaceWrite('kwiga.orders', ['cabinet', 'order_id'], orders, ['cabinet', 'contact_id'], ordersReplaced.map(keyOf)),
    replaceWrite(
      'kwiga.order_products',
      ['cabinet', 'order_id', 'product_id'],
      contacts.flatMap((c) => c.orderProducts),
      ['cabinet', 'order_id'],
      productParents.map((id) => [cabinet, id]),
    ),
    replaceWrite(
      'kwiga.payments',
      ['cabinet', 'payment_id'],
      payments,
      ['cabinet', 'order_id'],
      paymentParents.map((id) => [cabinet, id]),
    ),
    replaceWrite(
      'kwiga.transactions',
      ['cabinet', 'transaction_id'],
      contacts.flatMap((c) => c.transactions),
      ['cabinet', 'payment_id'],
      transactionParents.map((id) => [cabinet, id]),
    ),
    replaceWrite(
      'kwiga.certificates',
      ['cabinet', 'certificate_id'],
      withCertificates.flatMap((c) => c.certificates!),
      ['cabinet', 'contact_id'],
      withCertificates.map(keyOf),
    ),
    {
      table: 'kwiga.contact_product_checks',
      key: ['cabinet', 'contact_id'],
      rows: contacts.map((c) => ({ cabinet, contact_id: c.contact.contact_id, contact_hash: c.hash })),
    },
  ]
}
