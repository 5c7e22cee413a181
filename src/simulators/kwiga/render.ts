/**
 * Dataset entities → KWIGA wire JSON. Every deliberate deviation from the documented schema is decided
 * per entity by a seeded hash (`quirk`), so the same seed always yields the same bytes. Section numbers
 * refer to docs/kwiga.md.
 */
import {
  CABINET_TIMEZONE,
  CURRENCIES,
  PAID_STATUS_CODES,
  quirk,
  type CurrencyCode,
  type PaidStatus,
  type QuizAttemptStatus,
  type QuizzingStatus,
  type SimCertificate,
  type SimContact,
  type SimContactList,
  type SimCoupon,
  type SimCourse,
  type SimCourseUser,
  type SimDataset,
  type SimOffer,
  type SimOrder,
  type SimPayment,
  type SimProduct,
  type SimProgramNode,
  type SimSubscription,
  type SimTimezone,
  type SimTransaction,
  type SimVisit,
} from './data.js'
import { hashUnit } from './random.js'
import { DAY, kwigaTime, kwigaTimeOrNull, localTimeMarkedZ, utcOffsetLabel, zoneOffsetMinutes } from './time.js'

export type Lang = 'en' | 'uk' | 'ru'
type Json = Record<string, unknown>

export interface RenderContext {
  ds: SimDataset
  lang: Lang
  now: number
}

/** Quirk kinds: the second input of the per-entity hash. */
const Q = {
  contactIdString: 1,
  userIdString: 2,
  phoneNumberInList: 3,
  tagIdString: 4,
  orderIdString: 5,
  orderProductIdString: 6,
  paidStatusInt: 7,
  paymentStatusString: 8,
  paymentAmountString: 9,
  costAmountString: 10,
  transactionPriceNumber: 11,
  rrnString: 12,
  enumScalar: 13,
  courseStructureKey: 14,
  trimmedProgress: 15,
  lessonNumberString: 16,
  couponRewardString: 17,
  courseUserPhoneNational: 18,
  subscriptionIdsString: 19,
  nameOrder: 20,
  paymentStatusSlug: 21,
} as const

/** Payment status ids and the slugs some payments arrive with instead (§4.16). */
const PAYMENT_STATUS_SLUG = { 1: 'pending', 2: 'paid', 3: 'failed', 4: 'refunded' } as const

const localized = (lang: Lang, t: { en: string; uk: string; ru: string }) => t[lang]

const PAYMENT_STATUS = {
  1: { en: 'Pending', uk: 'Очікує оплати', ru: 'Ожидает оплаты' },
  2: { en: 'Paid', uk: 'Сплачено', ru: 'Оплачено' },
  3: { en: 'Failed', uk: 'Помилка оплати', ru: 'Ошибка оплаты' },
  4: { en: 'Refunded', uk: 'Повернено', ru: 'Возврат' },
} as const
const PAYMENT_TYPE = {
  one_time: { en: 'One-time payment', uk: 'Разовий платіж', ru: 'Разовый платёж' },
  installment: { en: 'Installment', uk: 'Розстрочка', ru: 'Рассрочка' },
} as const
const PAYMENT_FORM = {
  online: { en: 'Online', uk: 'Онлайн', ru: 'Онлайн' },
  manual: { en: 'Manual', uk: 'Вручну', ru: 'Вручную' },
} as const
/** §4.34: paid_status_title comes back in Ukrainian whatever X-Language says. */
const PAID_STATUS_TITLE: Record<PaidStatus, string> = {
  paid: 'Сплачено',
  not_paid: 'Не сплачено',
  partially_paid: 'Частково сплачено',
  refunded: 'Повернення коштів',
}
const PRICE_TYPE = {
  free: { id: 1, en: 'Free', uk: 'Безкоштовно', ru: 'Бесплатно' },
  fixed: { id: 2, en: 'Paid', uk: 'Платно', ru: 'Платно' },
} as const
const LIMIT_TYPE = {
  unlimited: { id: 1, en: 'Unlimited', uk: 'Необмежено', ru: 'Неограничено' },
  limited: { id: 2, en: 'Certain amount', uk: 'Певна кількість', ru: 'Определённое количество' },
} as const
const QUIZZING_STATUS: Record<QuizzingStatus, [string, string]> = {
  1: ['NotStarted', 'Not started'],
  2: ['OnReview', 'On review'],
  3: ['InProgress', 'In progress'],
  4: ['Completed', 'Completed'],
}
const QUIZ_STATUS: Record<QuizAttemptStatus, [string, string]> = {
  1: ['Passed', 'Passed'],
  2: ['Failed', 'Failed'],
  3: ['InProgress', 'In progress'],
  4: ['OnReview', 'On review'],
}

/** §2.1 / §4.20: ids and amounts occasionally arrive as strings. */
function idValue(ctx: RenderContext, kind: number, id: number, rate: number): number | string {
  return quirk(ctx.ds, kind, id, rate) ? String(id) : id
}

function money2(amount: number): string {
  return amount.toFixed(2)
}

function shortCurrency(code: CurrencyCode): Json {
  const c = CURRENCIES[code]
  return { id: c.id, code: c.code, html_code: c.htmlCode, html_letter_code: c.htmlLetterCode }
}

function fullPrice(amount: number, code: CurrencyCode, amountAsNumber: boolean): Json {
  const c = CURRENCIES[code]
  return {
    amount: amountAsNumber ? amount : money2(amount),
    amount_rounded: money2(amount),
    amount_formatted: `${money2(amount)} ${c.htmlLetterCode}`,
    amount_formatted_code: `${c.htmlCode}${money2(amount)}`,
    amount_formatted_code_short: `${c.htmlCode}${money2(amount)}`,
    currency: { ...shortCurrency(code), is_volatile: false },
  }
}

