import { createHash } from 'node:crypto'
import { RejectError } from '../../errors.js'
import { rejected, type RejectInput } from '../../contract.js'
import { nestedReject, requireItem, type Row } from './normalize-item.js'
import { orderDetails } from './normalize-order-details.js'
import { arrayAt, decimal, enumAt, id, int, isItem, json, objectAt, priceAt, text, time, without, type Item } from './values.js'

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
        rejects.push(rejected(`contact ${contactId}: tag without id`, tag, contactId))
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
      rows.contactOffers.push({
        cabinet,
        contact_id: contactId,
        offer_id: offerId,
        unique_offer_code: text((offer as Item).unique_offer_code),
        title: text((offer as Item).title),
      })
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
    ...orderDetails(item),
  })
  const products = arrayAt(item, 'products')
  if (products) {
    let whole = true
    for (const product of products) {
      const productId = isItem(product) ? id(product.id) : null
      if (productId === null) {
        whole = false
        rows.rejects.push(rejected(`order ${orderId}: product without a usable id`, product, orderId))
        continue
      }
      const p = product as Item
      rows.orderProducts.push({
        cabinet,
        order_id: orderId,
        product_id: productId,
        productable_type: text(p.productable_type),
        productable_id: id(p.productable_id),
        title: text(p.title),
      })
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
