/**
 * Rows as Postgres COPY text (`COPY … FROM STDIN`, text format) and as JSON for jsonb. Kept apart from
 * the upsert so that a worker thread can encode rows without loading the database layer: a stream may
 * hand the runner rows already encoded (`TableWrite.encoded`), and the main thread then only streams
 * bytes to Postgres.
 */
import type { EncodedRows } from '../contract.js'

/**
 * JSON for Postgres: jsonb rejects the NUL character, so `\u0000` escapes are dropped (only real
 * escapes: an even run of backslashes before them). Lone surrogates are replaced by U+FFFD.
 */
export function toPgJson(value: unknown): string {
  let text = stringify(value)
  if (text.includes('\\u0000')) text = text.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1')
  // JSON.stringify writes lone surrogates as lowercase \udXXX escapes (and nothing else as \ud…).
  if (text.includes('\\ud') && /\\ud[89ab][0-9a-f]{2}/i.test(text))
    text = text.replace(/\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f][0-9a-f]{2})|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}/gi, '\\ufffd')
  return text
}

/** JSON.stringify with bigints as strings; the replacer (slow: a call per value) only when there is one. */
function stringify(value: unknown): string {
  try {
    return JSON.stringify(value)
  } catch (err) {
    if (!(err instanceof TypeError)) throw err
    return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))
  }
}

/** One COPY text field: `\N` for NULL, backslash escapes, no NUL (Postgres text cannot hold it). */
function copyField(value: unknown): string {
  if (value === null || value === undefined) return '\\N'
  let text: string
  if (typeof value === 'string') text = value
  else if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '\\N'
  else if (typeof value === 'bigint') return value.toString()
  else if (typeof value === 'boolean') return value ? 't' : 'f'
  else if (value instanceof Date) return value.toISOString()
  else if (Array.isArray(value)) text = arrayLiteral(value)
  else text = toPgJson(value)
  return copyEscape(text)
}

/** Text escaped for a COPY text field (backslash escapes; NUL, which Postgres text cannot hold, dropped). One scan for the common case, nothing to escape. */
export function copyEscape(text: string): string {
  return COPY_SPECIAL.test(text) ? text.replace(COPY_SPECIAL_ALL, (c) => COPY_ESCAPES[c]!) : text
}

const COPY_SPECIAL = /[\\\t\n\r\0]/
const COPY_SPECIAL_ALL = /[\\\t\n\r\0]/g
const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '' }

/** Postgres array literal for a (one-dimensional) array of scalars: {"a","b",NULL}. */
export function arrayLiteral(items: unknown[]): string {
  const parts = items.map((v) => (v === null || v === undefined ? 'NULL' : `"${String(v).replace(/[\\"]/g, (c) => `\\${c}`)}"`))
  return `{${parts.join(',')}}`
}

/** One row as a COPY text line (with its newline). A json column always gets JSON (a string value becomes a JSON string, as on the jsonb path). */
export function copyLine(row: Record<string, unknown>, cols: readonly string[], json: readonly boolean[]): string {
  let line = ''
  for (let i = 0; i < cols.length; i++) {
    const v = row[cols[i]!]
    line += (i ? '\t' : '') + (json[i] && v !== null && v !== undefined ? copyField(toPgJson(v)) : copyField(v))
  }
  return `${line}\n`
}

/** COPY text of `rows` in ~16 KB chunks (larger strings cost more to turn into bytes than they save). */
export function* copyChunks(rows: readonly Record<string, unknown>[], cols: readonly string[], json: readonly boolean[]): Generator<string> {
  let buf = ''
  for (const row of rows) {
    buf += copyLine(row, cols, json)
    if (buf.length >= 1 << 14) {
      yield buf
      buf = ''
    }
  }
  if (buf) yield buf
}

/** Columns the upsert sets itself (`synced_at`, `deleted_at`): never written from a row. */
export const AUTO_COLUMNS: ReadonlySet<string> = new Set(['synced_at', 'deleted_at'])

/** True for the SQL types whose COPY field is JSON text. */
export const isJsonType = (type: string) => type === 'json' || type === 'jsonb'

/** Text of a key value, as `unnest($1::type[])` reads it. */
export const keyText = (v: unknown): string | null => (v === null || v === undefined ? null : v instanceof Date ? v.toISOString() : String(v))

/**
 * Encodes rows for `TableWrite.encoded`: the COPY text of every row in one UTF-8 buffer (lines in row
 * order) and the key values as text. `cols` must be every column the rows carry.
 */
export function encodeRows(rows: readonly Record<string, unknown>[], cols: readonly string[], json: readonly boolean[], key: readonly string[]): EncodedRows {
  const encoder = new CopyEncoder(cols, json, key)
  encoder.add(rows)
  return encoder.take()
}

/**
 * Builds `EncodedRows` a few rows at a time: the row objects of each `add` can die young (the COPY
 * text goes into a buffer outside the JavaScript heap, which a worker thread transfers without a
 * copy), while `take` hands over a whole batch.
 */
export class CopyEncoder {
  private bytes: Buffer
  private length = 0
  private count = 0
  private keys: (string | null)[] = []
  private text = ''

  constructor(
    private readonly cols: readonly string[],
    private readonly json: readonly boolean[],
    private readonly key: readonly string[],
    private readonly initialBytes = 1 << 20,
  ) {
    this.bytes = Buffer.allocUnsafeSlow(initialBytes)
  }

  get rows(): number {
    return this.count
  }

  add(rows: readonly Record<string, unknown>[]): void {
    const { cols, json, key, keys } = this
    for (const row of rows) {
      for (let j = 0; j < key.length; j++) keys.push(keyText(row[key[j]!]))
      this.text += copyLine(row, cols, json)
      if (this.text.length >= 1 << 15) this.flush()
    }
    this.count += rows.length
    this.flush()
  }

