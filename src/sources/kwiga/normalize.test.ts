import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { RejectError } from '../../errors.js'
import {
  normalizeCertificate,
  normalizeContact,
  normalizeContactListDetail,
  normalizeContactProduct,
  normalizeCoupon,
  normalizeCourse,
  normalizeOffer,
  normalizeProduct,
  normalizeTimezone,
} from './normalize.js'
import { indexProgram, normalizeCourseUser, programOf } from './program.js'
import { decimal, enumAt, id, int, text, time, utcTime } from './values.js'

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/kwiga')
// Payloads are the reference's example answers (api-doc.kwiga.com/ua, see docs/kwiga.md), made valid JSON.
const fixture = (name: string) => JSON.parse(readFileSync(path.join(FIXTURES, `${name}.json`), 'utf8')) as { data: any }

describe('value coercion', () => {
  it('reads ids and money from numbers or strings (§4.20–21)', () => {
    expect([id(330710335365), id('2037644'), id(' 12 '), id('12a'), id(1.5), id(null)]).toEqual(['330710335365', '2037644', '12', null, null, null])
    expect([decimal('10.00'), decimal(5), decimal('147'), decimal('1,5'), decimal('n/a')]).toEqual(['10.00', '5', '147', '1.5', null])
  })

  it('reads enums as objects or scalars (§4.24)', () => {
    expect(enumAt({ s: { id: 3, name: 'Published' } }, 's')).toEqual({ id: '3', label: 'Published' })
    expect(enumAt({ s: { id: 'discount_with_percent', name: '%' } }, 's')).toEqual({ id: 'discount_with_percent', label: '%' })
    expect(enumAt({ s: { id: 4, slug: 'Completed', title: 'Done' } }, 's')).toEqual({ id: '4', label: 'Done' })
    expect(enumAt({ s: 'published' }, 's')).toEqual({ id: null, label: 'published' })
    expect(enumAt({ s: 2 }, 's')).toEqual({ id: '2', label: null })
  })

  it('prefers the *_utc sibling over local time marked Z (§4.27) and strips NUL', () => {
    const discount = { start_at: '2023-12-28T14:41:00.000000Z', start_at_utc: '2023-12-28T12:41:00.000000Z', end_at: '2024-01-03T14:41:00.000000Z' }
    expect(utcTime(discount, 'start_at')).toBe('2023-12-28T12:41:00.000Z')
    expect(utcTime(discount, 'end_at')).toBe('2024-01-03T14:41:00.000Z')
    expect(time('0000-00-00 00:00:00')).toBeNull()
    expect(text('a\u0000b')).toBe('ab')
    expect(text('')).toBeNull()
  })
})

