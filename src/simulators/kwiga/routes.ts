/** Read endpoints of the KWIGA public API (reference §2.1): parameters → dataset query → rendered JSON. */
import type { SimContact, SimCourseUser, SimDataset } from './data.js'
import { FOREIGN_HOSTS, paginate, type PageStyle } from './pagination.js'
import { type Params, ValidationError } from './params.js'
import {
  courseProgramKey,
  courseUserStats,
  renderCertificateByNumber,
  renderContact,
  renderContactList,
  renderContactProducts,
  renderCoupon,
  renderCourse,
  renderCourseProgram,
  renderCourseUser,
  renderOffer,
  renderProduct,
  renderTimezone,
  type RenderContext,
} from './render.js'

export interface ApiRequest {
  ds: SimDataset
  params: Params
  /** Captures of the route pattern. */
  args: string[]
  render: RenderContext
  /** Fault `shift` is pending for this request. */
  shift: boolean
}

export interface ApiResponse {
  status: number
  body: unknown
}

export interface Route {
  method: 'GET' | 'POST'
  pattern: RegExp
  /** POST read alias: JSON body parameters win over the query string (§1, "POST read aliases"). */
  bodyParams?: boolean
  handle(req: ApiRequest): ApiResponse
}

interface PageSpec {
  param: 'per_page' | 'limit'
  fallback: number
  max: number
}

/**
 * Page sizes. Courses (15) and course users (250) are documented maxima; the others are undocumented
 * (§2.1, §7.4) and capped here at 100, so clients must read `meta.per_page` back.
 */
export const PAGE_SIZES = {
  contacts: { param: 'per_page', fallback: 15, max: 100 },
  products: { param: 'per_page', fallback: 15, max: 100 },
  offers: { param: 'per_page', fallback: 15, max: 100 },
  courses: { param: 'per_page', fallback: 15, max: 15 },
  courseUsers: { param: 'per_page', fallback: 15, max: 250 },
  // §4.10: the documented parameter is `limit`; `per_page` is ignored here.
  contactLists: { param: 'limit', fallback: 15, max: 100 },
} as const satisfies Record<string, PageSpec>

const STYLE = {
  contacts: { host: FOREIGN_HOSTS.kwiga, metaLinks: 'ua-missing' },
  products: { host: FOREIGN_HOSTS.kwiga, metaLinks: 'none' },
  courses: { host: FOREIGN_HOSTS.local, metaLinks: 'en' },
  courseUsers: { host: FOREIGN_HOSTS.example, metaLinks: 'none' },
  offers: { host: FOREIGN_HOSTS.local, metaLinks: 'en', toOffByOne: true },
  contactLists: { host: FOREIGN_HOSTS.kwiga, metaLinks: 'ua-missing' },
} as const satisfies Record<string, PageStyle>

const MODEL = {
  contact: 'App\\Models\\Crm\\Contact',
  course: 'App\\Models\\Course\\Course',
  offer: 'App\\Models\\Offer\\Offer',
  list: 'App\\Models\\Mailing\\ContactList',
  coupon: 'App\\Models\\Coupon\\ExpertCoupon',
  certificate: 'App\\Models\\Certificate\\Certificate',
}

function notFound(model: string, id: string): ApiResponse {
  return { status: 404, body: { message: `No query results for model [${model}] ${id}` } }
}

/** `sort_by` (default desc) → items ordered by id. */
function ordered<T extends { id: number }>(items: readonly T[], params: Params, sortable: boolean): T[] {
  const dir = sortable ? (params.get('sort_by') ?? 'desc').toLowerCase() : 'desc'
  if (dir !== 'asc' && dir !== 'desc') throw new ValidationError('sort_by', 'The selected sort by is invalid.')
  const copy = items.slice()
  copy.sort((a, b) => (dir === 'asc' ? a.id - b.id : b.id - a.id))
  return copy
}

function pageOf<T>(items: readonly T[], req: ApiRequest, path: string, spec: PageSpec, style: PageStyle) {
  const perPage = req.params.pageSize(spec.param, spec.fallback, spec.max)
  return paginate(items, path, style, { page: req.params.page(), perPage, shift: req.shift })
}

/** Small memo of filtered+sorted contact views, so deep crawls of 20k contacts do not refilter per page. */
const contactViews = new WeakMap<SimDataset, Map<string, SimContact[]>>()

function contactView(ds: SimDataset, key: string, build: () => SimContact[]): SimContact[] {
  let views = contactViews.get(ds)
  if (!views) contactViews.set(ds, (views = new Map()))
  const fullKey = `${ds.version}|${key}`
  let view = views.get(fullKey)
  if (!view) {
    if (views.size >= 16) views.delete(views.keys().next().value!)
    view = build()
    views.set(fullKey, view)
  }
  return view
}