  /** One row given as its COPY line (with its newline); its key values go to `keyList` (the caller's part). */
  addLine(line: string): void {
    this.text += line
    this.count++
    if (this.text.length >= 1 << 15) this.flush()
  }

  /** Where the key values of the lines given to `addLine` go, as text, row by row. */
  get keyList(): (string | null)[] {
    return this.keys
  }

  /** The rows added since the last `take`, as one batch; the encoder starts over. */
  take(): EncodedRows {
    this.flush()
    const out: EncodedRows = {
      columns: [...this.cols],
      count: this.count,
      text: new Uint8Array(this.bytes.buffer, this.bytes.byteOffset, this.length),
      keys: this.keys,
    }
    this.bytes = Buffer.allocUnsafeSlow(Math.max(this.initialBytes, this.length + (this.length >> 3)))
    this.length = 0
    this.count = 0
    this.keys = []
    return out
  }

  private flush(): void {
    const { text } = this
    if (!text) return
    // A UTF-16 code unit is at most 3 UTF-8 bytes.
    if (this.length + text.length * 3 > this.bytes.length) {
      const grown = Buffer.allocUnsafeSlow(Math.max(this.bytes.length * 2, this.length + text.length * 3))
      this.bytes.copy(grown, 0, 0, this.length)
      this.bytes = grown
    }
    this.length += this.bytes.write(text, this.length)
    this.text = ''
  }
}

/** Byte offset where each line of `e.text` starts, plus its end: lines hold no raw newline but their last byte. */
export function lineStarts(e: EncodedRows): Uint32Array {
  const starts = new Uint32Array(e.count + 1)
  const text = Buffer.from(e.text.buffer, e.text.byteOffset, e.text.byteLength)
  let at = 0
  for (let i = 0; i < e.count; i++) {
    starts[i] = at
    const nl = text.indexOf(10, at)
    if (nl < 0) throw new Error(`encoded rows: ${e.count} rows announced, ${i} lines found`)
    at = nl + 1
  }
  starts[e.count] = at
  return starts
}

/** COPY text of the lines at `indexes` (ascending), contiguous runs as one slice, in ~64 KB pieces. */
export function* encodedChunks(e: EncodedRows, indexes: readonly number[] | null, starts?: Uint32Array): Generator<Uint8Array> {
  const STEP = 1 << 16
  if (!indexes) {
    for (let at = 0; at < e.text.byteLength; at += STEP) yield e.text.subarray(at, Math.min(at + STEP, e.text.byteLength))
    return
  }
  const s = starts ?? lineStarts(e)
  let k = 0
  while (k < indexes.length) {
    const from = indexes[k]!
    let to = from + 1
    k++
    while (k < indexes.length && indexes[k] === to && s[to]! - s[from]! < STEP) {
      to++
      k++
    }
    yield e.text.subarray(s[from]!, s[to]!)
  }
}

/**
 * The rows of one write as the COPY path needs them: how many, their key values as text, and their
 * COPY text by position. Row objects are encoded on the fly; `TableWrite.encoded` rows are bytes already.
 */
export interface CopySource {
  count: number
  key(i: number, j: number): string | null
  chunks(indexes: readonly number[] | null): Iterable<string | Uint8Array>
}

export function rowsSource(rows: Record<string, unknown>[], key: readonly string[], cols: string[], json: boolean[]): CopySource {
  return {
    count: rows.length,
    key: (i, j) => keyText(rows[i]![key[j]!]),
    chunks: (indexes) => copyChunks(indexes ? indexes.map((i) => rows[i]!) : rows, cols, json),
  }
}

export function encodedSource(e: EncodedRows, keyLength: number): CopySource {
  let starts: Uint32Array | undefined
  return {
    count: e.count,
    key: (i, j) => e.keys[i * keyLength + j] ?? null,
    chunks: (indexes) => {
      if (indexes) starts ??= lineStarts(e)
      return encodedChunks(e, indexes, starts)
    },
  }
}

/** Keep the last row per key (as `dedupe` does for row objects): the rows to write, or null when every key is unique. */
export function uniqueRows(e: EncodedRows, keyLength: number): number[] | null {
  // Usual case: the leading key columns (the account) are one value, so the last column alone tells rows apart.
  const last = keyLength - 1
  let leadingSame = true
  for (let j = 0; j < last && leadingSame; j++) {
    const v = e.keys[j]
    for (let i = 1; i < e.count; i++) {
      if (e.keys[i * keyLength + j] !== v) {
        leadingSame = false
        break
      }
    }
  }
  if (leadingSame) {
    const seen = new Set<string | null>()
    for (let i = 0; i < e.count; i++) seen.add(e.keys[i * keyLength + last]!)
    if (seen.size === e.count) return null
  }
  const byKey = new Map<string, number>()
  for (let i = 0; i < e.count; i++) {
    let k = ''
    for (let j = 0; j < keyLength; j++) k += `${e.keys[i * keyLength + j]}\u0001`
    byKey.set(k, i)
  }
  if (byKey.size === e.count) return null
  return [...byKey.values()].sort((x, y) => x - y)
}

/** `e` without the rows not in `keep` (ascending). */
export function subsetEncoded(e: EncodedRows, keep: readonly number[], keyLength: number): EncodedRows {
  const keys: (string | null)[] = []
  for (const i of keep) for (let j = 0; j < keyLength; j++) keys.push(e.keys[i * keyLength + j] ?? null)
  return { columns: e.columns, count: keep.length, text: Buffer.concat([...encodedChunks(e, keep)]), keys }
}
