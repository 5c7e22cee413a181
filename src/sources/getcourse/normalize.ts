import { rejected, type Normalized } from '../../contract.js'
import { COLUMNS, normalizeTitle, type ColumnSpec, type ExportStream } from './columns.js'
import { LocalTime, parseWallClock } from './local-time.js'
import {
  cellText,
  currencyCode,
  dealStatusCode,
  parseDate,
  parseFlag,
  parseId,
  parseInteger,
  parseMoney,
  parseTags,
  parseText,
  paymentStatusCode,
  type Cell,
} from './values.js'

export interface NormalizeContext {
  account: string
  timeZone: string
  /** group_members: the group the export was started for. */
  groupId?: number | string
}

export type NormalizedRow = Record<string, unknown> & { account: string; extra: Record<string, unknown> }

export type NormalizeResult = Normalized<NormalizedRow, Record<string, unknown>>

export interface Normalizer {
  /** Unique key per column position: title, `title_2` for repeats, `column_N` (1-based) for blank titles. */
  readonly keys: readonly string[]
  /** Typed column → export title position it is read from. */
  readonly mapping: Readonly<Record<string, number>>
  normalize(cells: readonly Cell[]): NormalizeResult
}

type Builder = (values: readonly unknown[], extra: Record<string, unknown>) => NormalizedRow

/** A JSON object key as JavaScript source: `__proto__` computed, so that it stays an own property. */
const jsKey = (k: string) => (k === '__proto__' ? `[${JSON.stringify(k)}]` : JSON.stringify(k))

/**
 * Compiles `(values, extra) => ({ account, <typed columns>, extra })` for one export's columns. Wide
 * exports (80+ columns) built key by key fall into V8's slow dictionary objects; a literal keeps one
 * shape and is ~10× faster. Datetime columns hold wall-clock milliseconds until here (`iso`).
 */
function compileBuilder(account: string, columns: readonly string[], datetime: readonly boolean[], iso: (wallMs: number) => string): Builder {
  const typed = columns.map((c, t) => `${jsKey(c)}: ${datetime[t] ? `values[${t}] === null ? null : iso(values[${t}])` : `values[${t}]`}`)
  const body = `return (values, extra) => ({ account: ${JSON.stringify(account)}, ${typed.join(', ')}${typed.length ? ', ' : ''}extra })`
  return new Function('iso', body)(iso) as Builder
}

/** Compiles `(cells) => ({ <title>: cell, … })` over the cells no typed column reads. */
function compileExtra(extra: readonly (readonly [string, number])[]): (cells: readonly Cell[]) => Record<string, unknown> {
  return new Function('cells', `return { ${extra.map(([k, i]) => `${jsKey(k)}: cells[${i}] ?? null`).join(', ')} }`) as (
    cells: readonly Cell[],
  ) => Record<string, unknown>
}

/** Unique keys for the export's column titles; no column is ever dropped. */
export function columnKeys(fields: readonly unknown[]): string[] {
  const used = new Set<string>()
  const seen = new Map<string, number>()
  return fields.map((f, i) => {
    const title = cellText(f as Cell)
    if (title === '') return claim(`column_${i + 1}`)
    const n = (seen.get(title) ?? 0) + 1
    seen.set(title, n)
    return claim(n === 1 ? title : `${title}_${n}`)
  })

  function claim(key: string): string {
    let k = key
    for (let n = 2; used.has(k); n++) k = `${key}_${n}`
    used.add(k)
    return k
  }
}

/** Position of the column a spec reads, or -1. */
function findColumn(spec: ColumnSpec, titles: readonly string[]): number {
  const matches: number[] = []
  const wanted = spec.titles?.map(normalizeTitle)
  titles.forEach((t, i) => {
    if (wanted ? wanted.includes(t) : spec.pattern!.test(t)) matches.push(i)
  })
  if (!matches.length) return -1
  if (spec.pick !== 'utm' || matches.length === 1) {
    // First listed title wins over later alternatives (e.g. `Состав заказа` over `Title`).
    if (wanted && wanted.length > 1) {
      for (const w of wanted) {
        const i = titles.indexOf(w)
        if (i >= 0) return i
      }
    }
    return matches[0]!
  }
  // The system UTM block (`utm_source, utm_medium, …` in a row) is the last one; custom fields reuse titles.
  const blockStarts = titles.flatMap((t, i) => (t === 'utm_source' && titles[i + 1] === 'utm_medium' ? [i] : []))
  const block = blockStarts.at(-1)
  if (block !== undefined) {
    const inBlock = matches.filter((i) => i >= block && i < block + 6)
    if (inBlock.length) return inBlock[0]!
  }
  return matches.at(-1)!
}

