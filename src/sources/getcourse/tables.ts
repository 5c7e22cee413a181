/** Kysely types of the `getcourse.*` tables and the `etl.getcourse_*` bookkeeping (migrations/0002_getcourse.sql). */
import type { ColumnType, GeneratedAlways, Generated as KyselyGenerated } from 'kysely'
import type { GetcourseAnalystTables } from './tables-analyst.js'

/** kysely's Generated<ColumnType<S, I, U>> selects as the ColumnType object itself; this one unwraps it. */
type Generated<T> = [T] extends [ColumnType<infer S, infer I, infer U>] ? ColumnType<S, I | undefined, U> : KyselyGenerated<T>
type Timestamp = ColumnType<Date, Date | string, Date | string>
type Json = ColumnType<unknown, string, string>
/** bigint arrives from `pg` as a string. */
type Int8 = ColumnType<string, number | string | bigint, number | string | bigint>
/** numeric arrives as a string (no precision loss). */
type Numeric = ColumnType<string, string | number, string | number>

interface Synced {
  account: string
  extra: Generated<Json>
  synced_at: Generated<Timestamp>
  /** Set when a complete listing no longer has the row (migrations/0005_fidelity.sql). */
  deleted_at: Timestamp | null
}

export interface GetcourseUsersTable extends Synced {
  id: Int8
  email: string | null
  registration_type: string | null
  created_at: Timestamp | null
  last_activity_at: Timestamp | null
  first_name: string | null
  last_name: string | null
  phone: string | null
  birthday: ColumnType<string, string, string> | null
  age: number | null
  country: string | null
  city: string | null
  from_partner: string | null
  came_from: string | null
  utm_source: string | null
  utm_medium: string | null
  utm_campaign: string | null
  utm_term: string | null
  utm_content: string | null
  utm_group: string | null
  partner_id: Int8 | null
  partner_email: string | null
  partner_name: string | null
  manager_name: string | null
  vk_id: string | null
}

export interface GetcourseGroupsTable extends Synced {
  id: Int8
  name: string | null
  last_added_at: Timestamp | null
}

export interface GetcourseGroupMembersTable extends Synced {
  group_id: Int8
  user_id: Int8
  added_at: Timestamp | null
  email: string | null
  first_name: string | null
  last_name: string | null
  phone: string | null
  user_created_at: Timestamp | null
}

export interface GetcourseDealsTable extends Synced {
  id: Int8
  number: Int8 | null
  user_id: Int8 | null
  user_name: string | null
  user_email: string | null
  user_phone: string | null
  created_at: Timestamp | null
  paid_at: Timestamp | null
  title: string | null
  status: string | null
  status_code: string | null
  cost: Numeric | null
  currency: string | null
  paid: Numeric | null
  commission: Numeric | null
  received: Numeric | null
  tax: Numeric | null
  net_amount: Numeric | null
  other_fees: Numeric | null
  earned: Numeric | null
  manager: string | null
  city: string | null
  country: string | null
  payment_system: string | null
  partner_id: Int8 | null
  promo_code: string | null
  promo_action: string | null
  order_partner_id: Int8 | null
  order_partner_email: string | null
  order_partner_name: string | null
  user_partner_id: Int8 | null
  user_partner_email: string | null
  user_partner_name: string | null
  utm_source: string | null
  utm_medium: string | null
  utm_campaign: string | null
  utm_term: string | null
  utm_content: string | null
  utm_group: string | null
  tags: Generated<string[]>
  offer_tags: Generated<string[]>
  changed_at: Timestamp | null
  status_changed_at: Timestamp | null
  is_paid: boolean | null
  is_free: boolean | null
  refusal_reason: string | null
  /** Test deal (status code `false`), computed by the database (migrations/0006_analyst.sql). */
  is_test: GeneratedAlways<boolean | null>
}

export interface GetcoursePaymentsTable extends Synced {
  id: Int8
  user_name: string | null
  email: string | null
  deal_number: Int8 | null
  created_at: Timestamp | null
  type: string | null
  status: string | null
  status_code: string | null
  amount: Numeric | null
  commission: Numeric | null
  received: Numeric | null
  currency: string | null
  code: string | null
  title: string | null
}

export interface GetcourseFieldsTable extends Synced {
  id: Int8
  title: string | null
  type: string | null
  context_type: string | null
  required: boolean | null
  field_order_pos: number | null
}

export interface GetcourseBudgetTable {
  account: string
  blocked_until: Timestamp | null
  blocked_note: string | null
  updated_at: Generated<Timestamp>
}

export type RequestKind = 'start' | 'poll' | 'groups' | 'fields'

export interface GetcourseRequestsTable {
  id: Generated<Int8>
  account: string
  sent_at: Timestamp
  kind: RequestKind
  stream: string | null
  export_id: Int8 | null
  error_code: number | null
}

export interface GetcourseLeasesTable {
  account: string
  holder: string
  run_id: Int8 | null
  stream: string | null
  export_id: Int8 | null
  acquired_at: Timestamp
  expires_at: Timestamp
}

export type ExportStatus = 'pending' | 'ready' | 'loaded' | 'failed'

export interface GetcourseExportsTable {
  account: string
  export_id: Int8
  stream: string
  group_id: Int8 | null
  filters: Json
  filter_field: string
  window_from: ColumnType<string, string, string> | null
  window_to: ColumnType<string, string, string> | null
  started_at: Timestamp
  first_wait_ms: number | null
  last_pending_at: Timestamp | null
  ready_at: Timestamp | null
  loaded_at: Timestamp | null
  status: Generated<ExportStatus>
  rows: number | null
  requests: Generated<number>
  error: string | null
  run_id: Int8 | null
}

export interface GetcourseTables extends GetcourseAnalystTables {
  'getcourse.users': GetcourseUsersTable
  'getcourse.groups': GetcourseGroupsTable
  'getcourse.group_members': GetcourseGroupMembersTable
  'getcourse.deals': GetcourseDealsTable
  'getcourse.payments': GetcoursePaymentsTable
  'getcourse.fields': GetcourseFieldsTable
  'etl.getcourse_budget': GetcourseBudgetTable
  'etl.getcourse_requests': GetcourseRequestsTable
  'etl.getcourse_leases': GetcourseLeasesTable
  'etl.getcourse_exports': GetcourseExportsTable
}
