import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { toPgJson } from '../../db/upsert.js'
import { RejectError } from '../../errors.js'
import { normalizeContact, normalizeContactListDetail, normalizeContactProduct, normalizeCoupon, normalizeCourse, normalizeOffer } from './normalize.js'
import { indexProgram, normalizeCourseUser, programOf } from './program.js'

/**
 * Property-based fuzzing of the KWIGA normalizers (issue #15): arbitrary JSON and mutated fixtures.
 * Each item either becomes rows Postgres accepts or is quarantined (RejectError for the item, `rejects`
 * for a nested one); nothing else may be thrown. Deterministic: a fixed seed (FUZZ_SEED / FUZZ_RUNS
 * override it); a failure prints the shrunk input.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 15_0703)
const RUNS = Number(process.env.FUZZ_RUNS ?? 300)
const MAX_MS_PER_CASE = 1000

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/kwiga')
const fixture = (name: string): unknown => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8'))
const items = (name: string): unknown[] => {
  const data = (fixture(name) as { data: unknown }).data
  return Array.isArray(data) ? data : [data]
}

const include = fixture('course-users-include.json')
const program = indexProgram('fuzz', '20', programOf(include) ?? [])

const NORMALIZERS: Record<string, { run: (raw: unknown) => unknown; samples: unknown[] }> = {
  contact: { run: (raw) => normalizeContact('fuzz', raw), samples: [...items('contacts-list.json'), ...items('contact-purchase.json')] },
  offer: { run: (raw) => normalizeOffer('fuzz', raw), samples: items('offers.json') },
  course: { run: (raw) => normalizeCourse('fuzz', raw), samples: items('courses.json') },
  coupon: { run: (raw) => normalizeCoupon('fuzz', raw), samples: items('coupons.json') },
  contactProduct: { run: (raw) => normalizeContactProduct('fuzz', '1', raw), samples: items('contact-products.json') },
  courseUser: {
    run: (raw) => normalizeCourseUser('fuzz', '20', raw, program),
    samples: [...items('course-users.json'), ...items('course-users-include.json')],
  },
  courseUserNoProgram: { run: (raw) => normalizeCourseUser('fuzz', '20', raw, null), samples: items('course-users.json') },
  contactListDetail: { run: (raw) => normalizeContactListDetail('fuzz', raw), samples: items('contact-list-detail.json') },
}
const NAMES = Object.keys(NORMALIZERS)

const nasty = fc.constantFrom(
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '😀',
  'Ж',
  '"',
  '\\',
  '0000-00-00 00:00:00',
  '0000-01-01',
  '9999-12-31T23:00:00-02:00',
  '2024-02-30',
  '2024-01-02 10:00:00',
  '1e3',
  '0x10',
  '-0',
  'null',
  'true',
  '[]',
  '{}',
)
const digits = (min: number, max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: min, maxLength: max })
/** Scalars shaped like ids, counters, money and times, near and across their column types' edges. */
const shaped = fc.oneof(
  nasty,
  fc.tuple(fc.constantFrom('', '-', ' '), digits(1, 22)).map(([s, d]) => s + d),
  fc.integer(),
  fc.constantFrom(0, -1, 2 ** 31, -(2 ** 31) - 1, 2 ** 53 - 1, 2 ** 53, 1e21, 0.5, Number.MAX_SAFE_INTEGER),
  fc
    .tuple(
      fc.constantFrom('0000', '0001', '1970', '2024', '9999'),
      fc.constantFrom('01', '12', '13'),
      fc.constantFrom('01', '31', '00'),
      fc.constantFrom('', 'T00:00:00Z', ' 23:59:59', 'T00:00:00+14:00', 'T23:59:59-12:00'),
    )
    .map((p) => `${p[0]}-${p[1]}-${p[2]}${p[3]}`),
)
const value = fc.oneof(
  { weight: 3, arbitrary: shaped },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) },
)

/** Every path into a JSON value (object keys and array indexes). */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix)
  if (Array.isArray(v)) v.forEach((c, i) => paths(c, [...prefix, i], out))
  else if (v && typeof v === 'object') for (const [k, c] of Object.entries(v)) paths(c, [...prefix, k], out)
  return out
}

type Mutation = { kind: 'set' | 'delete' | 'deep'; at: number; value: unknown }
/** A fixture item with a few values replaced, removed or nested too deep. */
function mutate(sample: unknown, mutations: readonly Mutation[]): unknown {
  let root = structuredClone(sample)
  for (const m of mutations) {
    const all = paths(root)
    const target = all[m.at % all.length]!
    const replacement = m.kind === 'deep' ? Array.from({ length: 120 }).reduce<unknown>((inner) => [inner], m.value) : m.value
    if (!target.length) {
      root = m.kind === 'delete' ? null : replacement
      continue
    }
    const parent = target.slice(0, -1).reduce<any>((o, k) => o[k], root)
    const key = target.at(-1)!
    if (m.kind === 'delete' && !Array.isArray(parent)) delete parent[key]
    else parent[key] = replacement
  }
  return root
}
const mutation = fc.record({ kind: fc.constantFrom('set', 'set', 'set', 'delete', 'deep'), at: fc.nat(), value }) as fc.Arbitrary<Mutation>

const INT4 = 2147483647
const INT8 = 9223372036854775807n
const TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/
const JSON_COLUMNS = new Set(['raw', 'utm', 'first_visit', 'extra'])