/** Deal money is usually `990.00` already (reference §4.5): skip the tolerant parser. */
const PLAIN_AMOUNT = /^-?\d+(\.\d+)?$/
/**
 * A converter's answer for a cell it cannot read. Not a second reject path: `normalize` turns it into
 * the row's `rejected(…)` at once. A marker instead of an exception keeps the per-cell loop cheap.
 */
const UNREADABLE = Symbol('unreadable cell')
/** A typed column that is NULL while the cell still has content (e.g. a zero date): the raw cell goes to extra. */
const KEEP_RAW = Symbol('keep raw')
type Converted = unknown | typeof UNREADABLE | typeof KEEP_RAW

function converter(kind: ColumnSpec['kind']): (cell: Cell) => Converted {
  switch (kind) {
    case 'key':
      return (c) => parseId(c) ?? UNREADABLE
    case 'id':
      return (c) => {
        const v = parseId(c)
        return v === undefined ? KEEP_RAW : v
      }
    case 'text':
      return parseText
    case 'int':
      return (c) => {
        const v = parseInteger(c)
        return v === undefined ? KEEP_RAW : v
      }
    case 'flag':
      return (c) => {
        const v = parseFlag(c)
        return v === undefined ? KEEP_RAW : v
      }
    case 'tags':
      return parseTags
    case 'money':
      return (c) => {
        if (typeof c === 'string' && PLAIN_AMOUNT.test(c)) return c
        const v = parseMoney(c)
        return v === undefined ? UNREADABLE : v === null ? null : v.amount
      }
    case 'date':
      return (c) => {
        const v = parseDate(c)
        if (v === undefined) return UNREADABLE
        return v === null && cellText(c) !== '' ? KEEP_RAW : v
      }
    case 'datetime':
      return (c) => {
        const p = parseWallClock(typeof c === 'string' ? c : cellText(c))
        if (typeof p === 'number') return p
        if (p === 'empty') return null
        return p === 'zero' ? KEEP_RAW : UNREADABLE
      }
  }
}

/** Columns derived from others once a row is read (status codes, currency, the group of the export), set in `values` by position. */
type Finish = (values: unknown[], cells: readonly Cell[]) => void

function finisher(stream: ExportStream, fields: readonly string[], ctx: NormalizeContext, slot: (column: string) => number): Finish {
  switch (stream) {
    case 'users':
      return () => {}
    case 'group_members': {
      const group = slot('group_id')
      return (values) => {
        if (values[group] == null && ctx.groupId != null) values[group] = String(ctx.groupId)
      }
    }
    case 'deals': {
      const currency = titleCurrency(fields)
      const [status, code, cur] = [slot('status'), slot('status_code'), slot('currency')]
      return (values) => {
        values[code] = dealStatusCode(status < 0 ? null : (values[status] as string | null))
        if (values[cur] == null) values[cur] = currency
      }
    }
    case 'payments': {
      const amount = fields.indexOf('сумма')
      const [status, code, cur] = [slot('status'), slot('status_code'), slot('currency')]
      return (values, cells) => {
        values[code] = paymentStatusCode(status < 0 ? null : (values[status] as string | null))
        values[cur] = amount >= 0 ? (parseMoney(cells[amount])?.currency ?? null) : null
      }
    }
  }
}

/** `Стоимость, RUB` names the account currency (reference §4.3). */
function titleCurrency(fields: readonly string[]): string | null {
  for (const f of fields) {
    const m = /^стоимость,\s*([a-z]{3})$/.exec(f)
    if (m) return currencyCode(m[1]!)
  }
  return null
}

