import type { ColumnType, Generated as KyselyGenerated } from 'kysely'

/** Kysely types of the `kwiga.*` tables (migrations/0003_kwiga.sql). */

/** kysely's Generated<ColumnType<S, I, U>> selects as the ColumnType object itself; this one unwraps it. */
type Generated<T> = [T] extends [ColumnType<infer S, infer I, infer U>] ? ColumnType<S, I | undefined, U> : KyselyGenerated<T>
type Timestamp = ColumnType<Date, Date | string, Date | string>
/** jsonb: rows reach Postgres through `upsertRows`, which serializes objects itself. */
type Json = ColumnType<unknown, unknown, unknown>
/** bigint arrives from `pg` as a string; ids are written as decimal strings. */
type Int8 = ColumnType<string, number | string | bigint, number | string | bigint>
type Int8List = ColumnType<string[], (number | string)[], (number | string)[]>
/** numeric arrives as a string (no precision loss). */
type Numeric = ColumnType<string, number | string, number | string>

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

export interface KwigaCourseUsersTable {
  cabinet: string
  course_id: Int8
  user_id: Int8
  contact_id: Int8 | null
  user_name: string | null
  user_email: string | null
  course_points: Numeric | null
  lessons_available_count: number | null
  is_full_access: boolean | null
  lessons_count: number | null
  lessons_count_viewed: number | null
  lessons_viewed_percentage: Numeric | null
  lessons_count_completed: number | null
  lessons_completion_percentage: Numeric | null
  quizzes_count: number | null
  quizzes_count_completed: number | null
  quizzes_completion_percentage: Numeric | null
  scores_max: Numeric | null
  quizzes_scores: Numeric | null
  product_scores: Numeric | null
  scores: Numeric | null
  is_completed: boolean | null
  completed_at: Timestamp | null
  last_active_at: Timestamp | null
  current_lesson_id: Int8 | null
  next_lesson_id: Int8 | null
  current_dripping_date: Timestamp | null
  next_dripping_date: Timestamp | null
  subscription_is_active: boolean | null
  subscription_is_paid: boolean | null
  subscription_start_at: Timestamp | null
  subscription_end_at: Timestamp | null
  subscription_state_id: number | null
  subscription_state_label: string | null
  raw: Json
  synced_at: Generated<Timestamp>
  deleted_at: Timestamp | null
}

export interface KwigaCourseNodesTable {
  cabinet: string
  course_id: Int8
  node_id: Int8
  parent_node_id: Int8 | null
  position: number | null
  depth: number
  nodeble_type: string | null
  nodeble_id: Int8 | null
  title: string | null
  slug: string | null
  ancestor_lesson_id: Int8 | null
  quiz_ids: Generated<Int8List>
  raw: Json
  synced_at: Generated<Timestamp>
}

export interface KwigaLessonProgressTable {
  cabinet: string
  course_id: Int8
  user_id: Int8
  lesson_id: Int8
  node_id: Int8 | null
  is_watched: boolean | null
  is_completed: boolean | null
  quizzing_status_id: number | null
  quizzing_status_slug: string | null
  watching_start_at: Timestamp | null
  watching_end_at: Timestamp | null
  quizzing_start_at: Timestamp | null
  quizzing_end_at: Timestamp | null
  completed_at: Timestamp | null
  created_at: Timestamp | null
  updated_at: Timestamp | null
  synced_at: Generated<Timestamp>
}

export interface KwigaModuleProgressTable {
  cabinet: string
  course_id: Int8
  user_id: Int8
  module_id: Int8
  node_id: Int8 | null
  is_watched: boolean | null
  is_completed: boolean | null
  quizzing_status_id: number | null
  quizzing_status_slug: string | null
  watching_start_at: Timestamp | null
  watching_end_at: Timestamp | null
  quizzing_start_at: Timestamp | null
  quizzing_end_at: Timestamp | null
  completed_at: Timestamp | null
  created_at: Timestamp | null
  updated_at: Timestamp | null
  synced_at: Generated<Timestamp>
}

export interface KwigaQuizProgressTable {
  cabinet: string
  course_id: Int8
  user_id: Int8
  course_lesson_id: Int8
  quiz_id: Int8
  node_id: Int8 | null
  status_id: number | null
  status_slug: string | null
  scores: Numeric | null
  scores_max: Numeric | null
  started_at: Timestamp | null
  finished_at: Timestamp | null
  checked_at: Timestamp | null
  last_activity_at: Timestamp | null
  attempt_number: number | null
  synced_at: Generated<Timestamp>
}

export interface KwigaTables {
  'kwiga.timezones': KwigaTimezonesTable
  'kwiga.products': KwigaProductsTable
  'kwiga.offers': KwigaOffersTable
  'kwiga.offer_products': KwigaOfferProductsTable
  'kwiga.courses': KwigaCoursesTable
  'kwiga.course_offers': KwigaCourseOffersTable
  'kwiga.coupons': KwigaCouponsTable
  'kwiga.contact_lists': KwigaContactListsTable
  'kwiga.contact_list_members': KwigaContactListMembersTable
  'kwiga.contacts': KwigaContactsTable
  'kwiga.tags': KwigaTagsTable
  'kwiga.contact_tags': KwigaContactTagsTable
  'kwiga.contact_offers': KwigaContactOffersTable
  'kwiga.orders': KwigaOrdersTable
  'kwiga.order_products': KwigaOrderProductsTable
  'kwiga.payments': KwigaPaymentsTable
  'kwiga.transactions': KwigaTransactionsTable
  'kwiga.certificates': KwigaCertificatesTable
  'kwiga.contact_products': KwigaContactProductsTable
  'kwiga.product_subscriptions': KwigaProductSubscriptionsTable
  'kwiga.contact_product_checks': KwigaContactProductChecksTable
  'kwiga.course_users': KwigaCourseUsersTable
  'kwiga.course_nodes': KwigaCourseNodesTable
  'kwiga.lesson_progress': KwigaLessonProgressTable
  'kwiga.module_progress': KwigaModuleProgressTable
  'kwiga.quiz_progress': KwigaQuizProgressTable
}