function contactPredicate(ds: SimDataset, p: Params): ((c: SimContact) => boolean) | null {
  const checks: ((c: SimContact) => boolean)[] = []
  const dateFrom = p.date('filters[date_from]', 'from')
  const dateTo = p.date('filters[date_to]', 'to')
  const actFrom = p.date('filters[last_activity_from]', 'from')
  const actTo = p.date('filters[last_activity_to]', 'to')
  if (dateFrom !== undefined) checks.push((c) => c.createdAt >= dateFrom)
  if (dateTo !== undefined) checks.push((c) => c.createdAt <= dateTo)
  if (actFrom !== undefined) checks.push((c) => c.lastActivityAt !== null && c.lastActivityAt >= actFrom)
  if (actTo !== undefined) checks.push((c) => c.lastActivityAt !== null && c.lastActivityAt <= actTo)
  const search = p.get('filters[search]')?.trim().toLowerCase()
  if (search)
    checks.push(
      (c) =>
        [c.email, c.phone, c.phoneNational, c.firstName, c.middleName, c.lastName].some((v) => v?.toLowerCase().includes(search)) ||
        `${c.firstName ?? ''} ${c.lastName ?? ''}`.toLowerCase().includes(search),
    )
  const emails = p.list('filters[emails]')
  for (const e of emails)
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(e)) throw new ValidationError('filters.emails', 'The filters.emails field must contain valid email addresses.')
  if (emails.length) {
    const set = new Set(emails.map((e) => e.toLowerCase()))
    checks.push((c) => set.has(c.email.toLowerCase()))
  }
  const ids = p.intList('filters[contact_ids]')
  if (ids.length) {
    const set = new Set(ids)
    checks.push((c) => set.has(c.id))
  }
  const userIds = p.intList('filters[user_ids]')
  if (userIds.length) {
    const set = new Set(userIds)
    checks.push((c) => c.userId !== null && set.has(c.userId))
  }
  const offers = p.intList('filters[offers]')
  if (offers.length) {
    const set = new Set(offers)
    checks.push((c) => ds.ordersOf(c.id).some((o) => o.offerId !== null && set.has(o.offerId)))
  }
  const products = p.intList('filters[products]')
  if (products.length) {
    const set = new Set(products)
    checks.push((c) => ds.ordersOf(c.id).some((o) => o.productIds.some((id) => set.has(id))))
  }
  const utmKeys = [
    ['utm_source', 'utmSource'],
    ['utm_campaign', 'utmCampaign'],
    ['utm_medium', 'utmMedium'],
    ['utm_term', 'utmTerm'],
    ['utm_content', 'utmContent'],
  ] as const
  for (const [param, field] of utmKeys) {
    const v = p.get(`filters[${param}]`)
    if (v) checks.push((c) => c.visits.some((visit) => visit[field] === v))
  }
  return checks.length ? (c) => checks.every((check) => check(c)) : null
}

function listContacts(req: ApiRequest): ApiResponse {
  const { ds, params } = req
  const predicate = contactPredicate(ds, params)
  const dir = (params.get('sort_by') ?? 'desc').toLowerCase()
  if (dir !== 'asc' && dir !== 'desc') throw new ValidationError('sort_by', 'The selected sort by is invalid.')
  const filterKey = JSON.stringify(
    Object.entries(params.raw)
      .filter(([k]) => k.startsWith('filters['))
      .sort(),
  )
  const view = contactView(ds, `${dir}|${filterKey}`, () => {
    const rows = predicate ? ds.contacts.filter(predicate) : ds.contacts.slice()
    return dir === 'asc' ? rows : rows.reverse()
  })
  const page = pageOf(view, req, '/contacts', PAGE_SIZES.contacts, STYLE.contacts)
  // §4.9: `with_offers=1` (sent by the docs' own example) is not a documented flag and changes nothing.
  const opts = { withOrders: params.bool('with_orders'), withCertificates: params.bool('with_certificates'), detail: false }
  return { status: 200, body: { data: page.items.map((c) => renderContact(req.render, c, opts)), links: page.links, meta: page.meta } }
}

function showContact(req: ApiRequest): ApiResponse {
  const c = req.ds.contact(Number(req.args[0]))
  if (!c) return notFound(MODEL.contact, req.args[0])
  const opts = { withOrders: req.params.bool('with_orders'), withCertificates: req.params.bool('with_certificates'), detail: true }
  return { status: 200, body: { data: renderContact(req.render, c, opts) } }
}