/** Problems Postgres would have storing `row` (a record with `cabinet`), by column name and value type. */
function rowProblems(row: Record<string, unknown>): string[] {
  const problems: string[] = []
  for (const [column, v] of Object.entries(row)) {
    if (v === null || v === undefined) continue
    if (JSON_COLUMNS.has(column)) {
      if (typeof JSON.parse(toPgJson(v)) === 'undefined') problems.push(`${column}: not JSON`)
      continue
    }
    if (typeof v === 'number' && !(Number.isInteger(v) && Math.abs(v) <= INT4)) problems.push(`${column} = ${v}: not an integer`)
    else if (typeof v === 'string') {
      if (v.includes('\u0000')) problems.push(`${column}: NUL`)
      if (/^-?\d+$/.test(v) && column.endsWith('_id') && (BigInt(v) > INT8 || BigInt(v) < -INT8 - 1n)) problems.push(`${column} = ${v}: not a bigint`)
      if (/(_at|_date)$/.test(column) && !TIME.test(v)) problems.push(`${column} = ${v}: not a timestamptz Postgres takes`)
    } else if (Array.isArray(v) && v.some((x) => typeof x === 'string' && x.includes('\u0000'))) problems.push(`${column}: NUL in an array`)
  }
  return problems
}

/** Walks a normalizer's result: every object with `cabinet` is a row; `rejects` are checked as etl.rejects rows. */
function resultProblems(result: unknown, where = 'result'): string[] {
  if (Array.isArray(result)) return result.flatMap((r, i) => resultProblems(r, `${where}[${i}]`))
  if (!result || typeof result !== 'object') return []
  const obj = result as Record<string, unknown>
  if ('cabinet' in obj) return rowProblems(obj).map((p) => `${where}: ${p}`)
  return Object.entries(obj).flatMap(([k, v]) => {
    if (k !== 'rejects') return resultProblems(v, `${where}.${k}`)
    return (v as { reason: string; recordKey: string | null; raw: unknown }[]).flatMap((r) => [
      ...(r.reason.includes('\u0000') ? [`reject reason has NUL`] : []),
      ...(r.recordKey != null && String(r.recordKey).includes('\u0000') ? [`reject record key has NUL`] : []),
      ...(JSON.parse(toPgJson(r.raw)) === undefined ? [`reject raw is not JSON`] : []),
    ])
  })
}

function runOne(name: string, raw: unknown): void {
  const started = performance.now()
  let result: unknown
  try {
    result = NORMALIZERS[name]!.run(raw)
  } catch (err) {
    // The documented way to quarantine the item; anything else is a crash.
    if (!(err instanceof RejectError)) throw err
    expect(err.message.length).toBeGreaterThan(0)
    return
  } finally {
    expect(performance.now() - started, 'one item took too long').toBeLessThan(MAX_MS_PER_CASE)
  }
  expect(resultProblems(result)).toEqual([])
}

const params = { seed: SEED, numRuns: RUNS }

describe('KWIGA normalizers fuzz', () => {
  it('arbitrary JSON: a row Postgres takes or a RejectError, never a crash', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...NAMES),
        fc.oneof(
          fc.jsonValue(),
          fc.anything(),
          fc.dictionary(
            fc.constantFrom('id', 'user', 'user_id', 'created_at', 'orders', 'payments', 'tags', 'contacts', 'subscriptions', 'products', 'lesson_progress'),
            value,
          ),
        ),
        (name, raw) => runOne(name, raw),
      ),
      params,
    )
  })

  it('mutated fixtures: a row Postgres takes, nested rejects, or a RejectError, never a crash', () => {
    const input = fc
      .constantFrom(...NAMES)
      .chain((name) => fc.tuple(fc.constant(name), fc.constantFrom(...NORMALIZERS[name]!.samples), fc.array(mutation, { minLength: 1, maxLength: 5 })))
    fc.assert(
      fc.property(input, ([name, sample, mutations]) => runOne(name, mutate(sample, mutations))),
      params,
    )
  })

  it('the fixtures themselves normalize without problems', () => {
    for (const name of NAMES) for (const sample of NORMALIZERS[name]!.samples) runOne(name, sample)
  })

  // Found by this fuzzer: each value used to be read as valid and handed to Postgres, which refused it
  // and failed the whole batch instead of the item being quarantined.
  it('int() reads no counter beyond int4 (offer limit_of_sales 3000000000)', () => {
    const offer = normalizeOffer('fuzz', { id: 1, limit_of_sales: 3000000000 }).offer
    expect(Math.abs(Number(offer.limit_of_sales ?? 0))).toBeLessThanOrEqual(INT4)
  })

  it('id() reads no id beyond bigint (coupon id "9999999999999999999")', () => {
    // An id beyond bigint is no usable id: the coupon is quarantined.
    expect(() => normalizeCoupon('fuzz', { id: '9999999999999999999' })).toThrow(/no usable id/)
    expect(normalizeCoupon('fuzz', { id: '9223372036854775807' }).coupon_id).toBe('9223372036854775807')
  })

  it('time() reads no year 0000, nor a time a zone shifts past 9999 (contact created_at: a reject)', () => {
    for (const createdAt of ['0000-01-01', '9999-12-31T23:00:00-02:00']) {
      expect(() => normalizeContact('fuzz', { id: 1, created_at: createdAt })).toThrow(/invalid created_at/)
    }
  })
})
