import { createHash } from 'node:crypto'
import type { Insertable } from 'kysely'
import { RejectError } from '../../errors.js'
import type { RejectInput } from '../types.js'
import type * as T from './tables.js'
import { arrayAt, bool, decimal, enumAt, enumIntAt, id, int, isItem, json, objectAt, priceAt, text, time, utcTime, without, type Item } from './values.js'

/**
 * Raw KWIGA items → warehouse rows. Pure and total: an item that cannot be keyed throws RejectError
 * (the stream quarantines it); a bad nested item is skipped and reported in `rejects`.
 */

type Row<K extends keyof T.KwigaTables> = Insertable<T.KwigaTables[K]>

/** The item as an object with a usable id, or a RejectError naming what is wrong. */
export function requireItem(value: unknown, what: string, idKey = 'id'): { item: Item; id: string } {
  if (!isItem(value)) throw new RejectError(`${what} is not an object`)
  const key = id(value[idKey])
  if (key === null) throw new RejectError(`${what} has no usable ${idKey}: ${JSON.stringify(value[idKey] ?? null)}`)
  return { item: value, id: key }
}

/** Best-effort id of a raw item, for `etl.rejects.record_key`. */
export function recordKeyOf(value: unknown): string | null {
  return isItem(value) ? text(value.id) : null
}

function nestedReject(what: string, err: unknown, raw: unknown): RejectInput {
  return { reason: `${what}: ${(err as Error).message}`, raw, recordKey: recordKeyOf(raw) }
}

// Contacts ------------------------------------------------------------------------------------------

export interface ContactRows {
  contact: Row<'kwiga.contacts'>
  /** Null when the key was absent (set not loaded): the stored set is then left alone (§4.38). */
  tags: Row<'kwiga.tags'>[] | null
  contactTags: Row<'kwiga.contact_tags'>[] | null
  contactOffers: Row<'kwiga.contact_offers'>[] | null
  orders: Row<'kwiga.orders'>[] | null
  /** False when an order of the list was rejected: the stored orders are then kept (none is lost). */
  ordersWhole: boolean
  orderProducts: Row<'kwiga.order_products'>[]
  payments: Row<'kwiga.payments'>[]
  transactions: Row<'kwiga.transactions'>[]
  /**
   * Orders whose `products`, orders whose `payments` and payments whose `transactions` arrived whole:
   * only their stored sets are replaced. An absent list means "not sent", never "empty" (§4.36).
   */
  orderProductParents: string[]
  paymentParents: string[]
  transactionParents: string[]
  certificates: Row<'kwiga.certificates'>[] | null
  /** Fingerprint of the whole item: contact_products re-reads a contact when it moves. */
  hash: string
  rejects: RejectInput[]
}

const CONTACT_SETS = ['orders', 'certificates'] as const

