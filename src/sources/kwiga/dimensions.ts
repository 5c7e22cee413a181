import { z } from 'zod'
import type { TableWrite } from '../../db/upsert.js'
import type { RejectInput } from '../../contract.js'
import { crawlPlanSchema, filterSince, later, normalizeEach, replaceWrite, runCrawl, type CrawlStep, type PageLoad } from './crawl.js'
import {
  normalizeContactList,
  normalizeContactListDetail,
  normalizeCoupon,
  normalizeCourse,
  normalizeOffer,
  normalizeProduct,
  normalizeTimezone,
} from './normalize.js'
import type { Page } from './pages.js'
import { int, isItem } from './values.js'
import { resumablePlan, type KwigaStreamDef, type StreamKit } from './stream-context.js'

/** Small lists read whole on every run (products, offers, courses, contact lists, timezones). */

/** When the list was last read whole, or the read in progress. */
const refreshStateSchema = z.object({ completedAt: z.string().optional(), plan: crawlPlanSchema(z.null()).optional() })
type RefreshState = z.infer<typeof refreshStateSchema>

type LoadPage = (page: Page, k: StreamKit<RefreshState>) => Promise<Omit<PageLoad<null>, 'candidate'>> | Omit<PageLoad<null>, 'candidate'>

/** Every run reads the whole list: a complete listing of `table` in the cabinet (README "Deletions"). */
function fullRefresh(step: CrawlStep, table: { name: string; key: readonly string[] }, load: LoadPage): KwigaStreamDef<RefreshState> {
  return {
    state: refreshStateSchema,
    async *run(k) {
      const plan = resumablePlan<null>(k.ctx, () => ({ steps: [step], step: 0, page: 1, candidate: null, full: true }))
      yield* runCrawl({
        ctx: k.ctx,
        client: k.client,
        plan,
        saved: {},
        load: async (_step, page) => ({ ...(await load(page, k)), candidate: null }),
        finish: () => ({ completedAt: new Date(k.ctx.clock.now()).toISOString() }),
        listed: () => [{ table: table.name, key: table.key, scope: { cabinet: k.cabinet.name } }],
      })
    },
  }
}

export function timezonesStream(cabinet: string): KwigaStreamDef<RefreshState> {
  return fullRefresh(
    { label: 'timezones', path: '/timezones', query: [], pageSize: 100 },
    { name: 'kwiga.timezones', key: ['cabinet', 'timezone_id'] },
    (page) => {
      const rejects: RejectInput[] = []
      const missed: (string | null)[] = []
      const rows = normalizeEach(page.items, rejects, (i) => normalizeTimezone(cabinet, i), missed)
      return { writes: [{ table: 'kwiga.timezones', key: ['cabinet', 'timezone_id'], rows }], rejects, missed }
    },
  )
}

export function productsStream(cabinet: string): KwigaStreamDef<RefreshState> {
  return fullRefresh(
    { label: 'products', path: '/products', query: [['sort_by', 'asc']], pageSize: 100 },
    { name: 'kwiga.products', key: ['cabinet', 'product_id'] },
    (page) => {
      const rejects: RejectInput[] = []
      const missed: (string | null)[] = []
      const rows = normalizeEach(page.items, rejects, (i) => normalizeProduct(cabinet, i), missed)
      return { writes: [{ table: 'kwiga.products', key: ['cabinet', 'product_id'], rows }], rejects, missed }
    },
  )
}

/**
 * The list, then one detail call per offer (§2 R10) for its sales counters `purchases_count` and
 * `sales_left`, which only the detail carries. An offer gone between the list and its detail (404)
 * keeps NULL counters.
 */
export function offersStream(cabinet: string): KwigaStreamDef<RefreshState> {
  // No sort_by on /offers (§2 R9): pages shifting under a new offer are handled in pages.ts.
  return fullRefresh(
    { label: 'offers', path: '/offers', query: [], pageSize: 100 },
    { name: 'kwiga.offers', key: ['cabinet', 'offer_id'] },
    async (page, k) => {
      const rejects: RejectInput[] = []
      const missed: (string | null)[] = []
      const offers = normalizeEach(page.items, rejects, (i) => normalizeOffer(cabinet, i), missed)
      for (const { offer } of offers) {
        const body = await k.client.get(`/offers/${offer.offer_id}`, [], 'object')
        const detail = body && isItem(body.data) ? body.data : null
        if (!detail) continue
        offer.purchases_count = int(detail.purchases_count)
        offer.sales_left = int(detail.sales_left)
      }
      return {
        writes: [
          { table: 'kwiga.offers', key: ['cabinet', 'offer_id'], rows: offers.map((o) => o.offer) },
          // Only offers whose answer carried the products list: an absent list is "not sent", never "none".
          replaceWrite(
            'kwiga.offer_products',
            ['cabinet', 'offer_id', 'product_id'],
            offers.flatMap((o) => o.products),
            ['cabinet', 'offer_id'],
            offers.filter((o) => o.productsWhole).map((o) => [cabinet, o.offer.offer_id]),
          ),
        ],
        rejects,
        missed,
      }
    },
  )
}