export function renderTimezone(ctx: RenderContext, tz: SimTimezone): Json {
  // §4.28: the label shows today's offset, not the offset at the time of any event.
  const label = utcOffsetLabel(zoneOffsetMinutes(ctx.now, tz.name))
  return { id: tz.id, name: tz.name, name_full: `${tz.name} (${label})`, value: label }
}

function cabinetTimezone(ctx: RenderContext): Json {
  return renderTimezone(ctx, CABINET_TIMEZONE)
}

function contactName(ctx: RenderContext, c: { firstName: string | null; middleName: string | null; lastName: string | null }): string | null {
  const lastFirst = hashUnit(ctx.ds.seed, Q.nameOrder, 0) < 0.3
  const parts = lastFirst ? [c.lastName, c.firstName, c.middleName] : [c.firstName, c.middleName, c.lastName]
  const name = parts.filter(Boolean).join(' ')
  return name || null
}

function renderVisit(v: SimVisit): Json {
  return {
    id: v.id,
    ip: v.ip,
    landing_url: v.landingUrl,
    landing_domain: v.landingDomain,
    landing_path: v.landingPath,
    landing_params: v.landingParams,
    referrer_url: v.referrerUrl,
    referrer_domain: v.referrerDomain,
    utm_source: v.utmSource,
    utm_campaign: v.utmCampaign,
    utm_medium: v.utmMedium,
    utm_term: v.utmTerm,
    utm_content: v.utmContent,
    location: v.city ? `${v.city}, ${v.countryCode === 'PL' ? 'Poland' : 'Ukraine'}` : null,
    geo: {
      country: v.countryCode ? { id: v.countryCode === 'PL' ? 176 : 232, code: v.countryCode, name: v.countryCode === 'PL' ? 'Poland' : 'Ukraine' } : null,
      state_name: null,
      city: v.city,
      full_location: [v.city, v.countryCode === 'PL' ? 'Poland' : 'Ukraine'].filter(Boolean).join(', '),
    },
    device: {
      user_agent: v.browser.ua,
      browser: v.browser.browser,
      browser_version: v.browser.version,
      platform: v.browser.platform,
      platform_version: v.browser.platformVersion,
      type: v.browser.platform === 'iOS' || v.browser.platform === 'AndroidOS' ? { id: 2, name: 'Mobile' } : { id: 1, name: 'Desktop' },
      title: `${v.browser.browser} ${v.browser.version} (${v.browser.platform} ${v.browser.platformVersion})`,
    },
    created_at: kwigaTime(v.createdAt),
  }
}

function utmList(visits: readonly SimVisit[]): Json | null {
  const pick = (key: 'utmSource' | 'utmCampaign' | 'utmMedium' | 'utmTerm' | 'utmContent') => [
    ...new Set(visits.map((v) => v[key]).filter((x): x is string => x !== null)),
  ]
  const utm = {
    utm_source: pick('utmSource'),
    utm_campaign: pick('utmCampaign'),
    utm_medium: pick('utmMedium'),
    utm_term: pick('utmTerm'),
    utm_content: pick('utmContent'),
  }
  return Object.values(utm).some((v) => v.length) ? utm : null
}

export interface ContactRenderOptions {
  withOrders: boolean
  withCertificates: boolean
  /** `GET /contacts/:id` rather than the list. */
  detail: boolean
}

export function renderContact(ctx: RenderContext, c: SimContact, opts: ContactRenderOptions): Json {
  const { ds } = ctx
  const out: Json = {
    // Deliberately broken rows for normalizer tests (1 per 500 contacts): see SimContact.broken.
    id: c.broken === 'null-id' ? null : idValue(ctx, Q.contactIdString, c.id, 0.01),
    user_id: c.userId === null ? null : idValue(ctx, Q.userIdString, c.userId, 0.02),
    created_at: c.broken === 'zero-created-at' ? '0000-00-00 00:00:00' : kwigaTime(c.createdAt),
    email: c.email,
    first_name: c.firstName,
    middle_name: c.middleName,
    last_name: c.lastName,
    name: contactName(ctx, c),
  }
  // §4.5: the list uses `phone` (E.164); detail payloads and some list rows use `phone_number` (national part).
  if (opts.detail || quirk(ds, Q.phoneNumberInList, c.id, 0.1)) {
    out.phone_number = c.phoneNational
    out.phone_country = c.phoneCountry
  } else {
    out.phone = c.phone
  }
  out.crm_link = `https://${ds.schoolSlug}.kwiga.com/expert/crm/contacts/${c.id}`
  out.tags = c.tagIds.map((id) => ({ id: idValue(ctx, Q.tagIdString, id, 0.05), name: ds.tag(id)?.name ?? '' }))
  if (c.lastActivityAt !== null) out.last_activity_at = kwigaTime(c.lastActivityAt)
  if (c.visits.length) out.first_visit = renderVisit(c.visits[0])
  const utm = utmList(c.visits)
  if (utm) out.utm = utm
  if (opts.detail) {
    const tracked = c.visits.filter((v) => v.utmSource !== null)
    if (tracked.length) out.utm_visits = tracked.map(renderVisit)
    out.updated_at = kwigaTime(c.updatedAt)
  }
  if (c.customFields.length) {
    out.additional_fields = c.customFields.map((v) => {
      const field = ds.customFields.find((f) => f.id === v.fieldId)!
      const row: Json = { id: v.id, field: { id: field.id, title: field.title, is_local: field.isLocal }, value: v.value }
      // §4.12: display_value is documented but only enum fields carry it here.
      if (field.options) row.display_value = field.options.find(([value]) => value === v.value)?.[1] ?? null
      return row
    })
  }
  if (opts.withOrders) {
    const orders = ds.ordersOf(c.id)
    const bought = new Map<number, SimOffer>()
    for (const o of orders) {
      if (o.paidStatus === 'not_paid' || o.offerId === null) continue
      const offer = ds.offers.find((x) => x.id === o.offerId)
      if (offer) bought.set(offer.id, offer)
    }
    // §4.39: a subset of Offer, with a Russian limit_type label whatever the language (§4.19).
    out.offers = [...bought.values()].map((offer) => ({
      id: offer.id,
      unique_offer_code: offer.code,
      title: offer.title,
      limit_type: offer.limitOfSales === null ? { id: 1, name: LIMIT_TYPE.unlimited.ru } : { id: 2, name: LIMIT_TYPE.limited.ru },
      limit_of_sales: offer.limitOfSales,
    }))
    out.orders = orders.map((o) => renderOrder(ctx, o, opts.detail))
  }
  if (opts.withCertificates) out.certificates = ds.certificatesOf(c.id).map((cert) => renderCertificateInfo(ctx, cert))
  return out
}

