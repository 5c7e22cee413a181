/**
 * Which export column titles feed which typed column, per stream. Titles come from the account's
 * own CSV headers (reference §4): we match by title, never by position.
 */

export type ExportStream = 'users' | 'group_members' | 'deals' | 'payments'

export type ColumnKind = 'key' | 'id' | 'text' | 'int' | 'money' | 'datetime' | 'date' | 'flag' | 'tags'

export interface ColumnSpec {
  column: string
  kind: ColumnKind
  /** Accepted titles (compared case-insensitively, `ё` = `е`). */
  titles?: readonly string[]
  /** Alternative: a title pattern, e.g. `Стоимость, RUB`. */
  pattern?: RegExp
  /**
   * Which occurrence wins when the title repeats. System UTM columns come after the custom fields,
   * which may reuse the same titles (reference §4.3: `utm_source` appears 3× in a deals export).
   */
  pick?: 'first' | 'utm'
}

const utm = (prefix = ''): ColumnSpec[] =>
  ['source', 'medium', 'campaign', 'term', 'content', 'group'].map((part) => ({
    column: `utm_${part}`,
    kind: 'text' as const,
    titles: [`${prefix}utm_${part}`],
    pick: 'utm' as const,
  }))

const USER_COLUMNS: ColumnSpec[] = [
  { column: 'id', kind: 'key', titles: ['id', 'ID пользователя'] },
  { column: 'email', kind: 'text', titles: ['Email', 'E-mail', 'Эл. почта'] },
  { column: 'registration_type', kind: 'text', titles: ['Тип регистрации'] },
  { column: 'created_at', kind: 'datetime', titles: ['Создан', 'Дата создания', 'Дата регистрации'] },
  { column: 'last_activity_at', kind: 'datetime', titles: ['Последняя активность'] },
  { column: 'first_name', kind: 'text', titles: ['Имя'] },
  { column: 'last_name', kind: 'text', titles: ['Фамилия'] },
  { column: 'phone', kind: 'text', titles: ['Телефон'] },
  { column: 'birthday', kind: 'date', titles: ['Дата рождения'] },
  { column: 'age', kind: 'int', titles: ['Возраст'] },
  { column: 'country', kind: 'text', titles: ['Страна'] },
  { column: 'city', kind: 'text', titles: ['Город'] },
  { column: 'from_partner', kind: 'text', titles: ['От партнера'] },
  { column: 'came_from', kind: 'text', titles: ['Откуда пришел'] },
  ...utm(),
  { column: 'partner_id', kind: 'id', titles: ['ID партнера'] },
  { column: 'partner_email', kind: 'text', titles: ['Email партнера'] },
  { column: 'partner_name', kind: 'text', titles: ['ФИО партнера'] },
  { column: 'manager_name', kind: 'text', titles: ['ФИО менеджера'] },
  { column: 'vk_id', kind: 'text', titles: ['VK-ID', 'VK ID'] },
]

/** Group members: the user columns of §4.1 we find useful plus `ID группы`, `Добавлен в группу` (§4.2). */
const GROUP_MEMBER_COLUMNS: ColumnSpec[] = [
  { column: 'user_id', kind: 'key', titles: ['id', 'ID пользователя'] },
  { column: 'group_id', kind: 'id', titles: ['ID группы'] },
  { column: 'added_at', kind: 'datetime', titles: ['Добавлен в группу'] },
  { column: 'email', kind: 'text', titles: ['Email', 'E-mail'] },
  { column: 'first_name', kind: 'text', titles: ['Имя'] },
  { column: 'last_name', kind: 'text', titles: ['Фамилия'] },
  { column: 'phone', kind: 'text', titles: ['Телефон'] },
  { column: 'user_created_at', kind: 'datetime', titles: ['Создан'] },
]