export function coursesStream(cabinet: string): KwigaStreamDef<RefreshState> {
  // per_page is capped at 15 for courses (§2 R6).
  const query: [string, string][] = [
    ['with[]', 'offers'],
    ['sort_by', 'asc'],
  ]
  return fullRefresh({ label: 'courses', path: '/courses', query, pageSize: 15 }, { name: 'kwiga.courses', key: ['cabinet', 'course_id'] }, (page) => {
    const rejects: RejectInput[] = []
    const missed: (string | null)[] = []
    const courses = normalizeEach(page.items, rejects, (i) => normalizeCourse(cabinet, i), missed)
    const withOffers = courses.filter((c) => c.offers !== null)
    return {
      writes: [
        { table: 'kwiga.courses', key: ['cabinet', 'course_id'], rows: courses.map((c) => c.course) },
        replaceWrite(
          'kwiga.course_offers',
          ['cabinet', 'course_id', 'offer_id'],
          withOffers.flatMap((c) => c.offers!),
          ['cabinet', 'course_id'],
          withOffers.map((c) => [cabinet, c.course.course_id]),
        ),
      ],
      rejects,
      missed,
    }
  })
}

/** Lists (page/`limit`, §4.10), then one detail call per list for its embedded members (§2 R12). */
export function contactListsStream(cabinet: string): KwigaStreamDef<RefreshState> {
  const step: CrawlStep = { label: 'contact lists', path: '/mailing/contact-lists', query: [], pageSize: 100, sizeParam: 'limit' }
  return fullRefresh(step, { name: 'kwiga.contact_lists', key: ['cabinet', 'list_id'] }, async (page, k) => {
    const rejects: RejectInput[] = []
    const missed: (string | null)[] = []
    const lists = normalizeEach(page.items, rejects, (i) => normalizeContactList(cabinet, i), missed)
    const members: TableWrite['rows'] = []
    const parents: unknown[][] = []
    for (const list of lists) {
      const body = await k.client.get(`/mailing/contact-lists/${list.list_id}`, [], 'object')
      if (body === null) {
        k.ctx.log.warn({ listId: list.list_id }, 'contact list vanished between the list and its detail (404); members left as they were')
        continue
      }
      const detail = normalizeContactListDetail(cabinet, body.data)
      Object.assign(list, detail.list)
      if (detail.members === null) continue
      members.push(...detail.members)
      // Only a list embedded whole lists the members completely: a shorter one (the detail caps what
      // it embeds) adds and refreshes members but marks none as gone.
      if (!detail.membersWhole) {
        k.ctx.log.warn({ listId: list.list_id }, 'contact list detail embeds members without an id; members not checked for removal')
      } else if (detail.countContacts !== null && detail.countContacts > detail.members.length) {
        k.ctx.log.warn(
          { listId: list.list_id, embedded: detail.members.length, counted: detail.countContacts },
          'contact list detail embeds fewer members than its statistic counts; members not checked for removal',
        )
      } else parents.push([cabinet, list.list_id])
    }
    return {
      writes: [
        { table: 'kwiga.contact_lists', key: ['cabinet', 'list_id'], rows: lists },
        { ...replaceWrite('kwiga.contact_list_members', ['cabinet', 'list_id', 'contact_id'], members, ['cabinet', 'list_id'], parents, 'mark') },
      ],
      rejects,
      missed,
    }
  })
}

const couponStateSchema = z.object({
  /** Latest `created_at` loaded. */
  watermark: z.string().nullable().optional(),
  lastFullAt: z.string().nullable().optional(),
  plan: crawlPlanSchema(z.string().nullable()).optional(),
})
type CouponState = z.infer<typeof couponStateSchema>

/**
 * Coupons: incremental on `filters[date_from]` (creation date, §2 R13) from the newest coupon seen,
 * minus the overlap; a full read (every `fullRefreshMs`, or `--full`) picks up `used_amount`,
 * `is_active` and `deleted_at`, which change after creation. No pagination is documented: pages.ts
 * treats an answer without `meta` as the only page.
 */
export function couponsStream(cabinet: string): KwigaStreamDef<CouponState> {
  return { state: couponStateSchema, run: (k) => coupons(k, cabinet) }
}

async function* coupons(k: StreamKit<CouponState>, cabinet: string) {
  const saved: CouponState = k.ctx.state ?? {}
  const now = new Date(k.ctx.clock.now()).toISOString()
  const plan = resumablePlan<string | null>(k.ctx, () => {
    const full = k.full(saved.watermark ?? null, saved.lastFullAt ?? null)
    const query: [string, string][] = full || !saved.watermark ? [] : [['filters[date_from]', filterSince(saved.watermark, k.options.overlapMs)]]
    return { steps: [{ label: 'coupons', path: '/coupons', query, pageSize: 100 }], step: 0, page: 1, candidate: saved.watermark ?? null, full }
  })
  yield* runCrawl({
    ctx: k.ctx,
    client: k.client,
    plan,
    saved: { ...saved },
    load: (_step, page, candidate) => {
      const rejects: RejectInput[] = []
      const missed: (string | null)[] = []
      const rows = normalizeEach(page.items, rejects, (i) => normalizeCoupon(cabinet, i), missed)
      for (const r of rows) candidate = later(candidate, r.created_at as string | null)
      return { writes: [{ table: 'kwiga.coupons', key: ['cabinet', 'coupon_id'], rows }], rejects, candidate, missed }
    },
    listed: () => [{ table: 'kwiga.coupons', key: ['cabinet', 'coupon_id'], scope: { cabinet } }],
    finish: (candidate) => ({ watermark: candidate, lastFullAt: plan.full ? now : (saved.lastFullAt ?? null) }),
  })
}
