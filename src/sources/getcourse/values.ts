/** Parsers for single GetCourse export cells. Every cell arrives as a string except tags (reference §3.2, §4.5). */

export type Cell = string | number | boolean | null | undefined | unknown[]

/** A cell as trimmed text without NUL characters ('' for null/undefined). */
export function cellText(cell: Cell): string {
  if (cell === null || cell === undefined) return ''
  const s = typeof cell === 'string' ? cell : Array.isArray(cell) ? cell.join(', ') : String(cell)
  const clean = s.includes('\u0000') ? s.replaceAll('\u0000', '') : s
  return clean.trim()
}

/** Text or null when blank. */
export function parseText(cell: Cell): string | null {
  const s = cellText(cell)
  return s === '' ? null : s
}

const ID = /^\d{1,18}$/

/** A bigint id as a digit string; null when blank; undefined when not an id at all. */
export function parseId(cell: Cell): string | null | undefined {
  const s = cellText(cell)
  if (s === '') return null
  return ID.test(s) ? s.replace(/^0+(?=\d)/, '') : undefined
}

export function parseInteger(cell: Cell): number | null | undefined {
  const s = cellText(cell)
  if (s === '') return null
  return /^-?\d{1,9}$/.test(s) ? Number(s) : undefined
}

// Regular, no-break (U+00A0), narrow no-break (U+202F) and thin (U+2009) spaces are thousands separators.
const SPACES = /[\s\u00a0\u202f\u2009']/g
const MONEY = /^-?\d+(\.\d+)?$/
const CURRENCY_SUFFIX = /^(.*?\d)\s*([^\d\s.,-][^\d]*)$/u
const CURRENCY_PREFIX = /^([^\d\s.,-]+)\s*(-?\d.*)$/u

const CURRENCY_WORDS: Record<string, string> = {
  'руб.': 'RUB',
  руб: 'RUB',
  'р.': 'RUB',
  '₽': 'RUB',
  $: 'USD',
  '€': 'EUR',
  грн: 'UAH',
  'грн.': 'UAH',
  тг: 'KZT',
  '₸': 'KZT',
}

/** ISO 4217 codes the runtime knows (162 in Node 20): `abc` in `7777abc` is not a currency. */
const ISO_CURRENCIES = new Set(Intl.supportedValuesOf('currency'))

/**
 * Currency code for a suffix such as `руб.` or `EUR`; null when unknown. Only real codes count, so
 * that a cell such as `7777abc` is unreadable as a whole rather than read as 7777 "ABC".
 */
export function currencyCode(word: string): string | null {
  const w = word.trim().toLowerCase()
  if (CURRENCY_WORDS[w]) return CURRENCY_WORDS[w]!
  const code = w.toUpperCase()
  return /^[A-Z]{3}$/.test(code) && ISO_CURRENCIES.has(code) ? code : null
}

export interface Money {
  amount: string
  currency: string | null
}

/**
 * Money as a numeric string: `990.00`, `12 000,00` (spaces may be NBSP or narrow NBSP),
 * `5 000 руб.` (reference §4.5). Null when blank; undefined when unreadable.
 */
export function parseMoney(cell: Cell): Money | null | undefined {
  if (typeof cell === 'number') return Number.isFinite(cell) ? { amount: String(cell), currency: null } : undefined
  let s = cellText(cell)
  if (s === '') return null
  let currency: string | null = null
  const suffix = CURRENCY_SUFFIX.exec(s)
  const prefix = suffix ? null : CURRENCY_PREFIX.exec(s)
  if (suffix || prefix) {
    currency = currencyCode(suffix ? suffix[2]! : prefix![1]!)
    if (!currency) return undefined
    s = suffix ? suffix[1]! : prefix![2]!
  }
  s = s.replace(SPACES, '')
  if (s.includes(',')) s = s.includes('.') ? s.replaceAll(',', '') : s.replace(',', '.')
  return MONEY.test(s) ? { amount: s, currency } : undefined
}

const YES = new Set(['да', '1', 'true', 'yes', 'y', '+'])
const NO = new Set(['нет', '0', 'false', 'no', 'n', '-'])

/** `Да`/`Нет`, 1/0, true/false → boolean; null when blank; undefined when neither. */
export function parseFlag(cell: Cell): boolean | null | undefined {
  if (typeof cell === 'boolean') return cell
  const s = cellText(cell).toLowerCase()
  if (s === '') return null
  if (YES.has(s)) return true
  if (NO.has(s)) return false
  return undefined
}

/** Envelope flags arrive as booleans, "true"/"false" or 0/1 (reference §2, zenland `isTruthyFlag`). */
export function isTruthyFlag(value: unknown): boolean {
  if (typeof value === 'boolean') return value
  if (typeof value === 'number') return value !== 0
  if (typeof value === 'string') return ['true', '1', 'yes'].includes(value.trim().toLowerCase())
  return false
}

/**
 * `Теги` / `Теги предложений` arrive as JSON arrays, `[""]` when empty (reference §3.2). A JSON
 * string or comma-separated text is accepted too. Empty tags are dropped.
 */
export function parseTags(cell: Cell): string[] {
  let items: unknown[]
  if (Array.isArray(cell)) items = cell
  else {
    const s = cellText(cell)
    if (s === '') return []
    if (s.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(s)
        items = Array.isArray(parsed) ? parsed : [parsed]
      } catch {
        items = s.split(',')
      }
    } else items = s.split(',')
  }
  const out: string[] = []
  for (const item of items) {
    const tag = cellText(item as Cell)
    if (tag !== '') out.push(tag)
  }
  return out
}