export function normalizeContact(cabinet: string, raw: unknown): ContactRows {
  const { item, id: contactId } = requireItem(raw, 'contact')
  const createdAt = time(item.created_at)
  // created_at is never null in the schema; a MySQL zero date ("0000-00-00 00:00:00") is corrupt.
  if (createdAt === null && item.created_at != null) throw new RejectError(`contact ${contactId} has an invalid created_at: ${JSON.stringify(item.created_at)}`)
  const rejects: RejectInput[] = []
  const contact: Row<'kwiga.contacts'> = {
    cabinet,
    contact_id: contactId,
    user_id: id(item.user_id),
    email: text(item.email),
    first_name: text(item.first_name),
    middle_name: text(item.middle_name),
    last_name: text(item.last_name),
    name: text(item.name),
    // The list returns E.164 `phone`, detail/list members a national `phone_number` (§4.5).
    phone: text(item.phone),
    phone_number: text(item.phone_number),
    phone_country: text(item.phone_country),
    crm_link: text(item.crm_link),
    created_at: createdAt,
    last_activity_at: time(item.last_activity_at),
    utm: isItem(item.utm) ? json(item.utm) : null,
    first_visit: isItem(item.first_visit) ? json(item.first_visit) : null,
    raw: json(without(item, CONTACT_SETS)),
  }
  const rows: ContactRows = {
    contact,
    tags: null,
    contactTags: null,
    contactOffers: null,
    orders: null,
    ordersWhole: true,
    orderProducts: [],
    payments: [],
    transactions: [],
    orderProductParents: [],
    paymentParents: [],
    transactionParents: [],
    certificates: null,
    hash: createHash('sha1').update(JSON.stringify(item)).digest('hex'),
    rejects,
  }
  const tags = arrayAt(item, 'tags')
  if (tags) {
    rows.tags = []
    rows.contactTags = []
    for (const tag of tags) {
      const tagId = isItem(tag) ? id(tag.id) : null
      if (tagId === null) {
        rejects.push({ reason: `contact ${contactId}: tag without id`, raw: tag, recordKey: contactId })
        continue
      }
      rows.tags.push({ cabinet, tag_id: tagId, name: text((tag as Item).name) })
      rows.contactTags.push({ cabinet, contact_id: contactId, tag_id: tagId })
    }
  }
  const offers = arrayAt(item, 'offers')
  if (offers) {
    rows.contactOffers = []
    for (const offer of offers) {
      const offerId = isItem(offer) ? id(offer.id) : null
      if (offerId === null) continue
      rows.contactOffers.push({ cabinet, contact_id: contactId, offer_id: offerId, unique_offer_code: text((offer as Item).unique_offer_code), title: text((offer as Item).title) })
    }
  }
  const orders = arrayAt(item, 'orders')
  if (orders) {
    rows.orders = []
    for (const raw of orders) {
      try {
        addOrder(cabinet, contactId, raw, rows)
      } catch (err) {
        rows.ordersWhole = false
        rejects.push(nestedReject(`contact ${contactId}: order`, err, raw))
      }
    }
  }
  const certificates = arrayAt(item, 'certificates')
  if (certificates) {
    rows.certificates = []
    for (const raw of certificates) {
      const cert = normalizeCertificate(cabinet, contactId, raw)
      if (cert) rows.certificates.push(cert)
    }
  }
  return rows
}

function addOrder(cabinet: string, contactId: string, raw: unknown, rows: ContactRows): void {
  const { item, id: orderId } = requireItem(raw, 'order')
  const cost = priceAt(item, 'cost_info')
  const stage = objectAt(item, 'order_stage')
  rows.orders!.push({
    cabinet,
    order_id: orderId,
    contact_id: contactId,
    type_id: int(item.type_id),
    // Documented as an integer, mostly returned as "paid" (§4.17): kept as text, as received.
    paid_status: text(item.paid_status),
    paid_status_title: text(item.paid_status_title),
    first_paid_at: time(item.first_paid_at),
    paid_at: time(item.paid_at),
    created_at: time(item.created_at),
    updated_at: time(item.updated_at),
    cost_amount: cost.amount,
    cost_currency: cost.currency,
    order_stage_id: stage ? id(stage.id) : null,
    order_stage_title: stage ? text(stage.title) : null,
    crm_url: text(item.crm_url),
    raw: json(without(item, ['payments'])),
  })
  const products = arrayAt(item, 'products')
  if (products) {
    let whole = true
    for (const product of products) {
      const productId = isItem(product) ? id(product.id) : null
      if (productId === null) {
        whole = false
        rows.rejects.push({ reason: `order ${orderId}: product without a usable id`, raw: product, recordKey: orderId })
        continue
      }
      const p = product as Item
      rows.orderProducts.push({ cabinet, order_id: orderId, product_id: productId, productable_type: text(p.productable_type), productable_id: id(p.productable_id), title: text(p.title) })
    }
    if (whole) rows.orderProductParents.push(orderId)
  }
  const payments = arrayAt(item, 'payments')
  if (payments) {
    let whole = true
    for (const payment of payments) {
      try {
        addPayment(cabinet, orderId, payment, rows)
      } catch (err) {
        whole = false
        rows.rejects.push(nestedReject(`order ${orderId}: payment`, err, payment))
      }
    }
    if (whole) rows.paymentParents.push(orderId)
  }
}