/** §4.33: documented as paginated, answered as a bare `{data}`. */
function contactProducts(req: ApiRequest): ApiResponse {
  const c = req.ds.contact(Number(req.args[0]))
  if (!c) return notFound(MODEL.contact, req.args[0])
  return { status: 200, body: { data: renderContactProducts(req.render, c.id) } }
}

function listProducts(req: ApiRequest): ApiResponse {
  const page = pageOf(ordered(req.ds.products, req.params, true), req, '/products', PAGE_SIZES.products, STYLE.products)
  return { status: 200, body: { data: page.items.map(renderProduct), links: page.links, meta: page.meta } }
}

function listCourses(req: ApiRequest): ApiResponse {
  const withs = new Set(req.params.list('with'))
  const extra = { offers: withs.has('offers'), description: withs.has('description'), program: withs.has('program') }
  const page = pageOf(ordered(req.ds.courses, req.params, true), req, '/courses', PAGE_SIZES.courses, STYLE.courses)
  return { status: 200, body: { data: page.items.map((c) => renderCourse(req.render, c, extra)), links: page.links, meta: page.meta } }
}

const INCLUDES = new Set(['course_program', 'lesson_progress', 'module_progress', 'quiz_progress'])

function percentRange(p: Params, name: string): [number, number] | null {
  const from = p.int(`${name}_from`, 0, 99)
  const to = p.int(`${name}_to`, 0, 100)
  return from === undefined && to === undefined ? null : [from ?? 0, to ?? 100]
}

function listCourseUsers(req: ApiRequest): ApiResponse {
  const { ds, params } = req
  const course = ds.courses.find((c) => String(c.id) === req.args[0])
  if (!course) return notFound(MODEL.course, req.args[0])
  // Unknown include tokens are ignored.
  const include = new Set(params.list('include').filter((t) => INCLUDES.has(t)))
  const checks: ((cu: SimCourseUser, c: SimContact) => boolean)[] = []
  const search = params.get('search')?.trim().toLowerCase()
  if (search) checks.push((_, c) => c.email.toLowerCase().includes(search) || `${c.firstName ?? ''} ${c.lastName ?? ''}`.toLowerCase().includes(search))
  const contactIds = [...params.intList('contact_ids'), ...(params.int('contact_id') !== undefined ? [params.int('contact_id')!] : [])]
  if (contactIds.length) checks.push((cu) => contactIds.includes(cu.contactId))
  const userIds = [...params.intList('user_ids'), ...(params.int('user_id') !== undefined ? [params.int('user_id')!] : [])]
  if (userIds.length) checks.push((cu) => userIds.includes(cu.userId))
  const emails = params.list('emails').map((e) => e.toLowerCase())
  if (emails.length) checks.push((_, c) => emails.includes(c.email.toLowerCase()))
  const actFrom = params.date('last_activity_from', 'from')
  const actTo = params.date('last_activity_to', 'to')
  if (actFrom !== undefined) checks.push((cu) => cu.lastActiveAt !== null && cu.lastActiveAt >= actFrom)
  if (actTo !== undefined) checks.push((cu) => cu.lastActiveAt !== null && cu.lastActiveAt <= actTo)
  const ranges = [
    ['progress_general', 'completedPct'],
    ['lessons_viewed', 'viewedPct'],
    ['quizzes_progress', 'quizzesPct'],
  ] as const
  for (const [name, stat] of ranges) {
    const range = percentRange(params, name)
    if (range)
      checks.push((cu) => {
        const v = courseUserStats(course, cu)[stat]
        return v >= range[0] && v <= range[1]
      })
  }
  const rows: [SimCourseUser, SimContact][] = []
  for (const cu of ds.courseUsers) {
    if (cu.courseId !== course.id) continue
    const contact = ds.contact(cu.contactId)
    if (contact && checks.every((check) => check(cu, contact))) rows.push([cu, contact])
  }
  rows.sort((a, b) => a[0].id - b[0].id)
  const page = pageOf(rows, req, `/courses/${course.id}/users`, PAGE_SIZES.courseUsers, STYLE.courseUsers)
  const body: Record<string, unknown> = {
    data: page.items.map(([cu, contact]) => renderCourseUser(req.render, course, cu, contact, { include })),
    links: page.links,
    meta: page.meta,
  }
  if (include.has('course_program')) body[courseProgramKey(req.render, course)] = renderCourseProgram(course)
  return { status: 200, body }
}