function renderProductShort(p: SimProduct, idAsString: boolean): Json {
  const out: Json = { id: idAsString ? String(p.id) : p.id, productable_id: p.productableId, productable_type: p.productableType, title: p.title }
  if (p.link !== null) out.link = p.link
  return out
}

function renderOrder(ctx: RenderContext, o: SimOrder, detail: boolean): Json {
  const { ds } = ctx
  const stage = ds.orderStages.find((s) => s.id === o.stageId)!
  const out: Json = {
    id: idValue(ctx, Q.orderIdString, o.id, 0.03),
    type_id: o.typeId,
    first_paid_at: kwigaTimeOrNull(o.firstPaidAt),
    paid_at: kwigaTimeOrNull(o.paidAt),
    created_at: kwigaTime(o.createdAt),
    updated_at: kwigaTime(o.updatedAt),
    ...(ds.omit.has('order.products')
      ? {}
      : {
          products: o.productIds
            .map((pid) => ds.products.find((p) => p.id === pid))
            .filter((p): p is SimProduct => !!p)
            .map((p) => renderProductShort(p, quirk(ds, Q.orderProductIdString, o.id, 0.05))),
        }),
    ...(ds.omit.has('order.payments') ? {} : { payments: o.payments.map((p) => renderPayment(ctx, p)) }),
    // §4.17: documented as integer, the examples (and real clients) see a string slug.
    paid_status: quirk(ds, Q.paidStatusInt, o.id, 0.15) ? PAID_STATUS_CODES[o.paidStatus] : o.paidStatus,
    paid_status_title: PAID_STATUS_TITLE[o.paidStatus],
    order_stage: {
      id: stage.id,
      title: stage.title,
      order_group: {
        id: stage.groupId,
        slug: stage.groupId === 22 ? 'voronka-1' : 'vidmova',
        title: null,
        order: stage.groupId === 22 ? 4 : 5,
        created_at: kwigaTime(ds.contacts[0]?.createdAt ?? o.createdAt),
      },
      order_funnel: { id: 1, title: 'Воронка за замовчуванням', created_at: kwigaTime((ds.contacts[0]?.createdAt ?? o.createdAt) - 30 * DAY) },
      created_at: kwigaTime(ds.contacts[0]?.createdAt ?? o.createdAt),
    },
    cost_info: { amount: quirk(ds, Q.costAmountString, o.id, 0.3) ? money2(o.amount) : o.amount, currency: shortCurrency(o.currency) },
    managers: o.managerIds
      .map((id) => ds.managers.find((m) => m.id === id))
      .filter((m) => !!m)
      .map((m) => ({ id: m.id, name: m.name, email: m.email })),
  }
  // §3.6 `utm` (cond.): a UtmList of the contact's visits up to the order; absent when none had UTM.
  const contact = ds.contact(o.contactId)
  const utm = contact ? utmList(contact.visits.filter((v) => v.createdAt <= o.createdAt)) : null
  if (utm) out.utm = utm
  // §4.13: undocumented, seen by a public client on GET /contacts/:id?with_orders=1.
  if (detail) out.crm_url = `https://${ds.schoolSlug}.kwiga.com/expert/crm/orders/${o.id}`
  return out
}

function renderPayment(ctx: RenderContext, p: SimPayment): Json {
  const { ds, lang } = ctx
  return {
    id: p.id,
    // §4.16: schema says string, the example has an integer.
    status: quirk(ds, Q.paymentStatusSlug, p.id, 0.1)
      ? PAYMENT_STATUS_SLUG[p.status]
      : quirk(ds, Q.paymentStatusString, p.id, 0.15)
        ? String(p.status)
        : p.status,
    status_title: localized(lang, PAYMENT_STATUS[p.status]),
    payment_type: p.paymentType,
    payment_type_title: p.paymentType ? localized(lang, PAYMENT_TYPE[p.paymentType]) : null,
    payment_form: p.paymentForm,
    payment_form_title: p.paymentForm ? localized(lang, PAYMENT_FORM[p.paymentForm]) : null,
    price_info: { amount: quirk(ds, Q.paymentAmountString, p.id, 0.3) ? money2(p.amount) : p.amount, currency: shortCurrency(p.currency) },
    paid_at: kwigaTimeOrNull(p.paidAt),
    created_at: kwigaTime(p.createdAt),
    updated_at: kwigaTime(p.updatedAt),
    ...(ds.omit.has('payment.transactions') ? {} : { transactions: p.transactions.map((t) => renderTransaction(ctx, t)) }),
  }
}

