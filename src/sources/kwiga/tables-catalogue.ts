import type { Generated, Int8, Json, Numeric, Timestamp } from './column-types.js'

/** Kysely types of the catalogue tables: time zones, products, offers, courses, coupons, contact lists (migrations/0003_kwiga.sql). */

export interface KwigaTimezonesTable {
  cabinet: string
  timezone_id: Int8
  name: string | null
  name_full: string | null
  value: string | null
  raw: Json
  synced_at: Generated<Timestamp>
  deleted_at: Timestamp | null
}

export interface KwigaProductsTable {
  cabinet: string
  product_id: Int8
  productable_type: string | null
  productable_id: Int8 | null
  title: string | null
  link: string | null
  raw: Json
  synced_at: Generated<Timestamp>
  deleted_at: Timestamp | null
}

export interface KwigaOffersTable {
  cabinet: string
  offer_id: Int8
  unique_offer_code: string | null
  url: string | null
  title: string | null
  description: string | null
  short_description: string | null
  price_type_id: number | null
  price_type_label: string | null
  price_amount: Numeric | null
  price_currency: string | null
  price_discounted_amount: Numeric | null
  limit_type_id: number | null
  limit_type_label: string | null
  limit_of_sales: number | null
  /** Sales so far and sales left under the limit (the per-offer endpoint, docs/kwiga.md §2 R10). */
  purchases_count: number | null
  sales_left: number | null
  is_active: boolean | null
  is_draft: boolean | null
  has_subscription: boolean | null
  validity_start_at: Timestamp | null
  validity_end_at: Timestamp | null
  discount_id: Int8 | null
  discount_start_at: Timestamp | null
  discount_end_at: Timestamp | null
  raw: Json
  synced_at: Generated<Timestamp>
  deleted_at: Timestamp | null
}

export interface KwigaOfferProductsTable {
  cabinet: string
  offer_id: Int8
  product_id: Int8
  title: string | null
  synced_at: Generated<Timestamp>
}

export interface KwigaCoursesTable {
  cabinet: string
  course_id: Int8
  product_id: Int8 | null
  type_id: number | null
  type_label: string | null
  title: string | null
  slug: string | null
  link: string | null
  status_id: number | null
  status_label: string | null
  preview_url: string | null
  raw: Json
  synced_at: Generated<Timestamp>
  deleted_at: Timestamp | null
}

export interface KwigaCourseOffersTable {
  cabinet: string
  course_id: Int8
  offer_id: Int8
  title: string | null
  synced_at: Generated<Timestamp>
}

export interface KwigaCouponsTable {
  cabinet: string
  coupon_id: Int8
  code: string | null
  reward: Numeric | null
  is_fixed: boolean | null
  is_active: boolean | null
  is_disposable: boolean | null
  used_amount: number | null
  total_uses: number | null
  total_uses_per_user: number | null
  type_discount_id: string | null
  type_discount_label: string | null
  type_date_expired_id: string | null
  type_id: string | null
  type_label: string | null
  expires_at: Timestamp | null
  timezone_id: Int8 | null
  currency_id: Int8 | null
  currency_code: string | null
  contact_id: Int8 | null
  user_id: Int8 | null
  created_at: Timestamp | null
  updated_at: Timestamp | null
  source_deleted_at: Timestamp | null
  raw: Json
  synced_at: Generated<Timestamp>
  deleted_at: Timestamp | null
}

export interface KwigaContactListsTable {
  cabinet: string
  list_id: Int8
  title: string | null
  description: string | null
  is_default: boolean | null
  is_active: boolean | null
  is_segment: boolean | null
  contacts_count: number | null
  created_at: Timestamp | null
  updated_at: Timestamp | null
  raw: Json
  synced_at: Generated<Timestamp>
  deleted_at: Timestamp | null
}

export interface KwigaContactListMembersTable {
  cabinet: string
  list_id: Int8
  contact_id: Int8
  email: string | null
  synced_at: Generated<Timestamp>
  deleted_at: Timestamp | null
}
