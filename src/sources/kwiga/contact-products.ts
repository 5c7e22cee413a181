import { sql } from 'kysely'
import type { Db } from '../../db/index.js'
import { requireUpstream } from '../../db/runs.js'
import { z } from 'zod'
import type { Batch, RejectInput } from '../../contract.js'
import { itemFields, normalizeEach, replaceWrite } from './crawl.js'
import { normalizeContactProduct, type ContactProductRows } from './normalize.js'
import { fetchPages } from './pages.js'
import type { KwigaStreamDef, StreamKit } from './stream-context.js'

/** When contacts were last checked, or when a run found none due. */
const contactProductsStateSchema = z.object({ checkedAt: z.string().optional(), completedAt: z.string().optional() })
type ContactProductsState = z.infer<typeof contactProductsStateSchema>

export interface ContactToCheck {
  contactId: string
  contactHash: string
}

/**
 * Contacts whose `/contacts/:id/products` is due: every contact whose fingerprint changed since it
 * was last checked (written by the contacts stream), then the `sweepSize` checked longest ago, so
 * access that changes without touching the contact (expiry, revocation) is seen within a bounded time.
 */
export async function contactsToCheck(db: Db, cabinet: string, sweepSize: number): Promise<ContactToCheck[]> {
  const { rows } = await sql<{ contact_id: string; contact_hash: string }>`
    (select contact_id, contact_hash from kwiga.contact_product_checks
      where cabinet = ${cabinet} and checked_hash is distinct from contact_hash
      order by contact_id)
    union all
    (select contact_id, contact_hash from kwiga.contact_product_checks
      where cabinet = ${cabinet} and checked_hash = contact_hash
      order by checked_at nulls first, contact_id
      limit ${sweepSize})`.execute(db)
  return rows.map((r) => ({ contactId: String(r.contact_id), contactHash: r.contact_hash }))
}

/** One call per contact (N+1, §6): access rows and subscriptions, replaced per contact. */
export function contactProductsStream(cabinet: string): KwigaStreamDef<ContactProductsState> {
  return { state: contactProductsStateSchema, run: (k) => contactProducts(k, cabinet) }
}

async function* contactProducts(k: StreamKit<ContactProductsState>, cabinet: string): AsyncIterable<Batch<ContactProductsState>> {
  await requireUpstream(
    k.ctx.db,
    k.ctx.runId,
    { source: 'kwiga', account: cabinet, stream: 'contacts' },
    "contacts' products are read for the contacts that stream stored",
  )
  const todo = await contactsToCheck(k.ctx.db, cabinet, k.options.sweepSize)
  k.ctx.log.info({ contacts: todo.length }, 'contacts to check for products')
  for (let i = 0; i < todo.length; i += k.options.contactsPerBatch) {
    const group = todo.slice(i, i + k.options.contactsPerBatch)
    k.ctx.progress({ phase: 'contact products', done: i, total: todo.length })
    yield await loadGroup(k, cabinet, group)
  }
  if (!todo.length) yield { writes: [], read: 0, state: { completedAt: new Date(k.ctx.clock.now()).toISOString() } }
}

async function loadGroup(k: StreamKit<ContactProductsState>, cabinet: string, group: readonly ContactToCheck[]): Promise<Batch<ContactProductsState>> {
  const rejects: RejectInput[] = []
  const products: ContactProductRows[] = []
  const parents: unknown[][] = []
  const fields = new Set<string>()
  let read = 0
  const answers = await readAll(k, group)
  for (const [n, { contactId }] of group.entries()) {
    const items = answers[n]!
    if (items === null) {
      k.ctx.log.info({ contactId }, 'contact not found (404) while reading its products; skipped')
      continue
    }
    read += items.length
    for (const name of itemFields(items)) fields.add(name)
    products.push(...normalizeEach(items, rejects, (item) => normalizeContactProduct(cabinet, contactId, item)))
    parents.push([cabinet, contactId])
  }
  const checkedAt = new Date(k.ctx.clock.now()).toISOString()
  return {
    writes: [
      // The answer lists all of a contact's products: the ones it no longer has are marked deleted.
      replaceWrite(
        'kwiga.contact_products',
        ['cabinet', 'contact_id', 'product_id'],
        products.map((p) => p.product),
        ['cabinet', 'contact_id'],
        parents,
        'mark',
      ),
      // Per product, and only where the answer carried its subscriptions whole (absent = not sent).
      replaceWrite(
        'kwiga.product_subscriptions',
        ['cabinet', 'subscription_id'],
        products.flatMap((p) => p.subscriptions),
        ['cabinet', 'contact_id', 'product_id'],
        products.filter((p) => p.subscriptionsWhole).map((p) => [cabinet, p.product.contact_id, p.product.product_id]),
      ),
      {
        table: 'kwiga.contact_product_checks',
        key: ['cabinet', 'contact_id'],
        rows: group.map((c) => ({ cabinet, contact_id: c.contactId, contact_hash: c.contactHash, checked_hash: c.contactHash, checked_at: checkedAt })),
      },
    ],
    rejects,
    read,
    // The item fields, like the crawled endpoints' (etl.schema_changes).
    fields: fields.size ? [{ scope: '/contacts/:id/products', names: [...fields] }] : [],
    state: { checkedAt },
  }
}

/**
 * Up to this many contacts' products are read at once. The token's limiter still paces them; with
 * several in flight a request's latency no longer idles the budget (200 / min is one request every
 * 0.3 s: at a 0.5 s answer time, one at a time would use 60 % of it).
 */
const CONTACTS_IN_FLIGHT = 4

/** Every contact's items, in the group's order (null: 404). */
async function readAll(k: StreamKit<ContactProductsState>, group: readonly ContactToCheck[]): Promise<(unknown[] | null)[]> {
  const answers: (unknown[] | null)[] = new Array(group.length)
  let next = 0
  let failed = false
  const lane = async () => {
    // After a failure the other lanes finish the request they are in and take no new one.
    while (next < group.length && !failed) {
      const n = next++
      try {
        answers[n] = await readContactProducts(k, group[n]!.contactId)
      } catch (err) {
        failed = true
        throw err
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONTACTS_IN_FLIGHT, group.length) }, lane))
  return answers
}

/** Items of every page (documented as paginated, answered without `meta`: §4.33); null on 404. */
async function readContactProducts(k: StreamKit<ContactProductsState>, contactId: string): Promise<unknown[] | null> {
  const items: unknown[] = []
  for await (const page of fetchPages(k.client, { path: `/contacts/${contactId}/products`, pageSize: 100 })) {
    if (page.notFound) return null
    items.push(...page.items)
  }
  return items
}
