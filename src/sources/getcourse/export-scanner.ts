import type { Rejected } from '../../contract.js'
import { CLOSE_BRACE, CLOSE_BRACKET, COLON, COMMA, describeByte, isSpace, MAX_DEPTH, OPEN_BRACE, OPEN_BRACKET, QUOTE, ValueScanner } from './value-scanner.js'

/**
 * A streaming scanner for one GetCourse export body: `{"success":…,"info":{"fields":[…],"items":[[…],…]}}`
 * (reference §3.2), or a saved file holding just the `info` object.
 *
 * It does not tokenize: it only finds where values begin and end (string-aware bracket depth, escapes,
 * chunk boundaries), then hands the text of several complete rows at once to `JSON.parse`, which is
 * an order of magnitude faster than any tokenizer written in JS. Rows are parsed in sub-batches of at
 * most ~128 KB because V8 decodes and parses strings of that size in the young generation; larger
 * strings go to large-object space and cost ~10× more per byte.
 *
 * Only the structure around the rows is checked here (object keys, `:`, `,` between rows); the rows
 * themselves, the envelope flags and `fields` are validated by `JSON.parse`. Values under other keys
 * are skipped without being kept. Bytes are decoded as UTF-8; invalid sequences become U+FFFD.
 */
export class ExportSyntaxError extends Error {
  override name = 'ExportSyntaxError'
}

export { MAX_DEPTH, MAX_VALUE_BYTES } from './value-scanner.js'

/** Rows are parsed once this many bytes of complete rows have been seen (kept below V8's 128 KB large-object limit). */
const SUB_BATCH_BYTES = 96 * 1024

/**
 * A row the scanner could frame but not parse: handed on in the row's place as what it is, a
 * reject (`Rejected`, as a normalizer would answer), quarantined with its reason and an excerpt.
 */
export class UnreadableRow implements Rejected<{ excerpt: string }> {
  readonly ok = false
  readonly raw: { excerpt: string }
  constructor(
    readonly reason: string,
    readonly recordKey: string | null,
    readonly excerpt: string,
  ) {
    this.raw = { excerpt }
  }
}

/** What the scanner hands on for each row of `items`: its cells, or the row as a reject. */
export type ExportRow = unknown[] | UnreadableRow

const ENVELOPE_KEYS = new Set(['success', 'error', 'error_code', 'error_message'])

const enum State {
  BeforeRoot,
  /** After `{`: a key or `}`. */
  KeyOrEnd,
  /** After `,` in an object: a key. */
  Key,
  Colon,
  Value,
  /** After a member: `,` or `}`. */
  CommaOrEnd,
  /** Inside a value being captured or skipped (see `capture`). */
  InValue,
  /** After the `[` of items: a row or `]`. */
  RowOrEnd,
  /** After `,` in items: a row. */
  Row,
  /** Inside a row. */
  InRow,
  /** After a row: `,` or `]`. */
  RowCommaOrEnd,
  /** `items` is an object (PHP writes a sparse array that way): its keys are skipped. */
  RowKey,
  RowColon,
  AfterRoot,
}

type Capture = 'key' | 'keep' | 'skip'
type Frame = 'root' | 'info'

export class ExportScanner {
  /** `fields` as sent (validated by the reader), once seen. */
  fields: unknown = undefined
  /** Top-level `success`, `error`, `error_code`, `error_message`. */
  readonly envelope: Record<string, unknown> = {}
  /** Rows parsed and not taken yet. */
  private rows: ExportRow[] = []
  /** Rows parsed so far. */
  total = 0

  private state = State.BeforeRoot
  private readonly frames: Frame[] = []
  private key = ''
  private capture: Capture = 'skip'
  /** Byte offset of the current chunk in the body (for messages). */
  private offset = 0

  /** Scanning one value across chunks. */
  private readonly value = new ValueScanner((message, i) => this.fail(message, i))
  /** Where the value (or the run of unparsed rows) starts in the current chunk. */
  private start = -1

  // Rows: the run of complete rows not parsed yet is [start, runEnd) of the chunk, after `carry`.
  private runRows = 0
  /** Where the row being scanned starts in the current chunk. */
  private rowStart = 0
  private runEnd = 0
  private itemsObject = false
  /** Skipping the key of an items object (see State.RowKey). */
  private inRowKey = false

