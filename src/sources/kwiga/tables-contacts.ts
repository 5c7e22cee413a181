import type { GeneratedAlways } from 'kysely'
import type { Generated, Int8, Int8List, Json, Numeric, Timestamp } from './column-types.js'

/** Kysely types of the contact tables: contacts, tags, orders, payments, transactions, certificates, contact products (migrations/0003_kwiga.sql). */

export interface KwigaContactsTable {
  cabinet: string
  contact_id: Int8
  user_id: Int8 | null
  email: string | null
  first_name: string | null
  middle_name: string | null
  last_name: string | null
  name: string | null
  phone: string | null
  phone_number: string | null
  phone_country: string | null
  crm_link: string | null
  created_at: Timestamp | null
  last_activity_at: Timestamp | null
  utm: Json | null
  first_visit: Json | null
  raw: Json
  synced_at: Generated<Timestamp>
  deleted_at: Timestamp | null
}

export interface KwigaTagsTable {
  cabinet: string
  tag_id: Int8
  name: string | null
  synced_at: Generated<Timestamp>
}

export interface KwigaContactTagsTable {
  cabinet: string
  contact_id: Int8
  tag_id: Int8
  synced_at: Generated<Timestamp>
}

export interface KwigaContactOffersTable {
  cabinet: string
  contact_id: Int8
  offer_id: Int8
  unique_offer_code: string | null
  title: string | null
  synced_at: Generated<Timestamp>
}

export interface KwigaOrdersTable {
  cabinet: string
  order_id: Int8
  contact_id: Int8
  type_id: number | null
  paid_status: string | null
  /** Canonical code of paid_status, computed by the database (migrations/0006_analyst.sql). */
  paid_status_code: GeneratedAlways<string | null>
  paid_status_title: string | null
  first_paid_at: Timestamp | null
  paid_at: Timestamp | null
  created_at: Timestamp | null
  updated_at: Timestamp | null
  cost_amount: Numeric | null
  cost_currency: string | null
  order_stage_id: Int8 | null
  order_stage_title: string | null
  crm_url: string | null
  raw: Json
  synced_at: Generated<Timestamp>
  manager_ids: Int8List | null
  manager_names: string[] | null
  utm_source: string | null
  utm_medium: string | null
  utm_campaign: string | null
  utm_term: string | null
  utm_content: string | null
  order_group_id: Int8 | null
  order_group_title: string | null
  order_funnel_id: Int8 | null
  order_funnel_title: string | null
}

/** Every paid_status an order was seen in, written by triggers with the order (migrations/0006_analyst.sql). */
export interface KwigaOrderStatusHistoryTable {
  cabinet: string
  order_id: Int8
  status: string
  status_code: string | null
  seen_from: Timestamp
  seen_to: Timestamp | null
}

/** Contact `additional_fields`, written by triggers with the contact. */
export interface KwigaContactFieldValuesTable {
  cabinet: string
  contact_id: Int8
  field_id: Int8
  title: string | null
  value: string | null
  display_value: string | null
}

export interface KwigaOrderProductsTable {
  cabinet: string
  order_id: Int8
  product_id: Int8
  productable_type: string | null
  productable_id: Int8 | null
  title: string | null
  synced_at: Generated<Timestamp>
}

export interface KwigaPaymentsTable {
  cabinet: string
  payment_id: Int8
  order_id: Int8
  status: string | null
  /** Canonical code of status, computed by the database (migrations/0006_analyst.sql). */
  status_code: GeneratedAlways<string | null>
  status_title: string | null
  payment_type: string | null
  payment_type_title: string | null
  payment_form: string | null
  payment_form_title: string | null
  purchase_type: string | null
  purchase_type_title: string | null
  amount: Numeric | null
  currency_code: string | null
  paid_at: Timestamp | null
  created_at: Timestamp | null
  updated_at: Timestamp | null
  raw: Json
  synced_at: Generated<Timestamp>
}

export interface KwigaTransactionsTable {
  cabinet: string
  transaction_id: Int8
  payment_id: Int8
  order_id: Int8 | null
  merchant_id: Int8 | null
  payment_system_status: string | null
  failure_reason: string | null
  price: Numeric | null
  currency_code: string | null
  payer_account: string | null
  card_mask: string | null
  rrn: string | null
  fee: Numeric | null
  created_at: Timestamp | null
  raw: Json
  synced_at: Generated<Timestamp>
}

export interface KwigaCertificatesTable {
  cabinet: string
  certificate_id: Int8
  contact_id: Int8
  uuid: string | null
  number: string | null
  user_id: Int8 | null
  link: string | null
  issued_at: Timestamp | null
  finished_at: Timestamp | null
  points: number | null
  certificateble_type: string | null
  certificateble_title: string | null
  template_id: Int8 | null
  raw: Json
  synced_at: Generated<Timestamp>
}

export interface KwigaContactProductsTable {
  cabinet: string
  contact_id: Int8
  product_id: Int8
  productable_type: string | null
  productable_id: Int8 | null
  title: string | null
  image_url: string | null
  is_published: boolean | null
  is_active: boolean | null
  is_paid: boolean | null
  start_at: Timestamp | null
  end_at: Timestamp | null
  offer_end_at: Timestamp | null
  order_end_at: Timestamp | null
  count_available_days: number | null
  count_left_days: number | null
  state_id: number | null
  state_label: string | null
  raw: Json
  synced_at: Generated<Timestamp>
  deleted_at: Timestamp | null
}

export interface KwigaProductSubscriptionsTable {
  cabinet: string
  subscription_id: Int8
  contact_id: Int8
  product_id: Int8 | null
  user_id: Int8 | null
  order_id: Int8 | null
  offer_id: Int8 | null
  creator_id: Int8 | null
  is_active: boolean | null
  start_at: Timestamp | null
  end_at: Timestamp | null
  order_end_at: Timestamp | null
  paid_at: Timestamp | null
  created_at: Timestamp | null
  updated_at: Timestamp | null
  raw: Json
  synced_at: Generated<Timestamp>
}

export interface KwigaContactProductChecksTable {
  cabinet: string
  contact_id: Int8
  contact_hash: string
  checked_hash: string | null
  checked_at: Timestamp | null
  synced_at: Generated<Timestamp>
}