function renderTransaction(ctx: RenderContext, t: SimTransaction): Json {
  const { ds } = ctx
  return {
    id: t.id,
    merchant_id: t.merchantId,
    payment_id: t.paymentId,
    order_id: t.orderId,
    payment_system_status: t.status,
    failure_reason: t.failureReason,
    // §4.20 / §4.21: price is a string in the example, rrn an integer; both flip for some rows.
    price: quirk(ds, Q.transactionPriceNumber, t.id, 0.25) ? t.price : String(t.price),
    currency_code: t.currency,
    payer_account: t.payerAccount,
    card_mask: t.cardMask,
    rrn: t.rrn === null ? null : quirk(ds, Q.rrnString, t.id, 0.2) ? String(t.rrn) : t.rrn,
    fee: t.fee,
    created_at: kwigaTime(t.createdAt),
  }
}

function cabinetId(ctx: RenderContext): number {
  return 1 + (ctx.ds.seed % 40_000)
}

function renderCertificate(ctx: RenderContext, cert: SimCertificate): Json {
  const contact = ctx.ds.contact(cert.contactId)
  return {
    id: cert.id,
    uuid: cert.uuid,
    cabinet_id: cabinetId(ctx),
    user_id: cert.userId,
    issued_at: kwigaTime(cert.issuedAt),
    number: cert.number,
    link: `https://${ctx.ds.schoolSlug}.kwiga.com/certificates/${cert.uuid}`,
    created_at: kwigaTime(cert.issuedAt),
    updated_at: kwigaTime(cert.issuedAt),
    finished_at: kwigaTime(cert.finishedAt),
    points: cert.points,
    user: { id: cert.userId, name: contact ? contactName(ctx, contact) : null, email: contact?.email ?? null },
    certificateble_title: cert.title,
  }
}

function renderCertificateInfo(ctx: RenderContext, cert: SimCertificate): Json {
  return {
    type: { id: 1, title: 'Course' },
    template: { id: cert.templateId, title: 'Сертифікат про проходження курсу', public_title: null },
    certificateble_type: 'course',
    certificateble_title: cert.title,
    message: null,
    system_comment: null,
    certificate: renderCertificate(ctx, cert),
  }
}

export function renderCertificateByNumber(ctx: RenderContext, cert: SimCertificate): Json {
  return renderCertificate(ctx, cert)
}

export function renderProduct(p: SimProduct): Json {
  return renderProductShort(p, false)
}

function aggregatedSubscription(ctx: RenderContext, subs: readonly SimSubscription[]): Json {
  const active = subs.filter((s) => !s.revoked && (s.endAt === null || s.endAt > ctx.now))
  const open = active.length > 0
  const startAt = Math.min(...subs.map((s) => s.startAt))
  let endAt: number | null = null
  if (!active.some((s) => s.endAt === null)) {
    const ends = (open ? active : subs).map((s) => s.endAt).filter((e): e is number => e !== null)
    endAt = ends.length ? Math.max(...ends) : null
  }
  // Access withdrawn by a refund ends when the subscription was revoked.
  if (!open && endAt === null) endAt = Math.max(...subs.map((s) => s.updatedAt))
  return {
    is_active: open,
    is_paid: subs.some((s) => s.paidAt !== null),
    start_at: kwigaTime(startAt),
    end_at: kwigaTimeOrNull(endAt),
    offer_end_at: null,
    order_end_at: null,
    count_available_days: Math.max(0, Math.floor(((endAt ?? ctx.now) - startAt) / DAY)),
    count_left_days: endAt === null ? null : Math.max(0, Math.ceil((endAt - ctx.now) / DAY)),
    state: open ? { id: 2, name: 'Open', title: 'Open' } : { id: 3, name: 'Closed', title: 'Closed' },
  }
}

function renderSubscription(ctx: RenderContext, s: SimSubscription): Json {
  const strings = quirk(ctx.ds, Q.subscriptionIdsString, s.id, 0.05)
  const id = (v: number | null) => (v === null ? null : strings ? String(v) : v)
  return {
    id: s.id,
    creator_id: s.creatorId,
    user_id: s.userId,
    product_id: s.productId,
    order_id: id(s.orderId),
    offer_id: id(s.offerId),
    is_active: !s.revoked && (s.endAt === null || s.endAt > ctx.now),
    start_at: kwigaTime(s.startAt),
    order_end_at: null,
    end_at: kwigaTimeOrNull(s.endAt),
    paid_at: kwigaTimeOrNull(s.paidAt),
    created_at: kwigaTime(s.createdAt),
    updated_at: kwigaTime(s.updatedAt),
  }
}

/** Items of `GET /contacts/:id/products`. */
export function renderContactProducts(ctx: RenderContext, contactId: number): Json[] {
  const byProduct = new Map<number, SimSubscription[]>()
  for (const s of ctx.ds.subscriptionsOf(contactId)) {
    const list = byProduct.get(s.productId)
    if (list) list.push(s)
    else byProduct.set(s.productId, [s])
  }
  const out: Json[] = []
  for (const [productId, subs] of [...byProduct].sort((a, b) => a[0] - b[0])) {
    const p = ctx.ds.products.find((x) => x.id === productId)
    if (!p) continue
    out.push({
      id: p.id,
      productable_id: p.productableId,
      productable_type: p.productableType,
      title: p.title,
      // §4.26: empty string where the schema says nullable.
      image_url: p.imageUrl ?? '',
      is_published: p.isPublished,
      aggregated_subscription: aggregatedSubscription(ctx, subs),
      ...(ctx.ds.omit.has('product.subscriptions') ? {} : { subscriptions: subs.map((s) => renderSubscription(ctx, s)) }),
    })
  }
  return out
}

