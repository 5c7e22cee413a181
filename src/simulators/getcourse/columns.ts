/** Column titles, status vocabularies and the additional-fields dictionary of a simulated account. */

export type Stream = 'users' | 'group_members' | 'deals' | 'payments'

/** Every export cell is a string, except the tag columns, which are JSON arrays (reference §3.2). */
export type Cell = string | string[]

export const USER_STATUSES = ['active', 'deactivated', 'banned', 'invited', 'in_base'] as const
export type UserStatus = (typeof USER_STATUSES)[number]

export const DEAL_STATUSES = [
  'new',
  'in_work',
  'not_confirmed',
  'payed',
  'cancelled',
  'false',
  'payment_waiting',
  'part_payed',
  'waiting_for_return',
  'pending',
] as const
export type DealStatus = (typeof DEAL_STATUSES)[number]

export const PAYMENT_STATUSES = ['expected', 'accepted', 'returned', 'tobalance', 'frombalance', 'returned_to_balance'] as const
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number]

/** Exports show human labels, not the filter codes (reference §4.5). */
export const DEAL_STATUS_LABELS: Record<DealStatus, string> = {
  new: 'Новый',
  in_work: 'В работе',
  not_confirmed: 'Не подтвержден',
  payed: 'Завершен',
  cancelled: 'Отменен',
  false: 'Ложный',
  payment_waiting: 'Ожидаем оплаты',
  part_payed: 'Частично оплачен',
  waiting_for_return: 'Ожидаем возврата',
  pending: 'Отложен',
}

export const PAYMENT_STATUS_LABELS: Record<PaymentStatus, string> = {
  expected: 'Ожидаем оплаты',
  accepted: 'Получен',
  returned: 'Возвращен',
  tobalance: 'Зачислен на баланс',
  frombalance: 'Списан с баланса',
  returned_to_balance: 'Возвращен на баланс',
}

export interface FieldDefinition {
  id: number
  /** Our key into `custom` values of a user or deal. */
  key: string
  type: 'text' | 'checkbox' | 'select' | 'textarea'
  /** Title in the fields dictionary. */
  title: string
  /** Column title in exports: a blank dictionary title shows up as `' '` (reference §4). */
  header: string
  context: 'user' | 'deal'
  required: number | string
}

const field = (
  id: number,
  key: string,
  type: FieldDefinition['type'],
  title: string,
  context: FieldDefinition['context'],
  header = title,
  required: number | string = 0,
): FieldDefinition => ({ id, key, type, title, header, context, required })

/** Custom user fields, spliced between `От партнера` and `Откуда пришел` (reference §4.1). */
export const USER_CUSTOM_FIELDS: readonly FieldDefinition[] = [
  field(10_558_601, 'telegram', 'text', 'Ник в Telegram', 'user'),
  // The account's own `utm_source` field duplicates the system column of the same title (reference §4).
  field(10_558_602, 'custom_utm_source', 'text', 'utm_source', 'user'),
  field(10_558_670, 'consent', 'checkbox', '', 'user', ' '),
  field(10_558_688, 'occupation', 'select', 'Сфера деятельности', 'user', 'Сфера деятельности', '1'),
  field(10_558_690, 'discovery', 'text', 'Откуда узнали о школе', 'user'),
  field(10_601_001, 'gc_utm_source', 'text', 'gc_system_user_utm_source', 'user'),
  field(10_601_002, 'gc_utm_medium', 'text', 'gc_system_user_utm_medium', 'user'),
  field(10_601_003, 'gc_utm_campaign', 'text', 'gc_system_user_utm_campaign', 'user'),
  field(10_601_004, 'gc_utm_term', 'text', 'gc_system_user_utm_term', 'user'),
  field(10_601_005, 'gc_utm_content', 'text', 'gc_system_user_utm_content', 'user'),
]

/** Custom order fields, spliced after `Промоакция` (reference §4.3, recorded 81-column layout). */
export const DEAL_CUSTOM_FIELDS: readonly FieldDefinition[] = [
  field(10_700_101, 'scan_utm_source', 'text', 'scan_utm_source', 'deal'),
  field(10_700_102, 'scan_utm_medium', 'text', 'scan_utm_medium', 'deal'),
  field(10_700_103, 'scan_utm_campaign', 'text', 'scan_utm_campaign', 'deal'),
  field(10_700_110, 'gds_sent', 'checkbox', 'Передан в GDS', 'deal'),
  field(10_700_111, 'gds_result', 'text', 'Result GDS', 'deal'),
  field(10_700_112, 'refund', 'checkbox', 'Возврат', 'deal'),
  field(10_700_113, 'offer_consent', 'checkbox', '<span style="color:#e53935">Согласие с офертой</span>', 'deal'),
  field(10_700_114, 'from_amo', 'text', 'from_amo', 'deal'),
  field(10_700_115, 'custom_utm_source', 'text', 'utm_source', 'deal'),
  field(10_700_116, 'occupation', 'textarea', 'Чем занимаешься?', 'deal'),
  // Two forms each created their own "age" field, so the title appears twice (reference §4).
  field(10_700_117, 'age_form1', 'select', 'Сколько вам лет', 'deal'),
  field(10_700_118, 'age_form2', 'select', 'Сколько вам лет', 'deal'),
  field(10_700_201, 'gc_utm_source', 'text', 'gc_system_deal_utm_source', 'deal'),
  field(10_700_202, 'gc_utm_medium', 'text', 'gc_system_deal_utm_medium', 'deal'),
  field(10_700_203, 'gc_utm_campaign', 'text', 'gc_system_deal_utm_campaign', 'deal'),
]