describe('contacts', () => {
  it('maps the list example: E.164 phone, tags, offers bought and the per-contact utm (§4.1, §4.5)', () => {
    const [first, second] = fixture('contacts-list').data.map((c: unknown) => normalizeContact('school', c))
    expect(first.contact).toMatchObject({
      cabinet: 'school',
      contact_id: '1',
      email: 'test@example.com',
      phone: '+380931234567',
      phone_number: null,
      created_at: '2022-02-04T12:17:32.000Z',
    })
    expect(first.contact.utm).toMatchObject({ utm_source: ['test-source'] })
    expect(first.contactTags).toEqual([{ cabinet: 'school', contact_id: '1', tag_id: '93' }])
    expect(first.tags).toEqual([{ cabinet: 'school', tag_id: '93', name: 'test-tag' }])
    expect(first.contactOffers).toEqual([{ cabinet: 'school', contact_id: '1', offer_id: '8', unique_offer_code: 'ptJmPPXVYs0t', title: 'Предложение #8' }])
    expect(first.orders).toBeNull()
    expect(second.contactTags).toEqual([])
  })

  it('maps orders, payments and transactions with their type drift (§4.16, §4.17, §4.20, §4.21)', () => {
    const rows = normalizeContact('school', fixture('contact-purchase').data)
    expect(rows.contact).toMatchObject({ contact_id: '132', phone: null, phone_number: '931234567' })
    expect(rows.orders).toEqual([
      expect.objectContaining({
        order_id: '1060',
        contact_id: '132',
        paid_status: 'paid',
        paid_status_title: 'Сплачено',
        cost_amount: '0',
        cost_currency: 'UAH',
        order_stage_id: '43',
        paid_at: '2023-10-13T18:04:02.000Z',
      }),
    ])
    expect(rows.orderProducts).toEqual([
      { cabinet: 'school', order_id: '1060', product_id: '25', productable_type: 'course', productable_id: '10', title: 'test course' },
    ])
    expect(rows.payments).toEqual([
      expect.objectContaining({ payment_id: '1231', order_id: '1060', status: '2', status_title: 'Paid', amount: '0', currency_code: 'UAH' }),
    ])
    expect(rows.transactions.map((t) => [t.transaction_id, t.payment_id, t.price, t.rrn, t.payment_system_status])).toEqual([
      ['28', '1231', '147', null, 'Declined'],
      ['29', '1231', '147', '330710335365', 'Approved'],
    ])
    expect((rows.contact.raw as Record<string, unknown>).orders).toBeUndefined()
    expect(rows.rejects).toEqual([])
  })

  it('rejects a contact without an id or with a zero created_at; a bad nested order is reported, the contact kept', () => {
    expect(() => normalizeContact('school', { id: null, email: 'x@example.com' })).toThrow(RejectError)
    expect(() => normalizeContact('school', { id: 5, created_at: '0000-00-00 00:00:00' })).toThrow(/invalid created_at/)
    expect(() => normalizeContact('school', 'not an object')).toThrow(RejectError)
    const rows = normalizeContact('school', { id: '7', created_at: '2024-01-01T00:00:00Z', orders: [{ id: 'x' }, { id: 9, payments: [] }] })
    expect(rows.orders!.map((o) => o.order_id)).toEqual(['9'])
    expect(rows.rejects).toHaveLength(1)
    expect(rows.rejects[0]!.reason).toContain('order')
  })

  it('hashes the whole item so a changed contact is noticed', () => {
    const item = fixture('contacts-list').data[1]
    const a = normalizeContact('school', item).hash
    expect(normalizeContact('school', { ...item }).hash).toBe(a)
    expect(normalizeContact('school', { ...item, tags: [{ id: 1, name: 'x' }] }).hash).not.toBe(a)
  })

  it('takes certificates from StudentProductCertificateInfo wrappers or bare, skipping unissued ones', () => {
    const cert = fixture('certificate').data
    expect(normalizeCertificate('school', '132', { certificateble_type: 'course', certificate: cert })).toMatchObject({
      certificate_id: '55',
      contact_id: '132',
      number: '1986-0001',
      points: 120,
      certificateble_type: null,
      certificateble_title: 'Test course',
    })
    expect(normalizeCertificate('school', '132', cert)).toMatchObject({ certificate_id: '55', uuid: '262e7042-1933-42a9-ba01-e96d7d5110dc' })
    expect(normalizeCertificate('school', '132', { certificateble_title: 'Not issued yet', message: null })).toBeNull()
  })
})

