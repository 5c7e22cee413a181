import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { VirtualClock, type Clock } from '../../clock.js'
import { startKwigaSimulator, type KwigaSim } from './server.js'
import { kwigaTime } from './time.js'

type Json = Record<string, any>

const TOKEN = 'tok-alpha-0123456789'
const OTHER_TOKEN = 'tok-beta-9876543210'
const HASH = 'cab-hash-alpha'
const HASH_SAME_TOKEN = 'cab-hash-alpha-2'
const HASH_OTHER = 'cab-hash-beta'
const START = Date.UTC(2026, 0, 15, 12, 0, 0)

function manualClock(start = START) {
  let t = start
  const clock: Clock & { advance(ms: number): void } = {
    now: () => t,
    sleep: async (ms) => void (t += ms),
    busy: (work) => work,
    advance: (ms) => void (t += ms),
  }
  return clock
}

function client(sim: KwigaSim, token = TOKEN, hash = HASH, extra: Record<string, string> = {}) {
  return async (path: string, init: RequestInit = {}) => {
    const res = await fetch(sim.url + path, {
      ...init,
      headers: { Accept: 'application/json', Token: token, 'Cabinet-Hash': hash, 'X-Language': 'en', ...extra, ...(init.headers as Record<string, string>) },
    })
    const text = await res.text()
    let body: Json | undefined
    try {
      body = JSON.parse(text)
    } catch {
      body = undefined
    }
    return { status: res.status, headers: res.headers, text, body: body as Json }
  }
}

function walk(nodes: Json[], visit: (node: Json, ancestorLesson: Json | null) => void, ancestorLesson: Json | null = null): void {
  for (const n of nodes) {
    visit(n, ancestorLesson)
    walk(n.children, visit, n.course_nodeble_type === 'course_lesson' ? n : ancestorLesson)
  }
}