const DERIVED: Record<ExportStream, readonly string[]> = {
  users: [],
  group_members: ['group_id'],
  deals: ['status_code', 'currency'],
  payments: ['status_code', 'currency'],
}

const NEEDS_GROUP: Record<ExportStream, string | null> = { users: null, group_members: 'group_id', deals: null, payments: null }

/**
 * One export's columns resolved once: what every row is read into. `convert` fills `values` (the
 * typed columns, then the derived ones, in `columns` order; datetimes as wall-clock milliseconds)
 * and `keepRaw`; `extra` collects the cells no typed column holds. Shared by the row objects of
 * `createNormalizer` and the COPY lines of `copy-lines.ts`, so both read a row the same way.
 */
export interface NormalizePlan {
  readonly keys: readonly string[]
  readonly mapping: Readonly<Record<string, number>>
  /** Typed and derived columns (after `account`, before `extra`). */
  readonly columns: readonly string[]
  /** Kind of each of `columns`; derived columns are text. */
  readonly kinds: readonly ColumnSpec['kind'][]
  readonly time: LocalTime
  readonly values: unknown[]
  /** The row's reject, or null when `values` holds it. */
  convert(cells: readonly Cell[]): NormalizeResult | null
  /** The row's `extra` object: untyped cells, cells of typed columns that read as NULL (`KEEP_RAW`), cells past the titles. */
  extra(cells: readonly Cell[]): Record<string, unknown>
}

export function compilePlan(stream: ExportStream, fields: readonly unknown[], ctx: NormalizeContext): NormalizePlan {
  const keys = columnKeys(fields)
  const titles = fields.map((f) => normalizeTitle(cellText(f as Cell)))
  const typed: { index: number; column: string; convert: (cell: Cell) => Converted }[] = []
  const kinds: ColumnSpec['kind'][] = []
  const mapping: Record<string, number> = {}
  const taken = new Set<number>()
  for (const spec of COLUMNS[stream]) {
    const index = findColumn(spec, titles)
    if (index < 0 || taken.has(index)) continue
    taken.add(index)
    mapping[spec.column] = index
    typed.push({ index, column: spec.column, convert: converter(spec.kind) })
    kinds.push(spec.kind)
  }
  const keySpec = COLUMNS[stream].find((s) => s.kind === 'key')!
  const keyIndex = mapping[keySpec.column] ?? -1
  const columns = typed.map((c) => c.column)
  for (const d of DERIVED[stream]) {
    if (columns.includes(d)) continue
    columns.push(d)
    kinds.push('text')
  }
  const finish = finisher(stream, titles, ctx, (c) => columns.indexOf(c))
  const needsGroup = NEEDS_GROUP[stream] === null ? -1 : columns.indexOf(NEEDS_GROUP[stream]!)
  const extraLiteral = compileExtra(keys.flatMap((k, i) => (taken.has(i) ? [] : [[k, i] as const])))
  const values: unknown[] = new Array(columns.length).fill(null)
  const keepRaw: number[] = []

  function reject(reason: string, cells: readonly Cell[]): NormalizeResult {
    const raw: Record<string, unknown> = {}
    const width = Math.max(cells.length, keys.length)
    for (let i = 0; i < width; i++) raw[i < keys.length ? keys[i]! : `column_${i + 1}`] = cells[i] ?? null
    const id = keyIndex >= 0 ? cellText(cells[keyIndex]) : ''
    return rejected(reason, raw, id === '' ? null : id.slice(0, 200))
  }

  function convert(cells: readonly Cell[]): NormalizeResult | null {
    if (!Array.isArray(cells)) return reject(`row is not an array but ${typeof cells}`, [cells as Cell])
    if (keyIndex < 0) return reject(`the export has no "${keySpec.titles![0]}" column`, cells)
    keepRaw.length = 0
    for (let t = 0; t < typed.length; t++) {
      const col = typed[t]!
      const value = col.convert(cells[col.index])
      if (value === UNREADABLE) {
        const title = cellText(fields[col.index] as Cell)
        return reject(
          `${col.column === keySpec.column ? 'id' : col.column}: cannot read ${JSON.stringify(cellText(cells[col.index]))} from column "${title}"`,
          cells,
        )
      }
      if (value === KEEP_RAW) {
        values[t] = null
        keepRaw.push(col.index)
      } else values[t] = value
    }
    for (let t = typed.length; t < columns.length; t++) values[t] = null
    finish(values, cells)
    if (needsGroup >= 0 && values[needsGroup] == null) return reject(`${columns[needsGroup]} is unknown (no "ID группы" column and no group given)`, cells)
    return null
  }

  function extra(cells: readonly Cell[]): Record<string, unknown> {
    const e = extraLiteral(cells)
    for (const i of keepRaw) e[keys[i]!] = cells[i] ?? null
    for (let i = keys.length; i < cells.length; i++) e[`column_${i + 1}`] = cells[i] ?? null
    return e
  }

  return { keys, mapping, columns, kinds, time: new LocalTime(ctx.timeZone), values, convert, extra }
}