describe('dimensions', () => {
  it('maps products, timezones and contact lists', () => {
    expect(normalizeProduct('school', fixture('products').data[0])).toMatchObject({
      product_id: '299',
      productable_type: 'course',
      productable_id: '142',
      link: 'http://test.local/courses/test-slug',
    })
    expect(fixture('timezones').data.map((t: unknown) => normalizeTimezone('school', t).name)).toEqual(['Asia/Kabul', 'Europe/Tirane'])
    const detail = normalizeContactListDetail('school', fixture('contact-list-detail').data)
    expect(detail.list).toMatchObject({ list_id: '1', is_default: true, contacts_count: 1 })
    expect(detail.members).toEqual([{ cabinet: 'school', list_id: '1', contact_id: '1', email: 'admin@grandstep.com.ua' }])
    expect(detail.countContacts).toBe(1)
  })

  it('maps offers: string and number amounts, enum objects, UTC validity and discount (§4.19, §4.20, §4.27)', () => {
    const [paid, free] = fixture('offers').data.map((o: unknown) => normalizeOffer('school', o))
    expect(paid.offer).toMatchObject({
      offer_id: '273',
      price_type_id: 2,
      price_type_label: 'Платно',
      price_amount: '10.00',
      price_currency: 'USD',
      price_discounted_amount: '5',
      limit_type_id: 1,
      validity_start_at: '2023-12-28T12:40:00.000Z',
      discount_id: '3',
      discount_start_at: '2023-12-28T12:41:00.000Z',
      discount_end_at: '2024-01-03T12:41:00.000Z',
    })
    expect(paid.products).toEqual([{ cabinet: 'school', offer_id: '273', product_id: '130', title: 'This is my course' }])
    expect(free.offer).toMatchObject({ discount_id: null, price_amount: '0.00' })
  })

  it('maps courses with enum objects or documented scalars (§4.18)', () => {
    const item = fixture('courses').data[0]
    expect(normalizeCourse('school', item).course).toMatchObject({
      course_id: '226',
      product_id: '431',
      type_id: 1,
      type_label: 'course',
      status_id: 3,
      status_label: 'Published',
      preview_url: expect.stringContaining('image_13.jpeg'),
    })
    expect(normalizeCourse('school', item).offers).toBeNull()
    const scalar = normalizeCourse('school', { ...item, type: 'marathon', status: 'draft', offers: [{ id: 5, title: 'O' }] })
    expect(scalar.course).toMatchObject({ type_id: null, type_label: 'marathon', status_id: null, status_label: 'draft' })
    expect(scalar.offers).toEqual([{ cabinet: 'school', course_id: '226', offer_id: '5', title: 'O' }])
  })

  it('maps coupons: string enum ids, user object, expires_at_utc preferred', () => {
    const coupon = normalizeCoupon('school', {
      ...fixture('coupons').data[0],
      type_discount: { id: 'discount_with_currency', name: 'In currency' },
      expires_at: '2024-12-31T23:59:00.000000Z',
      expires_at_utc: '2024-12-31T21:59:00.000000Z',
    })
    expect(coupon).toMatchObject({
      coupon_id: '3',
      code: 'KwigaSMVT-MD',
      reward: '30',
      is_fixed: true,
      used_amount: 0,
      user_id: '3',
      type_discount_id: 'discount_with_currency',
      expires_at: '2024-12-31T21:59:00.000Z',
      source_deleted_at: null,
    })
  })

  it('maps contact products with the aggregated subscription; "" image_url is null (§4.26)', () => {
    const rows = normalizeContactProduct('school', '77', fixture('contact-products').data[0])
    expect(rows.product).toMatchObject({
      contact_id: '77',
      product_id: '299',
      image_url: null,
      is_published: false,
      is_active: true,
      count_available_days: 39,
      state_id: 2,
      state_label: 'Open',
    })
    expect(rows.subscriptions).toEqual([
      expect.objectContaining({ subscription_id: '4775', contact_id: '77', product_id: '299', order_id: '2710', offer_id: '757', is_active: true }),
    ])
  })
})