function enumOrScalar(ctx: RenderContext, entityId: number, kindOffset: number, object: Json, scalar: string): Json | string {
  // §4.18 / §4.19: documented as strings, returned as objects; some rows follow the documentation.
  return quirk(ctx.ds, Q.enumScalar * 100 + kindOffset, entityId, 0.15) ? scalar : object
}

function dateSetting(ctx: RenderContext, type: 'validity_start' | 'validity_end', at: number | null): Json {
  const tz = CABINET_TIMEZONE
  return {
    type,
    duration_type_id: type === 'validity_start' ? 1 : 3,
    // §4.27: date_at is cabinet-local time wrongly marked Z; date_at_utc is the real instant.
    date_at: at === null ? null : localTimeMarkedZ(at, tz.name),
    date_at_utc: kwigaTimeOrNull(at),
    timezone_id: at === null ? null : tz.id,
    timezone: at === null ? null : cabinetTimezone(ctx),
    after_months: 0,
    after_days: 0,
    specific_time: null,
  }
}

function activeDiscount(ctx: RenderContext, offer: SimOffer) {
  const d = offer.discount
  return d && d.startAt <= ctx.now && (d.endAt === null || d.endAt > ctx.now) ? d : null
}

export function renderOffer(ctx: RenderContext, offer: SimOffer, detail: boolean): Json {
  const { ds, lang } = ctx
  const tz = CABINET_TIMEZONE
  const d = activeDiscount(ctx, offer)
  const priceType = PRICE_TYPE[offer.priceType]
  const limit = offer.limitOfSales === null ? LIMIT_TYPE.unlimited : LIMIT_TYPE.limited
  const out: Json = {
    id: offer.id,
    unique_offer_code: offer.code,
    url: `https://kwiga.com/o/${offer.code}`,
    title: offer.title,
    description: offer.description,
    short_description: offer.shortDescription,
    price_type: enumOrScalar(ctx, offer.id, 1, { id: priceType.id, name: localized(lang, priceType) }, offer.priceType),
    // §4.20: price.amount is a string, price_discounted.amount a number, in the same object.
    price: fullPrice(offer.price, offer.currency, false),
    price_discounted: fullPrice(d ? d.price : offer.priceType === 'free' ? 0 : offer.price, offer.currency, true),
    discount: d
      ? {
          id: d.id,
          price_discounted: d.price,
          limit_type: d.endAt === null ? { id: 1, name: 'Безстроково' } : { id: 2, name: 'До дати' },
          start_at: localTimeMarkedZ(d.startAt, tz.name),
          start_at_utc: kwigaTime(d.startAt),
          start_timezone_id: tz.id,
          end_at: d.endAt === null ? null : localTimeMarkedZ(d.endAt, tz.name),
          // §4.22: end_type is an integer and `sales` null despite the schema.
          end_type: d.endAt === null ? null : 3,
          end_at_utc: kwigaTimeOrNull(d.endAt),
          end_timezone_id: d.endAt === null ? null : tz.id,
          sales_limit: d.salesLimit,
          sales: null,
          is_active: true,
          is_available: true,
          created_at: kwigaTime(d.createdAt),
          updated_at: kwigaTime(d.createdAt),
          start_timezone: cabinetTimezone(ctx),
          end_timezone: d.endAt === null ? null : cabinetTimezone(ctx),
        }
      : null,
    has_subscription: offer.hasSubscription,
    limit_type: enumOrScalar(ctx, offer.id, 2, { id: limit.id, name: localized(lang, limit) }, offer.limitOfSales === null ? 'unlimited' : 'limited'),
    limit_of_sales: offer.limitOfSales,
  }
  if (offer.validityStart !== null) {
    out.is_active = !offer.isDraft && offer.validityStart <= ctx.now && (offer.validityEnd === null || offer.validityEnd > ctx.now)
  }
  out.is_draft = offer.isDraft
  if (offer.validityStart !== null) {
    out.validity_start = dateSetting(ctx, 'validity_start', offer.validityStart)
    out.validity_end = dateSetting(ctx, 'validity_end', offer.validityEnd)
  }
  if (!ds.omit.has('offer.products'))
    out.products = offer.productIds
      .map((pid) => ds.products.find((p) => p.id === pid))
      .filter((p): p is SimProduct => !!p)
      .map((p) => renderProductShort(p, false))
  if (detail) {
    const purchases = ds.orders.filter((o) => o.offerId === offer.id && o.paidStatus !== 'not_paid').length
    out.purchases_count = purchases
    out.sales_left = offer.limitOfSales === null ? null : Math.max(0, offer.limitOfSales - purchases)
  }
  return out
}

function renderProgramNode(node: SimProgramNode, course: SimCourse): Json {
  const out: Json = {
    id: node.id,
    course_nodeble_type: node.type,
    course_nodeble_id: node.nodebleId,
    parent_id: node.parentId,
    order: node.order,
    course_nodeble: node.type === 'info_section' ? { id: node.nodebleId, name: node.title, slug: node.slug } : { id: node.nodebleId, title: node.title },
  }
  if (node.type === 'info_section') {
    out.quizzes = node.quizIds.map((id) => {
      const q = course.quizzes.find((x) => x.id === id)!
      return { id: q.id, name: q.name }
    })
  }
  out.children = node.children.map((child) => renderProgramNode(child, course))
  return out
}