  /** Scans one chunk; complete rows become available through `take`. Throws ExportSyntaxError. */
  push(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    const n = buf.length
    let i = 0
    if (this.state === State.InValue || this.state === State.InRow) this.start = this.rowStart = 0
    while (i < n) {
      switch (this.state) {
        case State.InRow: {
          const end = this.value.advance(buf, i, n, !this.itemsObject)
          if (end < 0) {
            i = n
            break
          }
          if (this.value.tooDeep) {
            this.unreadableRow(buf, end)
            this.state = State.RowCommaOrEnd
            i = end
            break
          }
          this.runRows++
          this.runEnd = end
          if (this.itemsObject || this.value.carryBytes + end - this.start >= SUB_BATCH_BYTES) this.flushRows(buf)
          this.state = State.RowCommaOrEnd
          i = end
          break
        }
        case State.RowCommaOrEnd: {
          const b = buf[i]!
          if (b === COMMA) this.state = this.itemsObject ? State.RowKey : State.Row
          else if (b === (this.itemsObject ? CLOSE_BRACE : CLOSE_BRACKET)) this.endItems(buf)
          else if (!isSpace(b)) this.fail(`expected "," or the end of items after row ${this.total + this.runRows}, got ${describeByte(b)}`, i)
          i++
          break
        }
        case State.Row:
        case State.RowOrEnd: {
          const b = buf[i]!
          if (isSpace(b)) i++
          else if (this.state === State.RowOrEnd && b === (this.itemsObject ? CLOSE_BRACE : CLOSE_BRACKET)) {
            this.endItems(buf)
            i++
          } else if (this.itemsObject && this.state === State.RowOrEnd) {
            this.state = State.RowKey
          } else {
            if (this.start < 0) this.start = i
            this.rowStart = i
            i = this.value.begin(buf, i)
            this.state = State.InRow
          }
          break
        }
        case State.InValue: {
          const end = this.value.advance(buf, i, n, false)
          if (end < 0) {
            i = n
            break
          }
          this.valueDone(buf, end)
          i = end
          break
        }
        default:
          i = this.structure(buf, i)
      }
    }
    // Complete rows are parsed at every chunk end, so `carry` only ever holds one partial value.
    if (this.runRows) this.flushRows(buf)
    if (this.state === State.InRow) this.value.keep(buf.subarray(this.rowStart, n))
    else if (this.state === State.InValue && this.capture !== 'skip') this.value.keep(buf.subarray(this.start, n))
    this.start = -1
    this.offset += n
  }

  /** The body ended: throws unless it was complete. */
  end(): void {
    if (this.state === State.AfterRoot) return
    const where =
      this.state === State.BeforeRoot
        ? 'the body is empty'
        : this.state === State.InRow || this.state === State.Row || this.state === State.RowOrEnd || this.state === State.RowCommaOrEnd
          ? `the body ended inside items after ${this.total} complete rows`
          : `the body ended early${this.key ? ` (in "${this.key}")` : ''}`
    throw new ExportSyntaxError(`${where} at byte ${this.offset}`)
  }

  /** Rows parsed so far and not taken. */
  get pending(): number {
    return this.rows.length
  }

  /** Takes up to `max` parsed rows. */
  take(max = Infinity): ExportRow[] {
    if (this.rows.length <= max) {
      const all = this.rows
      this.rows = []
      return all
    }
    return this.rows.splice(0, max)
  }

  // ── the few bytes around values ────────────────────────────────────────────────────────────

