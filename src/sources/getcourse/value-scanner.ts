/**
 * Where one JSON value begins and ends in an export body that arrives in chunks, for `ExportScanner`
 * (export-scanner.ts): string-aware bracket depth, escapes, literals, and the value's bytes from earlier chunks.
 */

export const QUOTE = 0x22
export const BACKSLASH = 0x5c
export const OPEN_BRACKET = 0x5b
export const CLOSE_BRACKET = 0x5d
export const OPEN_BRACE = 0x7b
export const CLOSE_BRACE = 0x7d
export const COMMA = 0x2c
export const COLON = 0x3a

/** One row (or envelope value) larger than this is not an export. */
export const MAX_VALUE_BYTES = 256 * 1024 * 1024
/** GetCourse rows nest two levels (row → tags); anything deeper than this is refused before JSON.parse / JSON.stringify recurse on it. */
export const MAX_DEPTH = 64

export const isSpace = (b: number) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09
/** Bytes a JSON number or literal (`true`, `null`, `-1.5e3`) is made of. */
export const isLiteral = (b: number) =>
  (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7a) || (b >= 0x41 && b <= 0x5a) || b === 0x2d || b === 0x2b || b === 0x2e

export function describeByte(b: number): string {
  return b >= 0x20 && b < 0x7f ? `"${String.fromCharCode(b)}"` : `byte 0x${b.toString(16).padStart(2, '0')}`
}

/** Scans one value across chunks; `ExportScanner` decides what the value is and what becomes of it. */
export class ValueScanner {
  // Scanning one value across chunks.
  private depth = 0
  /** The current row nests deeper than MAX_DEPTH: it is scanned to its end and handed on as an UnreadableRow. */
  tooDeep = false
  private inString = false
  /** The chunk ended inside a string right after an unpaired backslash: the next byte is escaped. */
  private pendingEscape = false
  private literal = false
  /** Bytes of the value / row run from earlier chunks. */
  private carry: Buffer[] = []
  carryBytes = 0

  /** `fail(message, i)` throws for byte `i` of the current chunk. */
  constructor(private readonly fail: (message: string, i: number) => never) {}

  /** Starts scanning a value at its first byte; returns where scanning continues. */
  begin(buf: Buffer, i: number): number {
    const b = buf[i]!
    this.depth = 0
    this.tooDeep = false
    this.inString = false
    this.pendingEscape = false
    this.literal = false
    if (b === QUOTE) this.inString = true
    else if (b === OPEN_BRACKET || b === OPEN_BRACE) this.depth = 1
    else if (isLiteral(b)) {
      this.literal = true
      return i
    } else this.fail(`expected a value, got ${describeByte(b)}`, i)
    return i + 1
  }

  /**
   * Moves through the current value from `i`: returns the index just past its end, or -1 when the
   * chunk ended first (the state is kept for the next chunk). Strings are skipped with indexOf.
   * `inArrayRow`: the value is a row of an items array (see `tooDeep`).
   */
  advance(buf: Buffer, i: number, n: number, inArrayRow: boolean): number {
    if (this.literal) {
      while (i < n && isLiteral(buf[i]!)) i++
      if (i === n) return -1
      this.literal = false
      return i
    }
    let depth = this.depth
    for (;;) {
      if (this.inString) {
        let from = i
        for (;;) {
          const q = buf.indexOf(QUOTE, from)
          // An odd run of backslashes before the quote escapes it; a run reaching back to where
          // this chunk's scan began continues one the previous chunk may have left open.
          let p = (q < 0 ? n : q) - 1
          while (p >= from && buf[p] === BACKSLASH) p--
          let run = (q < 0 ? n : q) - 1 - p
          if (p < from && this.pendingEscape) run++
          this.pendingEscape = false
          if (q < 0) {
            this.pendingEscape = (run & 1) === 1
            this.depth = depth
            return -1
          }
          from = q + 1
          if ((run & 1) === 0) break
        }
        this.inString = false
        i = from
        if (depth === 0) return i
      }
      while (i < n) {
        const b = buf[i++]!
        if (b === QUOTE) {
          this.inString = true
          break
        }
        if (b === OPEN_BRACKET || b === OPEN_BRACE) {
          // Inside a row, too deep a cell costs that row only (quarantined); anywhere else it is fatal.
          if (++depth > MAX_DEPTH && !this.tooDeep) {
            if (inArrayRow) this.tooDeep = true
            else this.fail(`a value nests deeper than ${MAX_DEPTH} levels`, i - 1)
          }
        } else if (b === CLOSE_BRACKET || b === CLOSE_BRACE) {
          if (--depth === 0) {
            this.depth = 0
            return i
          }
        }
      }
      if (!this.inString) {
        this.depth = depth
        return -1
      }
    }
  }

  keep(part: Buffer): void {
    this.carryBytes += part.length
    if (this.carryBytes > MAX_VALUE_BYTES) this.fail(`a value is larger than ${MAX_VALUE_BYTES >> 20} MB`, 0)
    // Copied: the caller may reuse its chunk buffers.
    this.carry.push(Buffer.from(part))
  }

  /** The value's text: earlier chunks' bytes plus [from, to) of this chunk, decoded as UTF-8. */
  collect(buf: Buffer, from: number, to: number): string {
    if (!this.carry.length) return buf.toString('utf8', from, to)
    this.carry.push(buf.subarray(from, to))
    const text = Buffer.concat(this.carry).toString('utf8')
    this.carry = []
    this.carryBytes = 0
    return text
  }
}