/** Tree in the shape of the `include=course_program` example (§2 R7, §5). */
export function renderCourseProgram(course: SimCourse): Json[] {
  return course.program.map((n) => renderProgramNode(n, course))
}

/** Tree in the documented CourseProgram schema shape, used by `GET /courses?with[]=program` (§4.8). */
function renderDocumentedProgram(course: SimCourse, nodes: readonly SimProgramNode[], rootId: number | null): Json[] {
  return nodes.map((n) => ({
    id: n.id,
    order: n.order,
    type: n.type,
    course_id: course.id,
    title: n.title,
    children: renderDocumentedProgram(course, n.children, rootId ?? n.id),
    root_id: rootId,
    parent_id: n.parentId,
    is_public: n.type === 'course_lesson' && n.order === 1 && n.parentId === course.program[0]?.id,
    link: n.type === 'course_lesson' ? `${course.link}/${n.slug}` : null,
  }))
}

/** `GET /courses` item; `withOffers/Description/Program` follow `with[]`. */
export function renderCourse(ctx: RenderContext, course: SimCourse, extra: { offers: boolean; description: boolean; program: boolean }): Json {
  const out: Json = {
    id: course.id,
    product_id: course.productId,
    type: enumOrScalar(
      ctx,
      course.id,
      3,
      course.type === 'course' ? { id: 1, name: 'Course', type: 'course' } : { id: 2, name: 'Marathon', type: 'marathon' },
      course.type,
    ),
    title: course.title,
    slug: course.slug,
  }
  if (course.preview) {
    const base = `https://cdn.kwiga.com/${ctx.ds.schoolSlug}/${course.preview.uuid}/${course.preview.name.replace('.jpeg', '')}`
    out.preview = {
      id: course.preview.id,
      uuid: course.preview.uuid,
      name: course.preview.name,
      original_name: course.preview.name,
      url: `${base}.jpeg`,
      thumbnails: { xs: `${base}_thumb_150.jpeg`, small: `${base}_thumb_500.jpeg`, medium: `${base}.jpeg`, large: `${base}.jpeg`, default: `${base}.jpeg` },
      extension: 'jpeg',
      type_id: 2,
      mime_type: 'image/jpeg',
    }
  }
  out.link = course.link
  out.status = enumOrScalar(ctx, course.id, 4, course.status === 'published' ? { id: 3, name: 'Published' } : { id: 1, name: 'Draft' }, course.status)
  if (extra.offers) out.offers = ctx.ds.offers.filter((o) => o.productIds.includes(course.productId)).map((o) => renderOffer(ctx, o, false))
  if (extra.description)
    out.info_units = course.infoUnits.map((u) => ({
      id: u.id,
      title: u.title,
      description_formatted: u.description,
      has_external_links: false,
      position: u.position,
      type_id: 1,
    }))
  if (extra.program) out.program = renderDocumentedProgram(course, course.program, null)
  return out
}

/** §4.7: the top-level key is `course_program` per the docs, `course_structure` in the example; per course. */
export function courseProgramKey(ctx: RenderContext, course: SimCourse): 'course_program' | 'course_structure' {
  return quirk(ctx.ds, Q.courseStructureKey, course.id, 0.5) ? 'course_structure' : 'course_program'
}

export interface CourseUserStats {
  viewed: number
  completed: number
  viewedPct: number
  completedPct: number
  quizzesCount: number
  quizzesCompleted: number
  quizzesPct: number
  scores: number
  scoresMax: number
}

export function courseUserStats(course: SimCourse, cu: SimCourseUser): CourseUserStats {
  const lessons = course.lessons.length
  const viewed = cu.lessonProgress.filter((p) => p.isWatched).length
  const completed = cu.lessonProgress.filter((p) => p.isCompleted).length
  const pairs = course.lessons.reduce((n, l) => n + l.quizIds.length, 0)
  const passed = cu.quizProgress.filter((q) => q.status === 1).length
  const scoresMax = course.lessons.reduce((n, l) => n + l.quizIds.reduce((m, id) => m + (course.quizzes.find((q) => q.id === id)?.scoresMax ?? 0), 0), 0)
  const pct = (a: number, b: number) => (b === 0 ? 0 : Math.floor((a * 100) / b))
  return {
    viewed,
    completed,
    viewedPct: pct(viewed, lessons),
    completedPct: pct(completed, lessons),
    quizzesCount: pairs,
    quizzesCompleted: passed,
    quizzesPct: pct(passed, pairs),
    scores: cu.quizProgress.reduce((n, q) => n + q.scores, 0),
    scoresMax,
  }
}

function lessonSimple(ctx: RenderContext, course: SimCourse, lessonIndex: number, withQuizzes: boolean): Json {
  const lesson = course.lessons[lessonIndex]
  const mod = course.modules.find((m) => m.id === lesson.moduleId) ?? null
  // §4.23: `number` is documented as string, the example has integers.
  const num = (n: number, id: number) => (quirk(ctx.ds, Q.lessonNumberString, id, 0.3) ? String(n) : n)
  const out: Json = {
    id: lesson.id,
    course_id: course.id,
    type_id: 1,
    status_id: 4,
    number: num(lesson.number, lesson.id),
    title: lesson.title,
    slug: lesson.slug,
    link: `${course.link}/${lesson.slug}`,
  }
  // §4.36: current_lesson carries `quizzes`, next_lesson does not.
  if (withQuizzes) out.quizzes = lesson.quizIds.map((id) => ({ id, name: course.quizzes.find((q) => q.id === id)?.name ?? '' }))
  out.module = mod ? { id: mod.id, course_id: course.id, number: num(mod.number, mod.id), title: mod.title } : null
  return out
}

