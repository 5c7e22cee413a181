import { type Cell, DEAL_CUSTOM_FIELDS, DEAL_STATUS_LABELS, PAYMENT_STATUS_LABELS, USER_CUSTOM_FIELDS } from './columns.js'
import type { SimDeal, SimPayment, SimUser, Utm } from './data.js'
import type { ZonedTime } from './local-time.js'

const DAY_MS = 86_400_000
const NBSP = '\u00a0'

export interface RowContext {
  time: ZonedTime
  /** The moment the export was formed: ages and "давность" columns are relative to it. */
  now: number
  /** `YYYY-MM-DD` of `now` in the account zone. */
  today: string
  currency: string
}

export function rowContext(time: ZonedTime, now: number, currency: string): RowContext {
  return { time, now, today: time.date(now), currency }
}

/** `Клиент: денег принес` / `Клиент: оплачено заказов` of one user. */
export interface ClientTotals {
  paid: number
  orders: number
}

export function clientTotals(deals: Iterable<SimDeal>): Map<number, ClientTotals> {
  const totals = new Map<number, ClientTotals>()
  for (const deal of deals) {
    if (deal.paid <= 0) continue
    const t = totals.get(deal.userId) ?? { paid: 0, orders: 0 }
    t.paid += deal.paid
    t.orders++
    totals.set(deal.userId, t)
  }
  return totals
}

/** Deal money: dot decimal, two places, no grouping (`990.00`, reference §4.5). */
const dealMoney = (n: number) => n.toFixed(2)

/**
 * Payments money is Russian-formatted: `12 000,00` grouped with NBSP (style 0) or plain spaces
 * (style 1), or `5 000 руб.` with a currency suffix (style 2) (reference §4.4, §4.5).
 */
export function russianMoney(amount: number, style: 0 | 1 | 2, currency: string): string {
  const [whole, fraction] = amount.toFixed(2).split('.')
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, style === 1 ? ' ' : NBSP)
  if (style === 2) return `${grouped}${fraction === '00' ? '' : `,${fraction}`} ${currency === 'RUB' ? 'руб.' : currency}`
  return `${grouped},${fraction}`
}

const round2 = (n: number) => Math.round(n * 100) / 100
const RECEIVED_STATUSES = new Set<SimPayment['status']>(['accepted', 'tobalance', 'frombalance'])
const utmCells = (utm: Utm | undefined) => (utm ? [utm.source, utm.medium, utm.campaign, utm.term, utm.content, utm.group] : ['', '', '', '', '', ''])
/** Tag columns are JSON arrays, `[""]` when there are none (reference §3.2). */
const tagCell = (tags: readonly string[]): string[] => (tags.length > 0 ? [...tags] : [''])

function age(birthday: string, today: string): string {
  if (!birthday) return ''
  const [by, bm, bd] = birthday.split('-').map(Number)
  const [ty, tm, td] = today.split('-').map(Number)
  return String(ty - by - (tm < bm || (tm === bm && td < bd) ? 1 : 0))
}

/** Real rows can be shorter than `fields`: trailing empty cells are sometimes left out (reference §3.2). */
function withShortTail(id: number, cells: Cell[]): Cell[] {
  if (id % 13 !== 0) return cells
  let end = cells.length
  while (end > 0 && cells[end - 1] === '') end--
  return end === cells.length ? cells : cells.slice(0, end)
}

function userCells(u: SimUser, ctx: RowContext): string[] {
  const t = ctx.time
  return [
    String(u.id),
    u.email,
    u.registrationType,
    t.dateTime(u.createdAt),
    t.dateTime(u.lastActivityAt),
    u.firstName,
    u.lastName,
    u.phone,
    u.birthday,
    age(u.birthday, ctx.today),
    u.country,
    u.city,
    u.partner?.name ?? '',
    ...USER_CUSTOM_FIELDS.map((f) => u.custom[f.key] ?? ''),
    u.referer,
    ...utmCells(u.utm),
    u.partner ? String(u.partner.id) : '',
    u.partner?.email ?? '',
    u.partner?.name ?? '',
    u.manager,
    u.vkId,
  ]
}