describe('KWIGA simulator', () => {
  const clock = manualClock()
  let sim: KwigaSim
  let get: ReturnType<typeof client>

  beforeAll(async () => {
    sim = await startKwigaSimulator({
      cabinets: [
        { token: TOKEN, cabinetHash: HASH, contacts: 640, seed: 42 },
        { token: TOKEN, cabinetHash: HASH_SAME_TOKEN, contacts: 20, courses: 1, seed: 7 },
        { token: OTHER_TOKEN, cabinetHash: HASH_OTHER, contacts: 10 },
      ],
      rateLimit: { requests: 100_000, windowSeconds: 60 },
      clock,
    })
    get = client(sim)
  })
  afterAll(() => sim.close())

  describe('auth', () => {
    it('answers 401 without a token or with an unknown one', async () => {
      const missing = await fetch(`${sim.url}/contacts`, { headers: { Accept: 'application/json', 'Cabinet-Hash': HASH } })
      expect(missing.status).toBe(401)
      expect(await missing.json()).toEqual({ message: 'Unauthenticated.' })
      const wrong = await client(sim, 'nope-token')('/contacts')
      expect(wrong.status).toBe(401)
      expect(wrong.headers.get('x-ratelimit-limit')).toBeNull()
    })

    it('answers 403 for a cabinet hash that does not belong to the token', async () => {
      const foreign = await client(sim, TOKEN, HASH_OTHER)('/contacts')
      expect(foreign.status).toBe(403)
      expect(foreign.body).toEqual({ message: 'This action is unauthorized.' })
      expect(foreign.headers.get('x-ratelimit-remaining')).not.toBeNull()
      expect((await client(sim, TOKEN, 'no-such-cabinet')('/contacts')).status).toBe(403)
    })

    it('serves every cabinet of a token, and accepts token and cabinet_hash as query parameters', async () => {
      expect((await client(sim, TOKEN, HASH_SAME_TOKEN)('/contacts')).body.meta.total).toBe(20)
      const res = await fetch(`${sim.url}/contacts?token=${TOKEN}&cabinet_hash=${HASH_OTHER.replace('beta', 'beta')}`, {
        headers: { Accept: 'application/json' },
      })
      expect(res.status).toBe(403)
      const ok = await fetch(`${sim.url}/products?token=${OTHER_TOKEN}&cabinet_hash=${HASH_OTHER}`, { headers: { Accept: 'application/json' } })
      expect(ok.status).toBe(200)
    })

    it('renders errors as HTML when the client does not ask for JSON', async () => {
      const res = await fetch(`${sim.url}/contacts`, { headers: { Token: 'bad' } })
      expect(res.status).toBe(401)
      expect(res.headers.get('content-type')).toContain('text/html')
    })

    it('records requests without secrets', async () => {
      await fetch(`${sim.url}/timezones?token=${TOKEN}&cabinet_hash=${HASH}`, { headers: { Accept: 'application/json' } })
      const last = sim.requests[sim.requests.length - 1]
      expect(last).toMatchObject({ token: 'tok…', method: 'GET', path: '/timezones', status: 200, at: clock.now() })
      expect(last.query).toEqual({ token: 'tok…', cabinet_hash: 'cab…' })
      expect(JSON.stringify(sim.requests)).not.toContain(TOKEN)
      expect(JSON.stringify(sim.requests)).not.toContain(HASH)
    })

    it('answers 404 for unknown routes and entities, 405 for write methods on read routes', async () => {
      expect((await get('/orders')).status).toBe(404)
      expect((await get('/contacts/1')).body.message).toMatch(/^No query results for model/)
      const post = await get('/contacts/1', { method: 'POST' })
      expect(post.status).toBe(405)
      expect(post.headers.get('allow')).toBe('GET')
    })
  })

  describe('pagination', () => {
    it('uses the documented default page size and a Laravel meta with foreign links', async () => {
      const { body } = await get('/contacts')
      expect(body.data).toHaveLength(15)
      expect(body.meta).toMatchObject({ current_page: 1, from: 1, to: 15, per_page: 15, total: 640, last_page: 43, path: 'https://api.kwiga.com/contacts' })
      expect(body.links).toEqual({
        first: 'https://api.kwiga.com/contacts?page=1',
        last: 'https://api.kwiga.com/contacts?page=43',
        prev: null,
        next: 'https://api.kwiga.com/contacts?page=2',
      })
      expect(body.meta.links[0].label).toContain('translation missing')
    })

    it('caps per_page silently and reports the effective size', async () => {
      expect((await get('/contacts?per_page=1000')).body.meta.per_page).toBe(100)
      expect((await get('/courses?per_page=50')).body.meta.per_page).toBe(15)
      const courseId = sim.dataset(HASH).courses[0].id
      expect((await get(`/courses/${courseId}/users?per_page=500`)).body.meta.per_page).toBe(250)
      const invalid = await get('/contacts?per_page=0')
      expect(invalid.status).toBe(422)
      expect(invalid.body.errors).toHaveProperty('per_page')
    })

    it('pages contact lists with `limit` and ignores `per_page`', async () => {
      expect((await get('/mailing/contact-lists?limit=2')).body.meta.per_page).toBe(2)
      expect((await get('/mailing/contact-lists?per_page=2')).body.meta.per_page).toBe(15)
    })

    it('crawls every contact exactly once, newest first by default and oldest first with sort_by=asc', async () => {
      const ids: number[] = []
      for (let page = 1; ; page++) {
        const { body } = await get(`/contacts?per_page=100&page=${page}`)
        ids.push(...body.data.map((c: Json) => c.id))
        if (page >= body.meta.last_page) break
      }
      const ds = sim.dataset(HASH)
      const expected = ds.contacts.map((c) => (c.broken === 'null-id' ? null : c.id)).reverse()
      expect(ids.map((id) => (id === null ? null : Number(id)))).toEqual(expected)
      const asc = await get('/contacts?per_page=5&sort_by=asc')
      expect(asc.body.data.map((c: Json) => Number(c.id))).toEqual(ds.contacts.slice(0, 5).map((c) => c.id))
    })

    it('answers an empty page past the end', async () => {
      const { body } = await get('/products?page=99')
      expect(body.data).toEqual([])
      expect(body.meta).toMatchObject({ current_page: 99, from: null, to: null })
      expect(body.meta).not.toHaveProperty('links')
    })

    it('answers some endpoints without meta or links', async () => {
      for (const path of ['/timezones', '/coupons', `/contacts/${sim.dataset(HASH).contacts[5].id}/products`]) {
        const { status, body } = await get(path)
        expect(status).toBe(200)
        expect(Object.keys(body)).toEqual(['data'])
      }
    })
  })

  describe('filters', () => {
    it('filters contacts by last activity and creation date', async () => {
      const ds = sim.dataset(HASH)
      const from = START - 14 * 86_400_000
      const day = new Date(from).toISOString().slice(0, 10)
      const active = await get(`/contacts?per_page=100&filters[last_activity_from]=${encodeURIComponent(new Date(from).toISOString())}`)
      expect(active.body.meta.total).toBe(ds.contacts.filter((c) => c.lastActivityAt !== null && c.lastActivityAt >= from).length)
      expect(active.body.meta.total).toBeGreaterThan(0)
      const created = await get(`/contacts?filters[date_from]=${day}`)
      expect(created.body.meta.total).toBe(ds.contacts.filter((c) => c.createdAt >= Date.parse(day)).length)
      const both = await get(`/contacts?filters[date_from]=${day}&filters[date_to]=${day}`)
      expect(both.body.meta.total).toBe(ds.contacts.filter((c) => new Date(c.createdAt).toISOString().startsWith(day)).length)
    })

    it('rejects an unparseable date with a Laravel validation error', async () => {
      const res = await get('/contacts?filters[date_from]=yesterday')
      expect(res.status).toBe(422)
      expect(res.body.errors['filters.date_from'][0]).toMatch(/valid date/)
    })

    it('filters contacts by exact email and ids', async () => {
      const c = sim.dataset(HASH).contacts[10]
      expect((await get(`/contacts?filters[emails]=${encodeURIComponent(c.email)}`)).body.data.map((x: Json) => Number(x.id))).toEqual([c.id])
      const ids = sim
        .dataset(HASH)
        .contacts.slice(20, 23)
        .map((x) => x.id)
      expect((await get(`/contacts?filters[contact_ids]=${ids.join(',')}`)).body.meta.total).toBe(3)
      expect((await get(`/contacts?${ids.map((id) => `filters[contact_ids][]=${id}`).join('&')}`)).body.meta.total).toBe(3)
    })

    it('filters course users by last activity in the course (UTC)', async () => {
      const ds = sim.dataset(HASH)
      const course = ds.courses[0]
      const from = START - 60 * 86_400_000
      const { body } = await get(`/courses/${course.id}/users?per_page=250&last_activity_from=${new Date(from).toISOString()}`)
      expect(body.meta.total).toBe(ds.courseUsers.filter((u) => u.courseId === course.id && u.lastActiveAt !== null && u.lastActiveAt >= from).length)
    })

    it('filters coupons by creation date', async () => {
      const ds = sim.dataset(HASH)
      const from = ds.coupons[10].createdAt
      const { body } = await get(`/coupons?filters[date_from]=${encodeURIComponent(kwigaTime(from))}`)
      expect(body.data.map((c: Json) => c.id).sort()).toEqual(
        ds.coupons
          .filter((c) => c.createdAt >= from)
          .map((c) => c.id)
          .sort(),
      )
    })

    it('takes the parameters of the POST /query alias from the body, over the query string', async () => {
      const c = sim.dataset(HASH).contacts[3]
      const res = await get('/contacts/query?filters[emails]=nobody@example.com', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ filters: { emails: [c.email] }, per_page: 5 }),
      })
      expect(res.status).toBe(200)
      expect(res.body.data.map((x: Json) => Number(x.id))).toEqual([c.id])
    })
  })

  describe('payload shapes', () => {
    it('embeds orders with payments and transactions, offers and certificates on request', async () => {
      const ds = sim.dataset(HASH)
      const buyer = ds.contacts.find((c) => ds.ordersOf(c.id).some((o) => o.payments.some((p) => p.transactions.length)) && c.broken === null)!
      const { body } = await get(`/contacts?filters[contact_ids]=${buyer.id}&with_orders=1&with_certificates=1`)
      const contact = body.data[0]
      expect(contact.orders).toHaveLength(ds.ordersOf(buyer.id).length)
      const order = contact.orders.find((o: Json) => o.payments.some((p: Json) => p.transactions.length))
      expect(order.cost_info.currency).toHaveProperty('code')
      expect(order.payments[0]).toHaveProperty('price_info.amount')
      expect(order.payments[0].transactions[0]).toHaveProperty('payment_system_status')
      expect(contact.offers.length).toBeGreaterThan(0)
      expect(contact.certificates).toBeInstanceOf(Array)
      const plain = await get(`/contacts?filters[contact_ids]=${buyer.id}`)
      expect(plain.body.data[0]).not.toHaveProperty('orders')
      expect(plain.body.data[0]).not.toHaveProperty('certificates')
    })

    it('uses phone_number on the detail endpoint and adds utm_visits there only', async () => {
      const ds = sim.dataset(HASH)
      const visitor = ds.contacts.find((c) => c.visits.some((v) => v.utmSource) && c.phone)!
      const detail = (await get(`/contacts/${visitor.id}`)).body.data
      expect(detail.phone_number).toBe(visitor.phoneNational)
      expect(detail).not.toHaveProperty('phone')
      expect(detail.utm_visits.length).toBeGreaterThan(0)
      const row = (await get(`/contacts?filters[contact_ids]=${visitor.id}`)).body.data[0]
      expect(row).not.toHaveProperty('utm_visits')
    })

    it('includes the course program once and progress that stitches onto it', async () => {
      const ds = sim.dataset(HASH)
      for (const course of ds.courses) {
        const { body } = await get(`/courses/${course.id}/users?per_page=250&include=course_program,lesson_progress,module_progress,quiz_progress`)
        const key = 'course_program' in body ? 'course_program' : 'course_structure'
        expect(body).toHaveProperty(key)
        const lessons = new Set<number>()
        const modules = new Set<number>()
        const quizPairs = new Set<string>()
        walk(body[key], (node, lesson) => {
          if (node.course_nodeble_type === 'course_lesson') lessons.add(node.course_nodeble_id)
          if (node.course_nodeble_type === 'course_module') modules.add(node.course_nodeble_id)
          if (node.course_nodeble_type === 'info_section') for (const q of node.quizzes) quizPairs.add(`${lesson!.course_nodeble_id}:${q.id}`)
        })
        expect(body.data.length).toBe(50)
        for (const row of body.data) {
          for (const p of row.lesson_progress) expect(lessons.has(p.lesson_id)).toBe(true)
          for (const p of row.module_progress) expect(modules.has(p.module_id)).toBe(true)
          for (const p of row.quiz_progress) expect(quizPairs.has(`${p.course_lesson_id}:${p.quiz_id}`)).toBe(true)
          expect(row.course_progress.course_id).toBe(course.id)
        }
      }
      const plain = (await get(`/courses/${ds.courses[0].id}/users`)).body
      expect(plain).not.toHaveProperty('course_program')
      expect(plain).not.toHaveProperty('course_structure')
      expect(plain.data[0]).not.toHaveProperty('lesson_progress')
      expect(plain.data[0].course_progress).toHaveProperty('current_lesson')
    })

    it('adds offers, description and the documented program shape to courses on with[]', async () => {
      const { body } = await get('/courses?with[]=offers&with[]=program&with[]=description')
      const course = body.data[0]
      expect(course.offers.length).toBeGreaterThan(0)
      expect(course.program[0]).toHaveProperty('course_id')
      expect(course.program[0]).toHaveProperty('root_id', null)
      expect(course.info_units[0]).toHaveProperty('description_formatted')
      expect(body.links.first).toMatch(/^http:\/\/api\.kwiga\.local\//)
    })

    it('marks local *_at times with Z next to a correct *_at_utc sibling', async () => {
      const { body } = await get('/coupons')
      const coupon = body.data.find((c: Json) => c.expires_at_utc !== null)
      const offset = Date.parse(coupon.expires_at) - Date.parse(coupon.expires_at_utc)
      expect([2 * 3_600_000, 3 * 3_600_000]).toContain(offset)
    })

    it('embeds list members with both phone forms and a statistic', async () => {
      const list = sim.dataset(HASH).contactLists[1]
      const { body } = await get(`/mailing/contact-lists/${list.id}`)
      expect(body.data.contacts).toHaveLength(list.contactIds.length)
      expect(body.data.statistic).toEqual({ contact_list_id: list.id, count_contacts: list.contactIds.length })
      expect(body.data.contacts[0]).toHaveProperty('phone_country')
    })

    it('localises dictionary labels with X-Language but keeps some labels in Ukrainian', async () => {
      const ds = sim.dataset(HASH)
      const buyer = ds.contacts.find((c) => ds.ordersOf(c.id).some((o) => o.paidStatus === 'paid' && o.payments.length))!
      const uk = await client(sim, TOKEN, HASH, { 'X-Language': 'uk' })(`/contacts/${buyer.id}?with_orders=1`)
      const order = uk.body.data.orders.find((o: Json) => o.payments.some((p: Json) => Number(p.status) === 2))
      expect(order.payments.find((p: Json) => Number(p.status) === 2).status_title).toBe('Сплачено')
      const en = await get(`/contacts/${buyer.id}?with_orders=1`)
      const enOrder = en.body.data.orders.find((o: Json) => o.id === order.id)
      expect(enOrder.payments.find((p: Json) => Number(p.status) === 2).status_title).toBe('Paid')
      expect(enOrder.paid_status_title).toMatch(/[А-Яа-яІіЇїЄє]/)
      expect(enOrder).toHaveProperty('crm_url')
    })
  })

  describe('deliberate inconsistencies', () => {
    it('renders the same bytes for the same seed', async () => {
      const twin = await startKwigaSimulator({ cabinets: [{ token: TOKEN, cabinetHash: HASH, contacts: 640, seed: 42 }], clock: manualClock() })
      try {
        const a = await get('/contacts?per_page=50&with_orders=1&page=3')
        const b = await client(twin)('/contacts?per_page=50&with_orders=1&page=3')
        expect(b.text).toBe(a.text)
      } finally {
        await twin.close()
      }
    })

    it('mixes phone/phone_number, string/number ids and money, enum objects/scalars', async () => {
      const rows: Json[] = []
      for (let page = 1; page <= 7; page++) rows.push(...(await get(`/contacts?per_page=100&page=${page}&with_orders=1`)).body.data)
      expect(rows.some((c) => 'phone' in c)).toBe(true)
      expect(rows.some((c) => 'phone_number' in c && !('phone' in c))).toBe(true)
      expect(rows.some((c) => typeof c.id === 'string')).toBe(true)
      const orders = rows.flatMap((c) => c.orders)
      expect(orders.some((o) => typeof o.paid_status === 'number')).toBe(true)
      expect(orders.some((o) => typeof o.paid_status === 'string')).toBe(true)
      expect(orders.some((o) => typeof o.cost_info.amount === 'string')).toBe(true)
      expect(orders.some((o) => typeof o.cost_info.amount === 'number')).toBe(true)
      const txns = orders.flatMap((o) => o.payments.flatMap((p: Json) => p.transactions))
      expect(txns.some((t) => typeof t.price === 'string')).toBe(true)
      expect(txns.some((t) => typeof t.rrn === 'number')).toBe(true)
      const offers = (await get('/offers?per_page=100')).body.data
      expect(typeof offers[0].price.amount).toBe('string')
      expect(typeof offers[0].price_discounted.amount).toBe('number')
    })

    it('contains exactly the broken contacts the dataset declares (1 per 500)', async () => {
      const ds = sim.dataset(HASH)
      expect(ds.brokenContacts().map((c) => c.broken)).toEqual(['null-id', 'zero-created-at'])
      const rows: Json[] = []
      for (let page = 1; page <= 7; page++) rows.push(...(await get(`/contacts?per_page=100&page=${page}`)).body.data)
      expect(rows.filter((c) => c.id === null)).toHaveLength(1)
      expect(rows.filter((c) => c.created_at === '0000-00-00 00:00:00')).toHaveLength(1)
    })
  })

  describe('faults', () => {
    afterEach(async () => {
      // Faults left unconsumed by a failing test must not leak into the next one.
      for (let i = 0; i < 3; i++) await get('/timezones').catch(() => undefined)
    })

    it('answers an injected 5xx once', async () => {
      sim.injectFault({ kind: 'http', status: 503, path: /^\/products$/ })
      expect((await get('/timezones')).status).toBe(200)
      expect((await get('/products')).status).toBe(503)
      expect((await get('/products')).status).toBe(200)
      sim.injectFault({ kind: 'http', status: 502 })
      const gateway = await get('/products')
      expect(gateway.status).toBe(502)
      expect(gateway.headers.get('content-type')).toContain('text/html')
    })

    it('resets the connection', async () => {
      sim.injectFault({ kind: 'reset' })
      await expect(fetch(`${sim.url}/products`, { headers: { Accept: 'application/json', Token: TOKEN, 'Cabinet-Hash': HASH } })).rejects.toThrow()
      expect(sim.requests[sim.requests.length - 1].status).toBe(0)
      expect((await get('/products')).status).toBe(200)
    })

    it('truncates a JSON body and serves an HTML page with 200', async () => {
      sim.injectFault({ kind: 'truncate', path: /page=2/ })
      expect((await get('/contacts?page=1')).body).toBeDefined()
      const cut = await get('/contacts?page=2')
      expect(cut.status).toBe(200)
      expect(cut.body).toBeUndefined()
      sim.injectFault({ kind: 'html200' })
      const html = await get('/contacts')
      expect(html.status).toBe(200)
      expect(html.headers.get('content-type')).toContain('text/html')
    })

    it('answers an injected 429 with Retry-After', async () => {
      sim.injectFault({ kind: '429', retryAfter: 7 })
      const res = await get('/products')
      expect(res.status).toBe(429)
      expect(res.headers.get('retry-after')).toBe('7')
      expect((await get('/products')).status).toBe(200)
    })

    it('hangs before answering', async () => {
      sim.injectFault({ kind: 'hang', ms: 80 })
      const t = performance.now()
      expect((await get('/products')).status).toBe(200)
      expect(performance.now() - t).toBeGreaterThanOrEqual(70)
    })

    it('shifts the next list page by one item', async () => {
      const p1 = (await get('/contacts?per_page=10&page=1')).body
      sim.injectFault({ kind: 'shift', path: /^\/contacts$/ })
      const p2 = (await get('/contacts?per_page=10&page=2')).body
      expect(p2.data[0].id).toEqual(p1.data[9].id)
      expect(p2.meta.total).toBe(p1.meta.total + 1)
      const again = (await get('/contacts?per_page=10&page=2')).body
      expect(again.data[0].id).not.toEqual(p1.data[9].id)
    })
  })

  describe('mutators', () => {
    it('adds a contact at the head of the default list', async () => {
      const ds = sim.dataset(HASH_SAME_TOKEN)
      const s = client(sim, TOKEN, HASH_SAME_TOKEN)
      const before = (await s('/contacts')).body.meta.total
      const added = ds.addContact({ email: 'new.student@ukr.net', firstName: 'Тарас', lastName: 'Мельник', tags: ['новий'] })
      const { body } = await s('/contacts')
      expect(body.meta.total).toBe(before + 1)
      expect(body.data[0]).toMatchObject({ id: added.id, email: 'new.student@ukr.net', created_at: kwigaTime(clock.now()) })
      expect(body.data[0].tags.map((t: Json) => t.name)).toEqual(['новий'])
    })

    it('touches a contact so that the incremental filter picks it up', async () => {
      const ds = sim.dataset(HASH_SAME_TOKEN)
      const s = client(sim, TOKEN, HASH_SAME_TOKEN)
      clock.advance(60_000)
      const since = new Date(clock.now()).toISOString()
      expect((await s(`/contacts?filters[last_activity_from]=${since}`)).body.meta.total).toBe(0)
      ds.touchContact(ds.contacts[2].id)
      const { body } = await s(`/contacts?filters[last_activity_from]=${since}`)
      expect(body.data.map((c: Json) => Number(c.id))).toEqual([ds.contacts[2].id])
    })

    it('removes a tag without bumping last activity', async () => {
      const ds = sim.dataset(HASH_SAME_TOKEN)
      const c = ds.contacts.find((x) => x.tagIds.length > 0)!
      const tagId = c.tagIds[0]
      const activity = c.lastActivityAt
      ds.removeTag(c.id, tagId)
      const row = (await client(sim, TOKEN, HASH_SAME_TOKEN)(`/contacts/${c.id}`)).body.data
      expect(row.tags.map((t: Json) => Number(t.id))).not.toContain(tagId)
      expect(c.lastActivityAt).toBe(activity)
    })

    it('records course progress now', async () => {
      const ds = sim.dataset(HASH_SAME_TOKEN)
      const s = client(sim, TOKEN, HASH_SAME_TOKEN)
      const course = ds.courses[0]
      const fresh = ds.contacts.find((c) => !ds.courseUsers.some((u) => u.contactId === c.id))!
      clock.advance(60_000)
      const since = new Date(clock.now()).toISOString()
      ds.addCourseProgress(course.id, fresh.id, { lessons: 2 })
      const { body } = await s(`/courses/${course.id}/users?last_activity_from=${since}&include=lesson_progress`)
      expect(body.data).toHaveLength(1)
      expect(body.data[0].contact.id).toBe(fresh.id)
      expect(body.data[0].lesson_progress.filter((p: Json) => p.is_completed)).toHaveLength(2)
      expect((await s(`/contacts?filters[last_activity_from]=${since}`)).body.data.map((c: Json) => Number(c.id))).toContain(fresh.id)
    })

    it('adds a paid order with a payment and access', async () => {
      const ds = sim.dataset(HASH_SAME_TOKEN)
      const s = client(sim, TOKEN, HASH_SAME_TOKEN)
      const c = ds.contacts[0]
      const offer = ds.offers.find((o) => o.price > 0)!
      const order = ds.addOrder(c.id, offer.id)
      const row = (await s(`/contacts/${c.id}?with_orders=1`)).body.data
      expect(row.orders.map((o: Json) => Number(o.id))).toContain(order.id)
      const products = (await s(`/contacts/${c.id}/products`)).body.data
      expect(products.map((p: Json) => p.id)).toEqual(expect.arrayContaining(offer.productIds))
    })

    it('deletes a contact', async () => {
      const ds = sim.dataset(HASH_SAME_TOKEN)
      const victim = ds.contacts[1]
      ds.deleteContact(victim.id)
      expect((await client(sim, TOKEN, HASH_SAME_TOKEN)(`/contacts/${victim.id}`)).status).toBe(404)
    })
  })
})