function addPayment(cabinet: string, orderId: string, raw: unknown, rows: ContactRows): void {
  const { item, id: paymentId } = requireItem(raw, 'payment')
  const price = priceAt(item, 'price_info')
  rows.payments.push({
    cabinet,
    payment_id: paymentId,
    order_id: orderId,
    // Documented as a string, returned as the integer 2 next to `status_title` (§4.16).
    status: text(item.status),
    status_title: text(item.status_title),
    payment_type: text(item.payment_type),
    payment_type_title: text(item.payment_type_title),
    payment_form: text(item.payment_form),
    payment_form_title: text(item.payment_form_title),
    purchase_type: text(item.purchase_type),
    purchase_type_title: text(item.purchase_type_title),
    amount: price.amount,
    currency_code: price.currency,
    paid_at: time(item.paid_at),
    created_at: time(item.created_at),
    updated_at: time(item.updated_at),
    raw: json(without(item, ['transactions'])),
  })
  const transactions = arrayAt(item, 'transactions')
  let whole = transactions !== null
  for (const tx of transactions ?? []) {
    try {
      const t = requireItem(tx, 'transaction')
      rows.transactions.push({
        cabinet,
        transaction_id: t.id,
        payment_id: paymentId,
        order_id: id(t.item.order_id) ?? orderId,
        merchant_id: id(t.item.merchant_id),
        payment_system_status: text(t.item.payment_system_status),
        failure_reason: text(t.item.failure_reason),
        price: decimal(t.item.price),
        currency_code: text(t.item.currency_code),
        payer_account: text(t.item.payer_account),
        card_mask: text(t.item.card_mask),
        // A string in the schema, an integer above 2^31 in the example (§4.21).
        rrn: text(t.item.rrn),
        fee: decimal(t.item.fee),
        created_at: time(t.item.created_at),
        raw: json(t.item),
      })
    } catch (err) {
      whole = false
      rows.rejects.push(nestedReject(`payment ${paymentId}: transaction`, err, tx))
    }
  }
  if (whole) rows.transactionParents.push(paymentId)
}

/**
 * `with_certificates` items are StudentProductCertificateInfo wrappers whose `certificate` exists
 * only once issued (§3.4); a bare Certificate is accepted too. Not issued yet → no row.
 */
export function normalizeCertificate(cabinet: string, contactId: string, raw: unknown): Row<'kwiga.certificates'> | null {
  if (!isItem(raw)) return null
  const cert = objectAt(raw, 'certificate') ?? ('uuid' in raw || 'number' in raw ? raw : null)
  const certId = cert ? id(cert.id) : null
  if (!cert || certId === null) return null
  const template = objectAt(cert, 'template') ?? objectAt(raw, 'template')
  const type = enumAt(raw, 'certificateble_type')
  return {
    cabinet,
    certificate_id: certId,
    contact_id: contactId,
    uuid: text(cert.uuid),
    number: text(cert.number),
    user_id: id(cert.user_id),
    link: text(cert.link),
    issued_at: time(cert.issued_at),
    finished_at: time(cert.finished_at),
    points: int(cert.points),
    certificateble_type: type.id ?? enumAt(cert, 'certificateble_type').id,
    certificateble_title: text(cert.certificateble_title) ?? text(raw.certificateble_title),
    template_id: template ? id(template.id) : null,
    raw: json(raw),
  }
}

// Dimensions ----------------------------------------------------------------------------------------

export function normalizeTimezone(cabinet: string, raw: unknown): Row<'kwiga.timezones'> {
  const { item, id: tzId } = requireItem(raw, 'timezone')
  return { cabinet, timezone_id: tzId, name: text(item.name), name_full: text(item.name_full), value: text(item.value), raw: json(item) }
}

export function normalizeProduct(cabinet: string, raw: unknown): Row<'kwiga.products'> {
  const { item, id: productId } = requireItem(raw, 'product')
  return {
    cabinet,
    product_id: productId,
    productable_type: text(item.productable_type),
    productable_id: id(item.productable_id),
    title: text(item.title) ?? text(item.name),
    link: text(item.link),
    raw: json(item),
  }
}

export interface OfferRows {
  offer: Row<'kwiga.offers'>
  products: Row<'kwiga.offer_products'>[]
  /** `products` arrived whole (present, every entry keyed): only then is the stored set replaced. */
  productsWhole: boolean
}