/** Deals / orders (§4.3, recorded 81-column layout and the older 63-column one). */
const DEAL_COLUMNS: ColumnSpec[] = [
  { column: 'id', kind: 'key', titles: ['ID заказа'] },
  { column: 'number', kind: 'id', titles: ['Номер'] },
  { column: 'user_id', kind: 'id', titles: ['ID пользователя'] },
  { column: 'user_name', kind: 'text', titles: ['Пользователь'] },
  { column: 'user_email', kind: 'text', titles: ['Email'] },
  { column: 'user_phone', kind: 'text', titles: ['Телефон'] },
  { column: 'created_at', kind: 'datetime', titles: ['Дата создания'] },
  { column: 'paid_at', kind: 'datetime', titles: ['Дата оплаты'] },
  { column: 'title', kind: 'text', titles: ['Состав заказа', 'Title'] },
  { column: 'status', kind: 'text', titles: ['Статус'] },
  { column: 'cost', kind: 'money', pattern: /^стоимость(,\s*[a-z]{3})?$/i },
  { column: 'paid', kind: 'money', titles: ['Оплачено'] },
  { column: 'commission', kind: 'money', titles: ['Комиссия платежной системы'] },
  { column: 'received', kind: 'money', titles: ['Получено'] },
  { column: 'tax', kind: 'money', titles: ['Налог'] },
  { column: 'net_amount', kind: 'money', titles: ['Осталось после вычета комиссии платежной системы и налога'] },
  { column: 'other_fees', kind: 'money', titles: ['Другие комиссии'] },
  { column: 'earned', kind: 'money', titles: ['Заработано'] },
  { column: 'currency', kind: 'text', titles: ['Валюта'] },
  { column: 'manager', kind: 'text', titles: ['Менеджер'] },
  { column: 'city', kind: 'text', titles: ['Город'] },
  { column: 'country', kind: 'text', titles: ['Страна'] },
  { column: 'payment_system', kind: 'text', titles: ['Платежная система'] },
  { column: 'partner_id', kind: 'id', titles: ['ID партнера'] },
  { column: 'promo_code', kind: 'text', titles: ['Использован промокод'] },
  { column: 'promo_action', kind: 'text', titles: ['Промоакция'] },
  { column: 'order_partner_id', kind: 'id', titles: ['ID партнера заказа'] },
  { column: 'order_partner_email', kind: 'text', titles: ['Email партнера заказа'] },
  { column: 'order_partner_name', kind: 'text', titles: ['ФИО партнера заказа'] },
  { column: 'user_partner_id', kind: 'id', titles: ['ID партнера пользователя'] },
  { column: 'user_partner_email', kind: 'text', titles: ['Email партнера пользователя'] },
  { column: 'user_partner_name', kind: 'text', titles: ['ФИО партнера пользователя'] },
  ...utm(),
  { column: 'tags', kind: 'tags', titles: ['Теги'] },
  { column: 'offer_tags', kind: 'tags', titles: ['Теги предложений'] },
  { column: 'changed_at', kind: 'datetime', titles: ['Дата изменения'] },
  { column: 'status_changed_at', kind: 'datetime', titles: ['Статус изменен'] },
  { column: 'is_paid', kind: 'flag', titles: ['Оплачен'] },
  { column: 'is_free', kind: 'flag', titles: ['Бесплатный'] },
  { column: 'refusal_reason', kind: 'text', titles: ['Причина отказа'] },
]

/** Payments (§4.4, weakly verified titles). `Заказ` holds the deal *number*, not its id. */
const PAYMENT_COLUMNS: ColumnSpec[] = [
  { column: 'id', kind: 'key', titles: ['Номер', 'ID платежа'] },
  { column: 'user_name', kind: 'text', titles: ['Пользователь'] },
  { column: 'email', kind: 'text', titles: ['Эл. почта', 'Email'] },
  { column: 'deal_number', kind: 'id', titles: ['Заказ'] },
  { column: 'created_at', kind: 'datetime', titles: ['Дата создания'] },
  { column: 'type', kind: 'text', titles: ['Тип'] },
  { column: 'status', kind: 'text', titles: ['Статус'] },
  { column: 'amount', kind: 'money', titles: ['Сумма'] },
  { column: 'commission', kind: 'money', titles: ['Комиссии', 'Комиссия'] },
  { column: 'received', kind: 'money', titles: ['Получено'] },
  { column: 'code', kind: 'text', titles: ['Код платежа'] },
  { column: 'title', kind: 'text', titles: ['Название'] },
]

export const COLUMNS: Record<ExportStream, readonly ColumnSpec[]> = {
  users: USER_COLUMNS,
  group_members: GROUP_MEMBER_COLUMNS,
  deals: DEAL_COLUMNS,
  payments: PAYMENT_COLUMNS,
}

/** Target table and primary key of each export stream. */
export const TABLES: Record<ExportStream, { table: string; key: readonly string[] }> = {
  users: { table: 'getcourse.users', key: ['account', 'id'] },
  group_members: { table: 'getcourse.group_members', key: ['account', 'group_id', 'user_id'] },
  deals: { table: 'getcourse.deals', key: ['account', 'id'] },
  payments: { table: 'getcourse.payments', key: ['account', 'id'] },
}

export const normalizeTitle = (title: string) => title.trim().toLowerCase().replaceAll('ё', 'е').replace(/\s+/g, ' ')