function statusEnum(table: Record<number, [string, string]>, id: number): Json {
  return { id, slug: table[id][0], title: table[id][1] }
}

export interface CourseUserRenderOptions {
  include: ReadonlySet<string>
}

export function renderCourseUser(ctx: RenderContext, course: SimCourse, cu: SimCourseUser, contact: SimContact, opts: CourseUserRenderOptions): Json {
  const { ds } = ctx
  const s = courseUserStats(course, cu)
  const completedAll = course.lessons.length > 0 && s.completed === course.lessons.length
  const completedAt = completedAll ? Math.max(...cu.lessonProgress.map((p) => p.completedAt ?? 0)) : null
  const progress: Json = {
    course_id: course.id,
    course_url: course.link,
    title: course.title,
    lessons_count: course.lessons.length,
    lessons_count_viewed: s.viewed,
    lessons_viewed_percentage: s.viewedPct,
    lessons_count_completed: s.completed,
    lessons_completion_percentage: s.completedPct,
    quizzes_count: s.quizzesCount,
    quizzes_count_completed: s.quizzesCompleted,
    quizzes_completion_percentage: s.quizzesPct,
    scores_max: s.scoresMax,
    quizzes_scores: s.scores,
    product_scores: 0,
    scores: s.scores,
    is_completed: completedAll,
    completed_at: kwigaTimeOrNull(completedAt),
  }
  const watchedIdx = course.lessons.map((l, i) => (cu.lessonProgress.some((p) => p.lessonId === l.id) ? i : -1)).filter((i) => i >= 0)
  const currentIdx = watchedIdx.length ? watchedIdx[watchedIdx.length - 1] : course.lessons.length ? 0 : -1
  const nextIdx = currentIdx >= 0 && currentIdx + 1 < course.lessons.length ? currentIdx + 1 : -1
  Object.assign(progress, {
    current_lesson: currentIdx >= 0 ? lessonSimple(ctx, course, currentIdx, true) : null,
    next_lesson: nextIdx >= 0 ? lessonSimple(ctx, course, nextIdx, false) : null,
    last_active_at: kwigaTimeOrNull(cu.lastActiveAt),
    is_checkpoints_skipped: false,
    checkpoints: [],
    is_current_dripping_date_skipped: false,
    is_next_dripping_date_skipped: false,
    current_dripping_date: null,
    next_dripping_date: cu.availableLessons !== null && cu.availableLessons < course.lessons.length ? kwigaTime(Math.floor(ctx.now / DAY) * DAY + DAY) : null,
  })
  // §4.35: with any include, half of the courses answer the trimmed course_progress of the include example.
  if (opts.include.size > 0 && quirk(ds, Q.trimmedProgress, course.id, 0.5)) {
    for (const key of [
      'course_url',
      'product_scores',
      'scores',
      'current_lesson',
      'next_lesson',
      'last_active_at',
      'is_checkpoints_skipped',
      'checkpoints',
      'is_current_dripping_date_skipped',
      'is_next_dripping_date_skipped',
      'current_dripping_date',
      'next_dripping_date',
    ])
      delete progress[key]
  }
  const out: Json = {
    user: { id: cu.userId, name: contactName(ctx, contact) ?? contact.email, email: contact.email },
    contact: {
      id: contact.id,
      user_id: contact.userId,
      email: contact.email,
      first_name: contact.firstName,
      last_name: contact.lastName,
      phone: quirk(ds, Q.courseUserPhoneNational, contact.id, 0.3) ? contact.phoneNational : contact.phone,
      created_at: kwigaTime(contact.createdAt),
      last_activity_at: kwigaTimeOrNull(contact.lastActivityAt),
    },
    course_points: s.scores,
    course_progress: progress,
    lessons_available_count: cu.availableLessons ?? course.lessons.length,
    is_full_access: cu.availableLessons === null,
  }
  const subs = ds.subscriptionsOf(contact.id).filter((x) => x.productId === course.productId)
  if (subs.length) out.subscription = aggregatedSubscription(ctx, subs)
  if (opts.include.has('lesson_progress')) {
    out.lesson_progress = cu.lessonProgress.map((p) => ({
      lesson_id: p.lessonId,
      is_watched: p.isWatched,
      is_completed: p.isCompleted,
      quizzing_status: statusEnum(QUIZZING_STATUS, p.quizzingStatus),
      watching_start_at: kwigaTime(p.watchingStartAt),
      watching_end_at: kwigaTimeOrNull(p.watchingEndAt),
      quizzing_start_at: kwigaTimeOrNull(p.quizzingStartAt),
      quizzing_end_at: kwigaTimeOrNull(p.quizzingEndAt),
      completed_at: kwigaTimeOrNull(p.completedAt),
      created_at: kwigaTime(p.createdAt),
      updated_at: kwigaTime(p.updatedAt),
    }))
  }
  if (opts.include.has('module_progress')) out.module_progress = moduleProgress(course, cu)
  if (opts.include.has('quiz_progress')) {
    out.quiz_progress = cu.quizProgress.map((q) => ({
      course_lesson_id: q.lessonId,
      quiz_id: q.quizId,
      status: statusEnum(QUIZ_STATUS, q.status),
      scores: q.scores,
      scores_max: q.scoresMax,
      started_at: kwigaTime(q.startedAt),
      finished_at: kwigaTimeOrNull(q.finishedAt),
      checked_at: kwigaTimeOrNull(q.checkedAt),
      last_activity_at: kwigaTime(q.lastActivityAt),
      attempt_number: q.attemptNumber,
    }))
  }
  return out
}