export function normalizeOffer(cabinet: string, raw: unknown): OfferRows {
  const { item, id: offerId } = requireItem(raw, 'offer')
  const price = priceAt(item, 'price')
  const discounted = priceAt(item, 'price_discounted')
  const priceType = enumIntAt(item, 'price_type')
  const limitType = enumIntAt(item, 'limit_type')
  const discount = objectAt(item, 'discount')
  const validityStart = objectAt(item, 'validity_start')
  const validityEnd = objectAt(item, 'validity_end')
  const offer: Row<'kwiga.offers'> = {
    cabinet,
    offer_id: offerId,
    unique_offer_code: text(item.unique_offer_code),
    url: text(item.url),
    title: text(item.title),
    description: text(item.description),
    short_description: text(item.short_description),
    price_type_id: priceType.id,
    price_type_label: priceType.label,
    price_amount: price.amount,
    price_currency: price.currency,
    price_discounted_amount: discounted.amount,
    limit_type_id: limitType.id,
    limit_type_label: limitType.label,
    limit_of_sales: int(item.limit_of_sales),
    is_active: bool(item.is_active),
    is_draft: bool(item.is_draft),
    has_subscription: bool(item.has_subscription),
    validity_start_at: validityStart ? utcTime(validityStart, 'date_at') : null,
    validity_end_at: validityEnd ? utcTime(validityEnd, 'date_at') : null,
    discount_id: discount ? id(discount.id) : null,
    discount_start_at: discount ? utcTime(discount, 'start_at') : null,
    discount_end_at: discount ? utcTime(discount, 'end_at') : null,
    raw: json(item),
  }
  const list = arrayAt(item, 'products')
  const products: Row<'kwiga.offer_products'>[] = []
  let productsWhole = list !== null
  for (const product of list ?? []) {
    const productId = isItem(product) ? id(product.id) : null
    if (productId === null) productsWhole = false
    else products.push({ cabinet, offer_id: offerId, product_id: productId, title: text((product as Item).title) ?? text((product as Item).name) })
  }
  return { offer, products, productsWhole }
}

export interface CourseRows {
  course: Row<'kwiga.courses'>
  /** Null when `offers` was absent (`with[]=offers` not honoured). */
  offers: Row<'kwiga.course_offers'>[] | null
}

export function normalizeCourse(cabinet: string, raw: unknown): CourseRows {
  const { item, id: courseId } = requireItem(raw, 'course')
  // `type` and `status` are documented as strings and returned as {id,name[,type]} (§4.18).
  const type = enumIntAt(item, 'type')
  const typeObject = objectAt(item, 'type')
  const status = enumIntAt(item, 'status')
  const preview = objectAt(item, 'preview')
  const course: Row<'kwiga.courses'> = {
    cabinet,
    course_id: courseId,
    product_id: id(item.product_id),
    type_id: type.id ?? int(item.type_id),
    type_label: (typeObject && text(typeObject.type)) ?? type.label,
    title: text(item.title),
    slug: text(item.slug),
    link: text(item.link),
    status_id: status.id,
    status_label: status.label,
    preview_url: preview ? text(preview.url) : text(item.preview_url),
    raw: json(without(item, ['offers'])),
  }
  const list = arrayAt(item, 'offers')
  const offers = list
    ? list.flatMap((o) => {
        const offerId = isItem(o) ? id(o.id) : null
        return offerId === null ? [] : [{ cabinet, course_id: courseId, offer_id: offerId, title: text((o as Item).title) }]
      })
    : null
  return { course, offers }
}

export function normalizeCoupon(cabinet: string, raw: unknown): Row<'kwiga.coupons'> {
  const { item, id: couponId } = requireItem(raw, 'coupon')
  const discount = enumAt(item, 'type_discount')
  const type = enumAt(item, 'type')
  const currency = objectAt(item, 'currency')
  const user = objectAt(item, 'user')
  return {
    cabinet,
    coupon_id: couponId,
    code: text(item.code),
    reward: decimal(item.reward),
    is_fixed: bool(item.is_fixed),
    is_active: bool(item.is_active),
    is_disposable: bool(item.is_disposable),
    used_amount: int(item.used_amount),
    total_uses: int(item.total_uses),
    total_uses_per_user: int(item.total_uses_per_user),
    type_discount_id: discount.id,
    type_discount_label: discount.label,
    type_date_expired_id: enumAt(item, 'type_date_expired').id,
    type_id: type.id,
    type_label: type.label,
    expires_at: utcTime(item, 'expires_at'),
    timezone_id: id(item.timezone_id),
    currency_id: id(item.currency_id) ?? (currency ? id(currency.id) : null),
    currency_code: currency ? text(currency.code) : null,
    contact_id: id(item.contact_id),
    user_id: user ? id(user.id) : id(item.user_id),
    created_at: time(item.created_at),
    updated_at: time(item.updated_at),
    source_deleted_at: time(item.deleted_at),
    raw: json(item),
  }
}

