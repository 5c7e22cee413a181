import { parseFilterDate } from './time.js'

export type RawParams = Record<string, string | string[]>

/** A 422 answer in Laravel's validation format. */
export class ValidationError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message)
  }
}

/** Query-string (or `/query` body) parameters with PHP array conventions: `a[]=1&a[]=2`, `a=1,2`, `filters[x]=`. */
export class Params {
  constructor(readonly raw: RawParams) {}

  get(name: string): string | undefined {
    const v = this.raw[name]
    if (v === undefined) return undefined
    return Array.isArray(v) ? v[v.length - 1] : v
  }

  /** Values of `name`, `name[]` and `name[0]…`, comma lists split. */
  list(name: string): string[] {
    const out: string[] = []
    for (const [key, value] of Object.entries(this.raw)) {
      if (key !== name && key !== `${name}[]` && !(key.startsWith(`${name}[`) && /^\[\d+\]$/.test(key.slice(name.length)))) continue
      for (const v of Array.isArray(value) ? value : [value]) for (const part of v.split(',')) if (part.trim()) out.push(part.trim())
    }
    return out
  }

  bool(name: string): boolean {
    const v = this.get(name)
    return v !== undefined && ['1', 'true', 'on', 'yes'].includes(v.toLowerCase())
  }

  int(name: string, min = -Infinity, max = Infinity): number | undefined {
    const v = this.get(name)
    if (v === undefined || v === '') return undefined
    if (!/^-?\d+$/.test(v.trim())) throw new ValidationError(fieldName(name), `The ${label(name)} field must be an integer.`)
    const n = Number(v)
    if (n < min) throw new ValidationError(fieldName(name), `The ${label(name)} field must be at least ${min}.`)
    if (n > max) throw new ValidationError(fieldName(name), `The ${label(name)} field must not be greater than ${max}.`)
    return n
  }

  intList(name: string): number[] {
    return this.list(name).map((v) => {
      if (!/^\d+$/.test(v)) throw new ValidationError(fieldName(name), `The ${label(name)} field must be an array of integers.`)
      return Number(v)
    })
  }

  date(name: string, bound: 'from' | 'to'): number | undefined {
    const v = this.get(name)
    if (v === undefined || v === '') return undefined
    const ms = parseFilterDate(v, bound)
    if (ms === null) throw new ValidationError(fieldName(name), `The ${label(name)} field must be a valid date.`)
    return ms
  }

  /** Page number: anything that is not a positive integer means page 1, as in Laravel. */
  page(): number {
    const v = this.get('page')
    const n = v !== undefined && /^\d+$/.test(v) ? Number(v) : 1
    return n >= 1 ? n : 1
  }

  /** Page size: silently capped at `max`; zero, negative or non-numeric values are a 422. */
  pageSize(name: string, fallback: number, max: number): number {
    const n = this.int(name, 1)
    return n === undefined ? fallback : Math.min(n, max)
  }
}

/** `filters[date_from]` → `filters.date_from` (Laravel's dotted error key). */
function fieldName(name: string): string {
  return name.replace(/\[(\w*)\]/g, (_, k: string) => (k ? `.${k}` : ''))
}

/** Laravel's human attribute: `filters.date from`. */
function label(name: string): string {
  return fieldName(name).replace(/_/g, ' ')
}

/** `{filters: {date_from: 'x'}, ids: [1, 2]}` → `{'filters[date_from]': 'x', 'ids[]': ['1', '2']}`. */
export function flattenBody(body: unknown, prefix = '', out: RawParams = {}): RawParams {
  if (body === null || body === undefined) return out
  if (Array.isArray(body)) {
    const key = `${prefix}[]`
    const values = body.filter((v) => typeof v !== 'object' || v === null).map((v) => String(v ?? ''))
    if (values.length) out[key] = values
    return out
  }
  if (typeof body === 'object') {
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) flattenBody(v, prefix ? `${prefix}[${k}]` : k, out)
    return out
  }
  out[prefix] = typeof body === 'boolean' ? (body ? '1' : '0') : String(body)
  return out
}