const UTM_TITLES = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'utm_group'] as const

export const USER_FIELDS: readonly string[] = [
  'id',
  'Email',
  'Тип регистрации',
  'Создан',
  'Последняя активность',
  'Имя',
  'Фамилия',
  'Телефон',
  'Дата рождения',
  'Возраст',
  'Страна',
  'Город',
  'От партнера',
  ...USER_CUSTOM_FIELDS.map((f) => f.header),
  'Откуда пришел',
  ...UTM_TITLES,
  'ID партнера',
  'Email партнера',
  'ФИО партнера',
  'ФИО менеджера',
  'VK-ID',
]

export const GROUP_MEMBER_FIELDS: readonly string[] = [...USER_FIELDS, 'ID группы', 'Добавлен в группу']

/** Deal columns; the cost title embeds the account currency (`Стоимость, RUB`). */
export function dealFields(currency: string): string[] {
  return [
    'ID заказа',
    'Номер',
    'ID пользователя',
    'Пользователь',
    'Email',
    'Телефон',
    'Дата создания',
    'Дата оплаты',
    'Состав заказа',
    'Статус',
    `Стоимость, ${currency}`,
    'Оплачено',
    'Комиссия платежной системы',
    'Получено',
    'Налог',
    'Осталось после вычета комиссии платежной системы и налога',
    'Другие комиссии',
    'Заработано',
    'Валюта',
    'Менеджер',
    'Город',
    'Платежная система',
    'ID партнера',
    'Использован промокод',
    'Промоакция',
    ...DEAL_CUSTOM_FIELDS.map((f) => f.header),
    'ID партнера заказа',
    'Email партнера заказа',
    'ФИО партнера заказа',
    'ID партнера пользователя',
    'Email партнера пользователя',
    'ФИО партнера пользователя',
    ...UTM_TITLES,
    'Партнерский источник',
    'Партнерский код',
    'Партнер (сессия)',
    ...UTM_TITLES.map((t) => `user_${t}`),
    'user_gcpc',
    'Теги',
    'Теги предложений',
    'Дата изменения',
    'Статус изменен',
    'Оплачен',
    'Бесплатный',
    'Причина отказа',
    'Комментарий к причине отказа',
    'GetCourse Pay: Статус рассрочки',
    'Клиент: денег принес',
    'Клиент: оплачено заказов',
    'Страна',
    'Комментарий к клиенту',
    'Статус подписки клиента',
    'Клиент: дата регистрации',
    'Клиент: давность регистрации',
    'Клиент: давность последней активности',
    'Клиент: дата последней активности',
    'Задачи',
  ]
}

export const PAYMENT_FIELDS: readonly string[] = [
  'Номер',
  'Пользователь',
  'Эл. почта',
  'Заказ',
  'Дата создания',
  'Тип',
  'Статус',
  'Сумма',
  'Комиссии',
  'Получено',
  'Код платежа',
  'Название',
]

/**
 * Export columns with the account's field renames applied: a renamed additional field is exported
 * under its new title from then on (its position stays).
 */
export function renamedColumns(fields: readonly string[], renames: ReadonlyMap<number, string>): string[] {
  const out = [...fields]
  if (!renames.size) return out
  for (const [defs, after] of [
    [USER_CUSTOM_FIELDS, 'От партнера'],
    [DEAL_CUSTOM_FIELDS, 'Промоакция'],
  ] as const) {
    const start = out.indexOf(after) + 1
    if (start === 0) continue
    defs.forEach((f, i) => {
      const title = renames.get(f.id)
      if (title !== undefined) out[start + i] = title
    })
  }
  return out
}

/** `/pl/api/account/fields` dictionary entries, in the shape captured from a real account (reference §5.2). */
export function fieldDictionary(renames: ReadonlyMap<number, string> = new Map()): Record<string, unknown>[] {
  const entries = (defs: readonly FieldDefinition[], formId: number) =>
    defs.map((f, position) => ({
      id: f.id,
      type: f.type,
      title: renames.get(f.id) ?? f.title,
      required: f.required,
      field_order_pos: position,
      context_type: f.context,
      params: f.type === 'select' ? '{"options":[]}' : '',
      form_id: formId,
    }))
  return [...entries(USER_CUSTOM_FIELDS, 1_204_311), ...entries(DEAL_CUSTOM_FIELDS, 1_204_312)]
}