  private structure(buf: Buffer, i: number): number {
    const b = buf[i]!
    if (isSpace(b)) return i + 1
    switch (this.state) {
      case State.BeforeRoot:
        if (this.offset + i < 3 && (b === 0xef || b === 0xbb || b === 0xbf)) return i + 1 // UTF-8 byte order mark
        if (b !== OPEN_BRACE) this.fail(`the body is not a JSON object (it starts with ${describeByte(b)})`, i)
        this.frames.push('root')
        this.state = State.KeyOrEnd
        return i + 1
      case State.KeyOrEnd:
      case State.Key:
        if (b === CLOSE_BRACE && this.state === State.KeyOrEnd) return this.closeObject(i)
        if (b !== QUOTE) this.fail(`expected a key, got ${describeByte(b)}`, i)
        this.capture = 'key'
        this.start = i
        this.state = State.InValue
        return this.value.begin(buf, i)
      case State.Colon:
        if (b !== COLON) this.fail(`expected ":" after "${this.key}", got ${describeByte(b)}`, i)
        this.state = State.Value
        return i + 1
      case State.Value: {
        const frame = this.frames[this.frames.length - 1]!
        if (frame === 'root' && this.key === 'info' && b === OPEN_BRACE) {
          this.frames.push('info')
          this.state = State.KeyOrEnd
          return i + 1
        }
        if (this.key === 'items' && (b === OPEN_BRACKET || b === OPEN_BRACE)) {
          this.itemsObject = b === OPEN_BRACE
          this.state = State.RowOrEnd
          return i + 1
        }
        this.capture = (frame === 'root' && ENVELOPE_KEYS.has(this.key)) || this.key === 'fields' ? 'keep' : 'skip'
        this.start = i
        this.state = State.InValue
        return this.value.begin(buf, i)
      }
      case State.CommaOrEnd:
        if (b === COMMA) {
          this.state = State.Key
          return i + 1
        }
        if (b === CLOSE_BRACE) return this.closeObject(i)
        return this.fail(`expected "," or "}" after "${this.key}", got ${describeByte(b)}`, i)
      case State.RowKey:
        if (b !== QUOTE) this.fail(`expected a key in items, got ${describeByte(b)}`, i)
        this.capture = 'skip'
        this.inRowKey = true
        this.state = State.InValue
        return this.value.begin(buf, i)
      case State.RowColon:
        if (b !== COLON) this.fail(`expected ":" in items, got ${describeByte(b)}`, i)
        this.state = State.Row
        return i + 1
      case State.AfterRoot:
        return this.fail(`unexpected ${describeByte(b)} after the end of the body`, i)
      default:
        throw new Error(`unreachable scanner state ${this.state}`)
    }
  }

  private closeObject(i: number): number {
    this.frames.pop()
    this.state = this.frames.length ? State.CommaOrEnd : State.AfterRoot
    this.key = this.frames.length ? 'info' : ''
    return i + 1
  }

  private endItems(buf: Buffer): void {
    if (this.runRows) this.flushRows(buf)
    this.state = State.CommaOrEnd
  }

  /** A captured or skipped value ended at `end` (exclusive). */
  private valueDone(buf: Buffer, end: number): void {
    if (this.capture === 'skip') {
      this.state = this.inRowKey ? State.RowColon : State.CommaOrEnd
      this.inRowKey = false
      this.start = -1
      return
    }
    const value = this.parseValue(this.value.collect(buf, this.start, end))
    this.start = -1
    if (this.capture === 'key') {
      this.key = typeof value === 'string' ? value : String(value)
      this.state = State.Colon
      return
    }
    if (this.key === 'fields') this.fields = value
    else this.envelope[this.key] = value
    this.state = State.CommaOrEnd
  }

  /** A row too deep to parse: the complete rows before it are parsed, it becomes an UnreadableRow. */
  private unreadableRow(buf: Buffer, end: number): void {
    if (this.runRows) this.flushRows(buf)
    const text = this.value.collect(buf, this.rowStart, end)
    this.start = -1
    const first = /^\[\s*("(?:[^"\\]|\\.){0,200}"|-?\d{1,30})/.exec(text.slice(0, 512))
    let recordKey: string | null = null
    try {
      // Text in Postgres cannot hold NUL (the key goes to etl.rejects.record_key).
      recordKey = first ? String(JSON.parse(first[1]!)).replaceAll('\u0000', '') : null
    } catch {
      recordKey = null
    }
    this.total += 1
    this.rows.push(new UnreadableRow(`row ${this.total} nests deeper than ${MAX_DEPTH} levels`, recordKey, text.slice(0, 2000)))
  }

  /** Parses the run of complete rows [start, runEnd) (after `carry`) into `rows`. */
  private flushRows(buf: Buffer): void {
    const first = this.total + 1
    const values = this.parseValue(
      this.value.collect(buf, this.start < 0 ? 0 : this.start, this.runEnd),
      this.itemsObject ? '' : '[',
      this.itemsObject ? '' : ']',
      `rows ${first}–${first + this.runRows - 1}`,
    )
    const list = this.itemsObject ? [values] : (values as unknown[])
    for (const v of list) this.rows.push(Array.isArray(v) ? v : [v])
    this.total += list.length
    this.runRows = 0
    this.start = -1
  }

  private parseValue(text: string, before = '', after = '', what = this.capture === 'key' ? 'a key' : `"${this.key}"`): unknown {
    try {
      return JSON.parse(before ? before + text + after : text)
    } catch (err) {
      throw new ExportSyntaxError(`${what} is not valid JSON (${(err as Error).message.slice(0, 200)}) before byte ${this.offset}`)
    }
  }

  private fail(message: string, i: number): never {
    throw new ExportSyntaxError(`${message} at byte ${this.offset + i}`)
  }
}
