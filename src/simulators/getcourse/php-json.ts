import type { Cell } from './columns.js'

const ESCAPED = /[\u0080-\uffff/]/g
const escapeChar = (ch: string) => (ch === '/' ? '\\/' : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
/** Printable ASCII other than `"`, `/` and `\`: such a string is its own JSON body. */
const PLAIN = /^[\x20\x21\x23-\x2e\x30-\x5b\x5d-\x7e]*$/

/**
 * JSON as PHP's json_encode writes it: non-ASCII as `\uXXXX` and `/` as `\/`. GetCourse answers
 * are UTF-8 with `\uXXXX` escapes (reference §6.10), so clients must not rely on raw Cyrillic.
 * The result is pure ASCII.
 */
export function phpJson(value: unknown): string {
  return JSON.stringify(value).replace(ESCAPED, escapeChar)
}

/** Export cells repeat a lot (names, cities, statuses), so their escaped form is memoised. */
const escapedCells = new Map<string, string>()

function cellJson(text: string): string {
  if (PLAIN.test(text)) return `"${text}"`
  let json = escapedCells.get(text)
  if (json === undefined) {
    json = phpJson(text)
    if (escapedCells.size >= 100_000) escapedCells.clear()
    escapedCells.set(text, json)
  }
  return json
}

/** phpJson() of one export row, without the generic serialiser. */
export function rowJson(row: readonly Cell[]): string {
  let json = '['
  for (let i = 0; i < row.length; i++) {
    const cell = row[i]
    if (i > 0) json += ','
    json += typeof cell === 'string' ? cellJson(cell) : `[${cell.map(cellJson).join(',')}]`
  }
  return `${json}]`
}

export interface ReadyBodyOptions {
  /** JSON for the `success` flag (`true`, `"true"` or `1`). */
  success?: string
  /** Stop after this many rows, in the middle of the next one (a cut-off body). */
  cutAfterRows?: number
  chunkChars?: number
}

/**
 * The ready-export body `{"success":true,"info":{"fields":[…],"items":[[…],…]}}` as a lazy sequence
 * of chunks: rows are serialised as they are consumed, so a body of any size needs little memory.
 */
export function* readyExportChunks(
  fields: readonly string[],
  rows: Iterable<Cell[]>,
  { success = 'true', cutAfterRows, chunkChars = 64 * 1024 }: ReadyBodyOptions = {},
): Generator<string> {
  let buffer = `{"success":${success},"info":{"fields":${phpJson(fields)},"items":[`
  let count = 0
  for (const row of rows) {
    const json = rowJson(row)
    if (count === cutAfterRows) {
      yield buffer + (count > 0 ? ',' : '') + json.slice(0, Math.ceil(json.length / 2))
      return
    }
    buffer += (count > 0 ? ',' : '') + json
    count++
    if (buffer.length >= chunkChars) {
      yield buffer
      buffer = ''
    }
  }
  if (cutAfterRows !== undefined) {
    // Fewer rows than the cut point: cut what is left instead, so the body is never valid JSON.
    yield buffer.slice(0, Math.max(1, Math.floor(buffer.length / 2)))
    return
  }
  yield `${buffer}]}}`
}
