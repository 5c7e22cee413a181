/** Kysely types of the GetCourse status history and custom-field tables (migrations/0006_analyst.sql). */
import type { ColumnType, Generated as KyselyGenerated } from 'kysely'

/** kysely's Generated<ColumnType<S, I, U>> selects as the ColumnType object itself; this one unwraps it. */
type Generated<T> = [T] extends [ColumnType<infer S, infer I, infer U>] ? ColumnType<S, I | undefined, U> : KyselyGenerated<T>
type Timestamp = ColumnType<Date, Date | string, Date | string>
/** bigint arrives from `pg` as a string. */
type Int8 = ColumnType<string, number | string | bigint, number | string | bigint>

/** Written by triggers in the transaction that writes the deal / payment. */
export interface GetcourseDealStatusHistoryTable {
  account: string
  deal_id: Int8
  status: string
  status_code: string | null
  seen_from: Timestamp
  seen_to: Timestamp | null
}

export interface GetcoursePaymentStatusHistoryTable {
  account: string
  payment_id: Int8
  status: string
  status_code: string | null
  seen_from: Timestamp
  seen_to: Timestamp | null
}

/** Every title a field has had: values exported under an old title keep their field id. */
export interface GetcourseFieldTitlesTable {
  account: string
  field_id: Int8
  context_type: Generated<string>
  title: string
  first_seen_at: Generated<Timestamp>
  last_seen_at: Generated<Timestamp>
}

export interface GetcourseUserFieldValuesTable {
  account: string
  user_id: Int8
  title: string
  field_id: Int8
  value: string
}

export interface GetcourseDealFieldValuesTable {
  account: string
  deal_id: Int8
  title: string
  field_id: Int8
  value: string
}

export interface GetcourseAnalystTables {
  'getcourse.deal_status_history': GetcourseDealStatusHistoryTable
  'getcourse.payment_status_history': GetcoursePaymentStatusHistoryTable
  'getcourse.field_titles': GetcourseFieldTitlesTable
  'getcourse.user_field_values': GetcourseUserFieldValuesTable
  'getcourse.deal_field_values': GetcourseDealFieldValuesTable
}