describe('KWIGA simulator rate limit', () => {
  const clock = manualClock()
  let sim: KwigaSim
  let get: ReturnType<typeof client>

  beforeAll(async () => {
    sim = await startKwigaSimulator({ cabinets: [{ token: TOKEN, cabinetHash: HASH, contacts: 5 }], rateLimit: { requests: 5, windowSeconds: 60 }, clock })
    get = client(sim)
  })
  afterAll(() => sim.close())

  it('counts down, rejects with 429 over the limit, and recovers when the window resets', async () => {
    const remaining: string[] = []
    for (let i = 0; i < 5; i++) {
      const res = await get('/products')
      expect(res.status).toBe(200)
      expect(res.headers.get('x-ratelimit-limit')).toBe('5')
      expect(res.headers.get('x-ratelimit-reset')).toBeNull()
      remaining.push(res.headers.get('x-ratelimit-remaining')!)
      clock.advance(1_000)
    }
    expect(remaining).toEqual(['4', '3', '2', '1', '0'])
    const rejected = await get('/products')
    expect(rejected.status).toBe(429)
    expect(rejected.body.message).toMatch(/rate limit exceeded/i)
    expect(rejected.headers.get('x-ratelimit-remaining')).toBe('0')
    const retryAfter = Number(rejected.headers.get('retry-after'))
    expect(retryAfter).toBe(55)
    expect(Number(rejected.headers.get('x-ratelimit-reset'))).toBe(Math.ceil((START + 60_000) / 1000))
    clock.advance(retryAfter * 1000)
    expect((await get('/products')).status).toBe(200)
    expect(sim.stats(TOKEN)).toEqual({ maxRequestsInWindow: 6, rejected429: 1 })
  })

  it('lets a client on a VirtualClock wait out Retry-After without real waiting', async () => {
    const virtual = new VirtualClock(START)
    const vsim = await startKwigaSimulator({
      cabinets: [{ token: TOKEN, cabinetHash: HASH, contacts: 5 }],
      rateLimit: { requests: 3, windowSeconds: 60 },
      clock: virtual,
    })
    try {
      const vget = client(vsim)
      const statuses: number[] = []
      for (let done = 0; done < 7; ) {
        const res = await virtual.busy(vget('/timezones'))
        statuses.push(res.status)
        if (res.status === 429) await virtual.sleep(Number(res.headers.get('retry-after')) * 1000)
        else done++
      }
      expect(statuses).toEqual([200, 200, 200, 429, 200, 200, 200, 429, 200])
      expect(virtual.now() - START).toBe(120_000)
      expect(vsim.stats(TOKEN)).toEqual({ maxRequestsInWindow: 4, rejected429: 2 })
    } finally {
      await vsim.close()
    }
  })

  it('shares the window with another consumer of the token', async () => {
    clock.advance(120_000)
    sim.spend(TOKEN, 4)
    const res = await get('/products')
    expect(res.headers.get('x-ratelimit-remaining')).toBe('0')
    expect((await get('/products')).status).toBe(429)
    expect(sim.stats(TOKEN).rejected429).toBe(2)
  })
})

describe('KWIGA simulator at benchmark scale', () => {
  it('crawls 20,000 contacts with orders in a few seconds', async () => {
    const t = performance.now()
    const sim = await startKwigaSimulator({
      cabinets: [{ token: TOKEN, cabinetHash: HASH, contacts: 20_000 }],
      rateLimit: { requests: 1_000_000, windowSeconds: 60 },
    })
    try {
      const get = client(sim)
      let seen = 0
      for (let page = 1; ; page++) {
        const { body } = await get(`/contacts?per_page=100&page=${page}&with_orders=1&with_certificates=1&sort_by=asc`)
        seen += body.data.length
        if (page >= body.meta.last_page) break
      }
      expect(seen).toBe(20_000)
      expect(sim.dataset(HASH).brokenContacts()).toHaveLength(40)
    } finally {
      await sim.close()
    }
    expect(performance.now() - t).toBeLessThan(15_000)
  }, 30_000)
})