/**
 * Builds the row mapper for one export: titles are resolved once, then every row is a loop over
 * precomputed positions. Unmapped cells go to `extra` under their unique key.
 */
export function createNormalizer(stream: ExportStream, fields: readonly unknown[], ctx: NormalizeContext): Normalizer {
  const plan = compilePlan(stream, fields, ctx)
  const { time, values } = plan
  const build = compileBuilder(
    ctx.account,
    plan.columns,
    plan.kinds.map((k) => k === 'datetime'),
    (wallMs) => new Date(time.toUtc(wallMs)).toISOString(),
  )
  function normalize(cells: readonly Cell[]): NormalizeResult {
    const reject = plan.convert(cells)
    return reject ?? { ok: true, row: build(values, plan.extra(cells)) }
  }
  return { keys: plan.keys, mapping: plan.mapping, normalize }
}

type DirectResult = Normalized<NormalizedRow>

function splitKnown(item: Record<string, unknown>, known: readonly string[]): Record<string, unknown> {
  const extra: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(item)) if (!known.includes(k)) extra[k] = v
  return extra
}

/** One entry of `/pl/api/account/groups` (reference §5.1): `id` may be a number or a string. */
export function normalizeGroup(item: unknown, ctx: NormalizeContext, time = new LocalTime(ctx.timeZone)): DirectResult {
  if (!item || typeof item !== 'object') return rejected('group entry is not an object', item)
  const g = item as Record<string, unknown>
  const id = parseId(g.id as Cell)
  if (!id) return rejected(`group id is not a number: ${JSON.stringify(g.id)}`, item)
  const added = parseWallClock(cellText(g.last_added_at as Cell))
  if (added === 'invalid') return rejected(`group last_added_at unreadable: ${JSON.stringify(g.last_added_at)}`, item, id)
  const row: NormalizedRow = {
    account: ctx.account,
    id,
    name: parseText(g.name as Cell),
    last_added_at: typeof added === 'number' ? new Date(time.toUtc(added)).toISOString() : null,
    extra: splitKnown(g, ['id', 'name', 'last_added_at']),
  }
  return { ok: true, row }
}

/** One entry of the additional-fields dictionary (reference §5.2): members may all be strings. */
export function normalizeField(item: unknown, ctx: NormalizeContext): DirectResult {
  if (!item || typeof item !== 'object') return rejected('field entry is not an object', item)
  const f = item as Record<string, unknown>
  const id = parseId(f.id as Cell)
  if (!id) return rejected(`field id is not a number: ${JSON.stringify(f.id)}`, item)
  const order = parseInteger(f.field_order_pos as Cell)
  const row: NormalizedRow = {
    account: ctx.account,
    id,
    title: typeof f.title === 'string' ? f.title.replaceAll('\u0000', '') : null,
    type: parseText(f.type as Cell),
    context_type: parseText(f.context_type as Cell),
    required: parseFlag(f.required as Cell) ?? null,
    field_order_pos: order ?? null,
    extra: splitKnown(f, ['id', 'title', 'type', 'context_type', 'required', 'field_order_pos']),
  }
  return { ok: true, row }
}