describe('course users and progress stitching (§5)', () => {
  const body = fixture('course-users-include')

  it('finds the tree under course_structure or course_program (§4.7)', () => {
    expect(programOf(body)).toHaveLength(1)
    const { course_structure, ...rest } = body as unknown as Record<string, unknown>
    expect(programOf({ ...rest, course_program: course_structure })).toHaveLength(1)
    expect(programOf({ data: [] })).toBeNull()
  })

  it('flattens the program with depth, parents, ancestor lessons and section quizzes', () => {
    const index = indexProgram('school', '20', programOf(body)!)
    expect(index.nodes.map((n) => [n.node_id, n.parent_node_id, n.depth, n.nodeble_type, n.nodeble_id, n.title, n.ancestor_lesson_id])).toEqual([
      ['12', null, 0, 'course_module', '7', 'Module title', null],
      ['34', '12', 1, 'course_lesson', '48', 'Lesson 1', null],
      ['201', '34', 2, 'info_section', '201', 'List of practice', '48'],
      ['202', '34', 2, 'info_section', '202', 'Theory', '48'],
      ['35', '12', 1, 'course_lesson', '46', 'Lesson 2', null],
      ['203', '35', 2, 'info_section', '203', 'Intro', '46'],
    ])
    expect(index.nodes.find((n) => n.node_id === '201')!.quiz_ids).toEqual(['101'])
    expect(index.quizNode.get('48:101')).toBe('201')
  })

  it('stitches lesson, module and quiz progress onto node ids', () => {
    const index = indexProgram('school', '20', programOf(body)!)
    const rows = normalizeCourseUser('school', '20', body.data[0], index)
    expect(rows.user).toMatchObject({
      course_id: '20',
      user_id: '3',
      contact_id: '1',
      user_email: 'test@test.com',
      lessons_count: 9,
      quizzes_scores: '80',
      scores: null,
      is_completed: false,
    })
    expect(rows.lessons!.map((l) => [l.lesson_id, l.node_id, l.quizzing_status_id, l.quizzing_status_slug])).toEqual([
      ['48', '34', 4, 'Completed'],
      ['46', '35', 3, 'InProgress'],
    ])
    expect(rows.modules!.map((m) => [m.module_id, m.node_id])).toEqual([['7', '12']])
    expect(rows.quizzes).toEqual([
      expect.objectContaining({ course_lesson_id: '48', quiz_id: '101', node_id: '201', status_id: 1, status_slug: 'Passed', scores: '80', attempt_number: 2 }),
    ])
  })

  it('keeps absent progress arrays apart from empty ones (§4.36) and reads the untrimmed progress', () => {
    const rows = normalizeCourseUser('school', '20', fixture('course-users').data[0], null)
    expect(rows.lessons).toBeNull()
    expect(rows.user).toMatchObject({
      current_lesson_id: '48',
      next_lesson_id: '46',
      subscription_is_active: true,
      subscription_state_id: 2,
      product_scores: '0',
    })
    expect(() => normalizeCourseUser('school', '20', { contact: { id: 1 } }, null)).toThrow(RejectError)
  })
})

describe('values are read whole or not at all', () => {
  it('integers, times and decimals', () => {
    expect(int('12')).toBe(12)
    expect(int(' 7 ')).toBe(7)
    expect(int('1e3')).toBeNull()
    expect(int('0x10')).toBeNull()
    expect(int('12abc')).toBeNull()
    expect(int(1.5)).toBeNull()
    expect(time('2024-01-02 10:00:00')).toBe('2024-01-02T10:00:00.000Z')
    expect(time('2024-01-02T10:00:00+02:00')).toBe('2024-01-02T08:00:00.000Z')
    expect(time('2024-01-02 10:00:00+02:00')).toBe('2024-01-02T08:00:00.000Z')
    expect(time('2024')).toBeNull()
    expect(time('March 7, 2024')).toBeNull()
    expect(time('2024-01-02 10:00:00abc')).toBeNull()
    expect(time('0000-00-00 00:00:00')).toBeNull()
    expect(decimal('10.50abc')).toBeNull()
  })

  it('an order without `products` / `payments` keys replaces nothing; `[]` replaces with nothing', () => {
    const contact = (order: Record<string, unknown>) => normalizeContact('school', { id: 1, created_at: '2024-01-01 10:00:00', orders: [{ id: 10, ...order }] })
    const absent = contact({})
    expect(absent.orderProductParents).toEqual([])
    expect(absent.paymentParents).toEqual([])
    const empty = contact({ products: [], payments: [] })
    expect(empty.orderProductParents).toEqual(['10'])
    expect(empty.paymentParents).toEqual(['10'])
    const noTransactions = contact({ payments: [{ id: 5, status: 2 }] })
    expect(noTransactions.paymentParents).toEqual(['10'])
    expect(noTransactions.transactionParents).toEqual([])
    // A payment that cannot be keyed keeps the order's stored payments (it exists upstream).
    const broken = contact({ payments: [{ id: 5 }, { status: 2 }] })
    expect(broken.paymentParents).toEqual([])
    expect(broken.payments.map((p) => p.payment_id)).toEqual(['5'])
  })

  it('a contact list embedding members without an id cannot tell who left', () => {
    const detail = normalizeContactListDetail('school', { id: 3, contacts: [{ id: 1 }, { email: 'x@y' }], statistic: { count_contacts: 2 } })
    expect(detail.membersWhole).toBe(false)
    expect(normalizeContactListDetail('school', { id: 3, contacts: [{ id: 1 }] }).membersWhole).toBe(true)
  })
})