/** Birthday and similar calendar dates: `YYYY-MM-DD` or `DD.MM.YYYY`. Null when blank/zero; undefined when garbage. */
export function parseDate(cell: Cell): string | null | undefined {
  const s = cellText(cell)
  if (s === '' || s.startsWith('0000-00-00')) return null
  // Whole cell or nothing: `2024-05-01abc` is not a date (a time of day after it is allowed).
  let m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2})?)?$/.exec(s)
  let ymd: [string, string, string] | null = m ? [m[1]!, m[2]!, m[3]!] : null
  if (!ymd) {
    m = /^(\d{2})\.(\d{2})\.(\d{4})$/.exec(s)
    if (m) ymd = [m[3]!, m[2]!, m[1]!]
  }
  if (!ymd) return undefined
  // Year 0 does not exist (Postgres refuses it); '0000-00-00' was handled above as a zero date.
  if (ymd[0] === '0000') return undefined
  const iso = `${ymd[0]}-${ymd[1]}-${ymd[2]}`
  const d = new Date(`${iso}T00:00:00Z`)
  return Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== iso ? undefined : iso
}

/** Deal status labels (Russian UI text) → API filter codes (reference §1.4, §4.5). */
const DEAL_STATUS: Record<string, string> = {
  новый: 'new',
  'в работе': 'in_work',
  'ожидаем оплаты': 'payment_waiting',
  'ожидает оплаты': 'payment_waiting',
  'ожидание оплаты': 'payment_waiting',
  завершен: 'payed',
  завершён: 'payed',
  оплачен: 'payed',
  отменен: 'cancelled',
  отменён: 'cancelled',
  ложный: 'false',
  'частично оплачен': 'part_payed',
  'ожидаем возврата': 'waiting_for_return',
  'ожидает возврата': 'waiting_for_return',
  'не подтвержден': 'not_confirmed',
  'не подтверждён': 'not_confirmed',
  отложен: 'pending',
}

/** Payment status labels → codes (reference §1.4, 918 vocabulary). */
const PAYMENT_STATUS: Record<string, string> = {
  ожидается: 'expected',
  ожидаем: 'expected',
  ожидает: 'expected',
  'ожидает оплаты': 'expected',
  'ожидаем оплаты': 'expected',
  получен: 'accepted',
  принят: 'accepted',
  оплачен: 'accepted',
  возвращен: 'returned',
  возвращён: 'returned',
  возврат: 'returned',
  'на баланс': 'tobalance',
  'зачислен на баланс': 'tobalance',
  'с баланса': 'frombalance',
  'списан с баланса': 'frombalance',
  'возвращен на баланс': 'returned_to_balance',
  'возвращён на баланс': 'returned_to_balance',
}

const DEAL_CODES = new Set(Object.values(DEAL_STATUS))
const PAYMENT_CODES = new Set(Object.values(PAYMENT_STATUS))

/** Label → code lookup, memoized: an export has a handful of distinct labels and millions of rows. */
function statusLookup(labels: Record<string, string>, codes: Set<string>): (label: string | null) => string | null {
  const cache = new Map<string, string | null>()
  return (label) => {
    if (!label) return null
    let code = cache.get(label)
    if (code === undefined) {
      const key = label.toLowerCase().replace(/\s+/g, ' ')
      code = labels[key] ?? (codes.has(key) ? key : null)
      if (cache.size < 1000) cache.set(label, code)
    }
    return code
  }
}

export const dealStatusCode = statusLookup(DEAL_STATUS, DEAL_CODES)
export const paymentStatusCode = statusLookup(PAYMENT_STATUS, PAYMENT_CODES)
