import { requireItem, type Row } from './normalize-item.js'
import { arrayAt, bool, decimal, enumAt, enumIntAt, id, int, isItem, json, objectAt, priceAt, text, time, utcTime, without, type Item } from './values.js'

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
    // Sent by the per-offer endpoint (§2 R10); NULL from the list, which does not carry them.
    purchases_count: int(item.purchases_count),
    sales_left: int(item.sales_left),
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