function listOffers(req: ApiRequest): ApiResponse {
  const { params } = req
  const productId = params.int('product_id')
  const search = params.get('filters[search]')?.trim().toLowerCase()
  const offers = req.ds.offers.filter(
    (o) => (productId === undefined || o.productIds.includes(productId)) && (!search || o.title.toLowerCase().includes(search)),
  )
  const page = pageOf(ordered(offers, params, false), req, '/offers', PAGE_SIZES.offers, STYLE.offers)
  return { status: 200, body: { data: page.items.map((o) => renderOffer(req.render, o, false)), links: page.links, meta: page.meta } }
}

function showOffer(req: ApiRequest): ApiResponse {
  const offer = req.ds.offers.find((o) => String(o.id) === req.args[0])
  if (!offer) return notFound(MODEL.offer, req.args[0])
  return { status: 200, body: { data: renderOffer(req.render, offer, true) } }
}

function listContactLists(req: ApiRequest): ApiResponse {
  const page = pageOf(ordered(req.ds.contactLists, req.params, false), req, '/mailing/contact-lists', PAGE_SIZES.contactLists, STYLE.contactLists)
  return { status: 200, body: { data: page.items.map((l) => renderContactList(req.render, l, false)), links: page.links, meta: page.meta } }
}

/** The members are embedded whole, with no pagination (§2.1 R12). */
function showContactList(req: ApiRequest): ApiResponse {
  const list = req.ds.contactLists.find((l) => String(l.id) === req.args[0])
  if (!list) return notFound(MODEL.list, req.args[0])
  return { status: 200, body: { data: renderContactList(req.render, list, true) } }
}

/** §4.33: no pagination, no `meta`: every matching coupon in `data`. */
function listCoupons(req: ApiRequest): ApiResponse {
  const from = req.params.date('filters[date_from]', 'from')
  const to = req.params.date('filters[date_to]', 'to')
  const coupons = req.ds.coupons.filter((c) => (from === undefined || c.createdAt >= from) && (to === undefined || c.createdAt <= to))
  return { status: 200, body: { data: ordered(coupons, req.params, false).map((c) => renderCoupon(req.render, c)) } }
}

function showCoupon(req: ApiRequest): ApiResponse {
  const coupon = req.ds.coupons.find((c) => String(c.id) === req.args[0])
  if (!coupon) return notFound(MODEL.coupon, req.args[0])
  return { status: 200, body: { data: renderCoupon(req.render, coupon) } }
}

function certificateByNumber(req: ApiRequest): ApiResponse {
  const number = decodeURIComponent(req.args[0])
  const cert = req.ds.certificates.find((c) => c.number === number)
  if (!cert) return notFound(MODEL.certificate, number)
  return { status: 200, body: { data: renderCertificateByNumber(req.render, cert) } }
}

/** §4.33: the dictionary comes without `links`/`meta`. */
function listTimezones(req: ApiRequest): ApiResponse {
  return { status: 200, body: { data: req.ds.timezones.map((tz) => renderTimezone(req.render, tz)) } }
}

export const ROUTES: readonly Route[] = [
  { method: 'GET', pattern: /^\/contacts$/, handle: listContacts },
  { method: 'POST', pattern: /^\/contacts\/query$/, bodyParams: true, handle: listContacts },
  { method: 'GET', pattern: /^\/contacts\/(\d+)$/, handle: showContact },
  { method: 'GET', pattern: /^\/contacts\/(\d+)\/products$/, handle: contactProducts },
  { method: 'GET', pattern: /^\/products$/, handle: listProducts },
  { method: 'GET', pattern: /^\/courses$/, handle: listCourses },
  { method: 'GET', pattern: /^\/courses\/(\d+)\/users$/, handle: listCourseUsers },
  { method: 'POST', pattern: /^\/courses\/(\d+)\/users\/query$/, bodyParams: true, handle: listCourseUsers },
  { method: 'GET', pattern: /^\/offers$/, handle: listOffers },
  { method: 'GET', pattern: /^\/offers\/(\d+)$/, handle: showOffer },
  { method: 'GET', pattern: /^\/mailing\/contact-lists$/, handle: listContactLists },
  { method: 'GET', pattern: /^\/mailing\/contact-lists\/(\d+)$/, handle: showContactList },
  { method: 'GET', pattern: /^\/coupons$/, handle: listCoupons },
  { method: 'GET', pattern: /^\/coupons\/(\d+)$/, handle: showCoupon },
  { method: 'GET', pattern: /^\/certificates\/by-number\/([^/]+)$/, handle: certificateByNumber },
  { method: 'GET', pattern: /^\/timezones$/, handle: listTimezones },
]