export function normalizeContactList(cabinet: string, raw: unknown): Row<'kwiga.contact_lists'> {
  const { item, id: listId } = requireItem(raw, 'contact list')
  return {
    cabinet,
    list_id: listId,
    title: text(item.title),
    description: text(item.description),
    is_default: bool(item.is_default),
    is_active: bool(item.is_active),
    is_segment: bool(item.is_segment),
    contacts_count: int(item.contacts_count),
    created_at: time(item.created_at),
    updated_at: time(item.updated_at),
    raw: json(without(item, ['contacts'])),
  }
}

export interface ContactListDetail {
  list: Row<'kwiga.contact_lists'>
  /** Null when the detail carried no `contacts` array. */
  members: Row<'kwiga.contact_list_members'>[] | null
  /** Every embedded member had an id. */
  membersWhole: boolean
  /** `statistic.count_contacts`, to detect a truncated embedded array (§6). */
  countContacts: number | null
}

export function normalizeContactListDetail(cabinet: string, raw: unknown): ContactListDetail {
  const list = normalizeContactList(cabinet, raw)
  const item = raw as Item
  const contacts = arrayAt(item, 'contacts')
  const statistic = objectAt(item, 'statistic')
  if (statistic && list.contacts_count == null) list.contacts_count = int(statistic.count_contacts)
  const members = contacts
    ? contacts.flatMap((c) => {
        const contactId = isItem(c) ? id(c.id) : null
        return contactId === null ? [] : [{ cabinet, list_id: list.list_id, contact_id: contactId, email: text((c as Item).email) }]
      })
    : null
  // Every embedded member keyed: the list can tell who left.
  const membersWhole = contacts !== null && members!.length === contacts.length
  return { list, members, membersWhole, countContacts: statistic ? int(statistic.count_contacts) : null }
}

// Contact products (`/contacts/:id/products`) --------------------------------------------------------

export interface ContactProductRows {
  product: Row<'kwiga.contact_products'>
  subscriptions: Row<'kwiga.product_subscriptions'>[]
  /** `subscriptions` arrived whole (present, every entry keyed): only then is the stored set replaced. */
  subscriptionsWhole: boolean
}

export function normalizeContactProduct(cabinet: string, contactId: string, raw: unknown): ContactProductRows {
  const { item, id: productId } = requireItem(raw, 'contact product')
  const agg = objectAt(item, 'aggregated_subscription') ?? {}
  const state = enumIntAt(agg, 'state')
  const product: Row<'kwiga.contact_products'> = {
    cabinet,
    contact_id: contactId,
    product_id: productId,
    productable_type: text(item.productable_type),
    productable_id: id(item.productable_id),
    title: text(item.title),
    image_url: text(item.image_url),
    is_published: bool(item.is_published),
    is_active: bool(agg.is_active),
    is_paid: bool(agg.is_paid),
    start_at: time(agg.start_at),
    end_at: time(agg.end_at),
    offer_end_at: time(agg.offer_end_at),
    order_end_at: time(agg.order_end_at),
    count_available_days: int(agg.count_available_days),
    count_left_days: int(agg.count_left_days),
    state_id: state.id,
    state_label: state.label,
    raw: json(without(item, ['subscriptions'])),
  }
  const list = arrayAt(item, 'subscriptions')
  const subscriptions: Row<'kwiga.product_subscriptions'>[] = []
  let subscriptionsWhole = list !== null
  for (const sub of list ?? []) {
    const subId = isItem(sub) ? id(sub.id) : null
    if (subId === null) {
      subscriptionsWhole = false
      continue
    }
    const s = sub as Item
    subscriptions.push({
      cabinet,
      subscription_id: subId,
      contact_id: contactId,
      product_id: id(s.product_id) ?? productId,
      user_id: id(s.user_id),
      order_id: id(s.order_id),
      offer_id: id(s.offer_id),
      creator_id: id(s.creator_id),
      is_active: bool(s.is_active),
      start_at: time(s.start_at),
      end_at: time(s.end_at),
      order_end_at: time(s.order_end_at),
      paid_at: time(s.paid_at),
      created_at: time(s.created_at),
      updated_at: time(s.updated_at),
      raw: json(s),
    })
  }
  return { product, subscriptions, subscriptionsWhole }
}
