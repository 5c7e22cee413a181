import { RejectError } from '../../errors.js'
/**
 * Lenient coercions for KWIGA payloads. The documented types and the real answers disagree
 * (reference §4.16–26): ids and money arrive as numbers or strings, enums as objects or scalars,
 * `""` stands for null. Every helper returns null for what it cannot read instead of throwing.
 */

export type Item = Record<string, unknown>

export function isItem(value: unknown): value is Item {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** The object at `key`, or null (absent, null, `[]` for an empty PHP object — §4.25). */
export function objectAt(item: Item, key: string): Item | null {
  const value = item[key]
  return isItem(value) ? value : null
}

/** The array at `key`, or null when the key is absent (absent ≠ empty, §4.36). */
export function arrayAt(item: Item, key: string): unknown[] | null {
  const value = item[key]
  return Array.isArray(value) ? value : null
}

/** Text without NUL characters (Postgres text rejects them); `""` → null. */
export function text(value: unknown): string | null {
  if (typeof value === 'number' || typeof value === 'bigint') return String(value)
  if (typeof value !== 'string') return null
  const clean = value.includes('\u0000') ? value.replaceAll('\u0000', '') : value
  return clean === '' ? null : clean
}

const DIGITS = /^-?\d{1,19}$/

const INT8_MIN = -(2n ** 63n)
const INT8_MAX = 2n ** 63n - 1n

/** A bigint id from a number or a numeric string, as a string (ids exceed int32, §6); null beyond bigint. */
export function id(value: unknown): string | null {
  let n: bigint
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) return null
    n = BigInt(value)
  } else if (typeof value === 'bigint') n = value
  else if (typeof value === 'string' && DIGITS.test(value.trim())) n = BigInt(value.trim())
  else return null
  return n < INT8_MIN || n > INT8_MAX ? null : n.toString()
}

const INT4_MAX = 2 ** 31 - 1

/** An integer column value from a number or a string of digits (not `1e3`, `0x10` or `12abc`); null beyond integer. */
export function int(value: unknown): number | null {
  let n: number
  if (typeof value === 'number') n = value
  else if (typeof value === 'string' && /^-?\d{1,10}$/.test(value.trim())) n = Number(value.trim())
  else return null
  return Number.isInteger(n) && n >= -INT4_MAX - 1 && n <= INT4_MAX ? n : null
}

const DECIMAL = /^-?\d+(\.\d+)?$/

/** Money and scores as a decimal string for `numeric`: `"10.00"`, `5` and `"147"` all parse (§4.20). */
export function decimal(value: unknown): string | null {
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null
  if (typeof value !== 'string') return null
  const s = value.trim().replace(',', '.')
  return DECIMAL.test(s) ? s : null
}

export function bool(value: unknown): boolean | null {
  if (typeof value === 'boolean') return value
  if (value === 1 || value === '1' || value === 'true') return true
  if (value === 0 || value === '0' || value === 'false') return false
  return null
}

/** An ISO timestamp normalized to UTC, or null when absent or unparseable. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/

export function time(value: unknown): string | null {
  if (typeof value !== 'string' || value.trim() === '') return null
  // A whole ISO date-time or nothing: Date.parse would also read `2024`, `March 7` or `1/2/2024`.
  const v = value.trim()
  if (!ISO_TIME.test(v)) return null
  // `2024-01-02 10:00:00` (no zone) is UTC (§4.27); one with a zone keeps it.
  const zoned = /(?:Z|[+-]\d{2}:?\d{2})$/.test(v.slice(10))
  const ms = Date.parse(v.includes(' ') && !v.includes('T') ? v.replace(' ', 'T') + (zoned ? '' : 'Z') : v)
  if (!Number.isFinite(ms)) return null
  // Years 1..9999 only: year 0 does not exist, and a zone must not push a time past either end.
  const iso = new Date(ms).toISOString()
  return /^\d{4}-/.test(iso) && !iso.startsWith('0000') ? iso : null
}

/**
 * `<name>` as a UTC time, preferring the `<name>_utc` sibling: the bare field is cabinet-local wall
 * time wrongly suffixed with `Z` whenever a `_utc` sibling exists (§4.27).
 */
export function utcTime(item: Item, name: string): string | null {
  const utcKey = `${name}_utc`
  if (utcKey in item) return time(item[utcKey])
  return time(item[name])
}

export interface EnumValue {
  id: string | null
  label: string | null
}

/**
 * An enum that arrives as `{id, name}`, `{id, title}`, `{id, slug, title}`, `{id: "string", name}`
 * (§4.24) or, as documented, a bare scalar (§4.18–19): a number is its id, a word its label.
 */
export function enumAt(item: Item, key: string): EnumValue {
  const value = item[key]
  if (isItem(value)) return { id: text(value.id), label: text(value.title) ?? text(value.name) ?? text(value.slug) }
  if (typeof value === 'number' || (typeof value === 'string' && DIGITS.test(value))) return { id: text(value), label: null }
  return { id: null, label: text(value) }
}

/** An enum whose ids the docs type as integers: the id as a number (null when not an integer). */
export function enumIntAt(item: Item, key: string): { id: number | null; label: string | null } {
  const value = enumAt(item, key)
  return { id: int(value.id), label: value.label }
}

/** Amount and currency of a Price (`price`, `price_info`, `cost_info`, §4.6). */
export function priceAt(item: Item, key: string): { amount: string | null; currency: string | null } {
  const price = objectAt(item, key)
  if (!price) return { amount: decimal(item[key]), currency: null }
  const currency = objectAt(price, 'currency')
  return { amount: decimal(price.amount), currency: currency ? text(currency.code) : text(price.currency_code) }
}

/** Records nested deeper are rejected: copying (and storing) them would overflow the stack. */
export const MAX_JSON_DEPTH = 100

/** Plain JSON copy without NUL characters in strings, for `raw`/`extra` jsonb columns. */
export function json(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.includes('\u0000') ? value.replaceAll('\u0000', '') : value
  if (depth >= MAX_JSON_DEPTH && (Array.isArray(value) || isItem(value))) throw new RejectError(`the record nests deeper than ${MAX_JSON_DEPTH} levels`)
  if (Array.isArray(value)) return value.map((v) => json(v, depth + 1))
  if (isItem(value)) {
    const out: Item = {}
    for (const [k, v] of Object.entries(value)) out[k.replaceAll('\u0000', '')] = json(v, depth + 1)
    return out
  }
  return value ?? null
}

/** A copy of `item` without the given keys (nested sets stored in their own tables). */
export function without(item: Item, keys: readonly string[]): Item {
  const out: Item = {}
  for (const [k, v] of Object.entries(item)) if (!keys.includes(k)) out[k] = v
  return out
}
