import { DEAL_STATUSES, PAYMENT_STATUSES, type Stream, USER_STATUSES } from './columns.js'
import { type ZonedTime, parseDay } from './local-time.js'

/** Not a GetCourse code: the simulator rejects filters GetCourse would silently ignore (reference §1.4). */
export const SIM_INVALID_FILTER_CODE = 990

const DATE_FILTERS: Record<Stream, readonly string[]> = {
  users: ['created_at'],
  group_members: ['created_at', 'added_at'],
  deals: ['created_at', 'payed_at', 'finished_at', 'status_changed_at'],
  payments: ['created_at', 'status_changed_at'],
}

const STATUS_VOCABULARY: Record<Stream, { code: number; values: readonly string[] }> = {
  users: { code: 914, values: USER_STATUSES },
  group_members: { code: 914, values: USER_STATUSES },
  deals: { code: 913, values: DEAL_STATUSES },
  payments: { code: 918, values: PAYMENT_STATUSES },
}

/** Half-open instant range [from, to): whole account-local days, `[to]` inclusive. */
export interface DateRange {
  from: number
  to: number
}

export interface ExportFilters {
  /** The recognised filter parameters, as sent. */
  params: Record<string, string>
  dates: Map<string, DateRange>
  status?: string
  /** users: `email` (comma-separated), seen in working clients (reference §1.4). */
  emails?: Set<string>
  /** deals: `user_id` (comma-separated). */
  userIds?: Set<number>
}

export type FilterResult = { ok: true; filters: ExportFilters } | { ok: false; code: number; message: string }

const invalid = (message: string): FilterResult => ({ ok: false, code: SIM_INVALID_FILTER_CODE, message })

/** Reads the filters of an export start; parameters unknown for the stream are ignored, like GetCourse does. */
export function parseFilters(stream: Stream, query: Record<string, string>, time: ZonedTime): FilterResult {
  const filters: ExportFilters = { params: {}, dates: new Map() }

  for (const name of DATE_FILTERS[stream]) {
    let from = Number.NEGATIVE_INFINITY
    let to = Number.POSITIVE_INFINITY
    for (const bound of ['from', 'to'] as const) {
      const param = `${name}[${bound}]`
      const value = query[param]
      if (value === undefined) continue
      const day = parseDay(value)
      if (!day) return invalid(`Неверный формат даты в фильтре ${param}: "${value}", ожидается ГГГГ-ММ-ДД`)
      filters.params[param] = value
      if (bound === 'from') from = time.startOfDay(day.year, day.month, day.day)
      else to = time.startOfDay(day.year, day.month, day.day + 1)
    }
    if (from !== Number.NEGATIVE_INFINITY || to !== Number.POSITIVE_INFINITY) filters.dates.set(name, { from, to })
  }

  if (query.status !== undefined) {
    const { code, values } = STATUS_VOCABULARY[stream]
    if (!values.includes(query.status)) {
      return { ok: false, code, message: `Неверное значение в поле статус, попробуйте один из - ${values.join(',')}` }
    }
    filters.params.status = query.status
    filters.status = query.status
  }

  if (stream === 'users' && query.email !== undefined) {
    const emails = query.email
      .split(',')
      .map((e) => e.trim().toLowerCase())
      .filter(Boolean)
    if (emails.length === 0) return invalid('Пустой фильтр email')
    filters.params.email = query.email
    filters.emails = new Set(emails)
  }

  if (stream === 'deals' && query.user_id !== undefined) {
    const ids = query.user_id.split(',').map((id) => id.trim())
    if (ids.some((id) => !/^\d+$/.test(id))) return invalid(`Неверный фильтр user_id: "${query.user_id}"`)
    filters.params.user_id = query.user_id
    filters.userIds = new Set(ids.map(Number))
  }

  if (Object.keys(filters.params).length === 0) {
    return { ok: false, code: 908, message: 'Должен быть передан хотя бы один фильтр' }
  }
  return { ok: true, filters }
}

/** Whether `at` lies in the filter's range; records without the date never match a range on it. */
export function inRange(range: DateRange | undefined, at: number | null): boolean {
  if (!range) return true
  return at !== null && at >= range.from && at < range.to
}