/** A users-export row, aligned with USER_FIELDS. */
export function userRow(u: SimUser, ctx: RowContext): Cell[] {
  return withShortTail(u.id, userCells(u, ctx))
}

/** A group-members row: the user columns plus `ID группы`, `Добавлен в группу` (reference §4.2). */
export function groupMemberRow(u: SimUser, groupId: number, addedAt: number, ctx: RowContext): Cell[] {
  return [...userCells(u, ctx), String(groupId), ctx.time.dateTime(addedAt)]
}

/** A deals-export row, aligned with dealFields(currency). */
export function dealRow(d: SimDeal, u: SimUser | undefined, ctx: RowContext, totals?: ClientTotals): Cell[] {
  const t = ctx.time
  const commission = round2(d.paid * 0.035)
  const received = dealMoney(d.paid - commission)
  const daysSince = (at: number | null | undefined) => (at == null ? '' : String(Math.floor((ctx.now - at) / DAY_MS)))
  const client = totals ?? { paid: d.paid, orders: d.paid > 0 ? 1 : 0 }
  const userPartner = u?.partner
  return withShortTail(d.id, [
    String(d.id),
    String(d.number),
    String(d.userId),
    u ? `${u.firstName} ${u.lastName}` : '',
    u?.email ?? '',
    u?.phone ?? '',
    t.dateTime(d.createdAt),
    t.dateTime(d.payedAt),
    d.title,
    DEAL_STATUS_LABELS[d.status],
    dealMoney(d.cost),
    dealMoney(d.paid),
    dealMoney(commission),
    received,
    '0.00',
    received,
    '0.00',
    received,
    d.currency,
    d.manager,
    u?.city ?? '',
    d.paymentSystem,
    d.partner ? String(d.partner.id) : '',
    d.promoCode,
    d.promoAction,
    ...DEAL_CUSTOM_FIELDS.map((f) => d.custom[f.key] ?? ''),
    d.partner ? String(d.partner.id) : '',
    d.partner?.email ?? '',
    d.partner?.name ?? '',
    userPartner ? String(userPartner.id) : '',
    userPartner?.email ?? '',
    userPartner?.name ?? '',
    ...utmCells(d.utm),
    d.partner ? 'Партнерская ссылка' : '',
    d.partner ? `p${d.partner.id}` : '',
    '',
    ...utmCells(u?.utm),
    '',
    tagCell(d.tags),
    tagCell(d.offerTags),
    t.dateTime(d.updatedAt),
    t.dateTime(d.statusChangedAt),
    d.paid > 0 && d.paid >= d.cost ? 'Да' : 'Нет',
    d.cost === 0 ? 'Да' : 'Нет',
    d.refusalReason,
    '',
    '',
    client.paid > 0 ? String(Math.round(client.paid)) : '0',
    String(client.orders),
    u?.country ?? '',
    '',
    '',
    t.dateTime(u?.createdAt ?? null),
    daysSince(u?.createdAt),
    daysSince(u?.lastActivityAt),
    t.dateTime(u?.lastActivityAt ?? null),
    '',
  ])
}

/** A payments-export row, aligned with PAYMENT_FIELDS. */
export function paymentRow(p: SimPayment, d: SimDeal | undefined, u: SimUser | undefined, ctx: RowContext): Cell[] {
  const style = p.id % 7 === 0 ? 2 : p.id % 3 === 0 ? 1 : 0
  const money = (n: number) => russianMoney(n, style, ctx.currency)
  const received = RECEIVED_STATUSES.has(p.status) ? round2(p.amount - p.commission) : 0
  return [
    String(p.id),
    u ? `${u.firstName} ${u.lastName}` : '',
    u?.email ?? '',
    d ? String(d.number) : '',
    ctx.time.dateTime(p.createdAt),
    p.type,
    PAYMENT_STATUS_LABELS[p.status],
    money(p.amount),
    money(p.commission),
    money(received),
    p.code,
    p.title,
  ]
}