/** Module progress is aggregated server-side from the module's lessons (§5). */
function moduleProgress(course: SimCourse, cu: SimCourseUser): Json[] {
  const out: Json[] = []
  for (const mod of course.modules) {
    const lessons = course.lessons.filter((l) => l.moduleId === mod.id)
    const rows = cu.lessonProgress.filter((p) => lessons.some((l) => l.id === p.lessonId))
    if (!rows.length) continue
    const completed = rows.length === lessons.length && rows.every((r) => r.isCompleted)
    const min = (xs: (number | null)[]) => {
      const v = xs.filter((x): x is number => x !== null)
      return v.length ? Math.min(...v) : null
    }
    const max = (xs: (number | null)[]) => {
      const v = xs.filter((x): x is number => x !== null)
      return v.length ? Math.max(...v) : null
    }
    out.push({
      module_id: mod.id,
      is_watched: rows.some((r) => r.isWatched),
      is_completed: completed,
      quizzing_status: statusEnum(QUIZZING_STATUS, completed ? 4 : 3),
      watching_start_at: kwigaTimeOrNull(min(rows.map((r) => r.watchingStartAt))),
      watching_end_at: kwigaTimeOrNull(max(rows.map((r) => r.watchingEndAt))),
      quizzing_start_at: kwigaTimeOrNull(min(rows.map((r) => r.quizzingStartAt))),
      quizzing_end_at: completed ? kwigaTimeOrNull(max(rows.map((r) => r.quizzingEndAt))) : null,
      completed_at: completed ? kwigaTimeOrNull(max(rows.map((r) => r.completedAt))) : null,
      created_at: kwigaTime(min(rows.map((r) => r.createdAt))!),
      updated_at: kwigaTime(max(rows.map((r) => r.updatedAt))!),
    })
  }
  return out
}

export function renderCoupon(ctx: RenderContext, c: SimCoupon): Json {
  const { ds } = ctx
  const creator = ds.managers.find((m) => m.id === c.creatorId) ?? ds.managers[0]
  const tz = CABINET_TIMEZONE
  return {
    id: c.id,
    code: c.code,
    reward: quirk(ds, Q.couponRewardString, c.id, 0.2) ? money2(c.reward) : c.reward,
    // §4.24: coupon enums use string ids.
    type_discount: c.isFixed ? { id: 'discount_with_currency', name: 'In currency' } : { id: 'discount_with_percent', name: 'In % of order/offer value' },
    type_date_expired: c.expiresAt === null ? { id: 'indefinite_action', name: 'Never expires' } : { id: 'certain_date', name: 'Until a certain date' },
    type_total_count_used: c.totalUses === 0 ? { id: 'unlimited', name: 'Unlimited' } : { id: 'certain_amount', name: 'A certain amount' },
    type_used_contact_lists: { id: 'all_users', name: 'All users' },
    is_fixed: c.isFixed,
    is_active: c.isActive,
    is_disposable: c.isDisposable,
    used_amount: c.usedAmount,
    has_infinite_used: c.totalUses === 0,
    has_access_contact_lists: false,
    total_uses: c.totalUses,
    total_uses_per_user: c.totalUsesPerUser,
    contact_lists: [],
    type: c.offerIds.length ? { id: 4, title: 'Offers' } : { id: 1, title: 'All products' },
    // §4.11: the list's `user` carries more than UserSimple.
    user: creator
      ? {
          id: creator.id,
          avatar_url: `https://cdn.kwiga.com/avatars/${creator.id}.png`,
          hash: `u${creator.id.toString(36)}${ds.seed.toString(36)}`.slice(0, 16),
          name: creator.name,
          email: creator.email,
          tag_name: creator.name.replace(/\s+/g, ''),
        }
      : null,
    contact_id: c.contactId,
    offers: c.offerIds.map((id) => ({ id, title: ds.offers.find((o) => o.id === id)?.title ?? '' })),
    // §4.27: expires_at is local wall time marked Z; expires_at_utc is the instant.
    expires_at: c.expiresAt === null ? null : localTimeMarkedZ(c.expiresAt, tz.name),
    expires_at_utc: kwigaTimeOrNull(c.expiresAt),
    timezone_id: c.expiresAt === null ? null : tz.id,
    currency_id: c.isFixed ? CURRENCIES.UAH.id : null,
    currency: c.isFixed ? { ...shortCurrency('UAH'), is_volatile: false } : null,
    created_at: kwigaTime(c.createdAt),
    updated_at: kwigaTime(c.updatedAt),
    deleted_at: kwigaTimeOrNull(c.deletedAt),
  }
}

export function renderContactList(ctx: RenderContext, list: SimContactList, detail: boolean): Json {
  const out: Json = {
    id: list.id,
    title: list.title,
    description: list.description,
    is_default: list.isDefault,
    created_at: kwigaTime(list.createdAt),
    updated_at: kwigaTime(list.updatedAt),
  }
  if (detail) {
    const members: Json[] = []
    for (const id of list.contactIds) {
      const c = ctx.ds.contact(id)
      if (!c) continue
      // §4.5: list members carry both phone forms plus phone_country and a few undocumented fields.
      members.push({
        id: c.id,
        first_name: c.firstName,
        middle_name: c.middleName,
        last_name: c.lastName,
        name: contactName(ctx, c),
        sex: c.sex,
        age: c.age,
        email: c.email,
        phone_country: c.phoneCountry,
        phone_number: c.phoneNational,
        city: c.city,
        phone: c.phone,
        created_at: kwigaTime(c.createdAt),
        updated_at: kwigaTime(c.updatedAt),
      })
    }
    out.contacts = members
    out.statistic = { contact_list_id: list.id, count_contacts: members.length }
  }
  return out
}
