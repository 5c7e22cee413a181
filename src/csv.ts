import { Transform } from 'node:stream'

/**
 * RFC 4180 CSV encoding of record batches. Output is byte-identical to csv-stringify with
 * `{ quoted_match: /[,;\r\n]/ }` and empty strings quoted (src/csv.test.ts checks that on a hostile
 * corpus), but ~2× faster on wide tables, which is what lets `dump` keep up with Postgres' COPY.
 */
export interface CsvFormat {
  delimiter: ',' | ';'
  eol: '\n' | '\r\n'
}

/**
 * A field holding either separator, a quote, CR or LF is quoted, whichever separator is in use: a
 * spreadsheet set to the other one would split an unquoted `Ivan;=1+1` into a formula cell.
 */
const SPECIAL = /[",;\r\n]/

/** NULL → bare empty field; '' → `""`; a field with `,`, `;`, a quote, CR or LF is quoted. */
export function encodeCsv(batch: readonly (readonly (string | null)[])[], format: CsvFormat): string {
  let out = ''
  for (const record of batch) {
    for (let i = 0; i < record.length; i++) {
      if (i) out += format.delimiter
      const v = record[i]
      if (v === null || v === undefined) continue
      if (v === '') out += '""'
      else if (SPECIAL.test(v)) out += `"${v.includes('"') ? v.replaceAll('"', '""') : v}"`
      else out += v
    }
    out += format.eol
  }
  return out
}

/** The formats dump writes: plain, and spreadsheet CSV per locale (below). */
export const PLAIN: CsvFormat = { delimiter: ',', eol: '\n' }

const QUOTE = 0x22
const LF = 0x0a
const QUOTE_BYTE = Buffer.from('"')

/** Where the framer is in Postgres' CSV: at a field's first byte, inside an unquoted or a quoted field, or just after a quote in a quoted one. */
type FieldState = 'start' | 'unquoted' | 'quoted' | 'afterQuote'

/**
 * `COPY … (format csv)` output → our file: prepends the header, counts records and, for Excel, turns each record's
 * LF into CRLF. COPY quotes a field only for its own delimiter, a quote, CR or LF; a field holding
 * the other separator is quoted here, as encodeCsv does (a spreadsheet set to that separator would
 * split it). Quoted fields, the only ones that can hold a newline, pass through untouched; only the
 * unquoted field being read is held back (across chunks), until its end says whether to quote it.
 * Next-byte positions are cached per chunk so that each byte is searched once.
 */
export class CopyCsvFramer extends Transform {
  private state: FieldState = 'start'
  private held: Buffer[] = []
  private heldOther = false
  private started = false
  private readonly delimiter: number
  private readonly other: number
  private readonly crlf: boolean
  constructor(
    private readonly header: string,
    format: CsvFormat,
    private readonly counted: (n: number) => void,
  ) {
    super()
    this.crlf = format.eol === '\r\n'
    this.delimiter = format.delimiter.charCodeAt(0)
    this.other = (format.delimiter === ',' ? ';' : ',').charCodeAt(0)
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, out?: Buffer) => void): void {
    const parts: Buffer[] = []
    if (!this.started) {
      this.started = true
      parts.push(Buffer.from(this.header))
    }
    const n = chunk.length
    const next = (byte: number, from: number) => {
      const i = chunk.indexOf(byte, from)
      return i === -1 ? n : i
    }
    let nextDelimiter = -1
    let nextLf = -1
    let nextOther = -1
    let records = 0
    let from = 0 // bytes before `from` are in `parts` (or held)
    let pos = 0
    while (pos < n) {
      if (this.state === 'quoted') {
        const q = next(QUOTE, pos)
        if (q === n) break
        this.state = 'afterQuote'
        pos = q + 1
        continue
      }
      if (this.state === 'afterQuote' && chunk[pos] === QUOTE) {
        this.state = 'quoted' // a doubled quote inside the field
        pos++
        continue
      }
      if (this.state === 'start') {
        if (chunk[pos] === QUOTE) {
          this.state = 'quoted'
          pos++
          continue
        }
        this.state = 'unquoted'
      }
      let end = pos // afterQuote: the separator is at pos
      if (this.state === 'unquoted') {
        // The field began at pos, or at 0 when its start is held from the previous chunk.
        if (nextDelimiter < pos) nextDelimiter = next(this.delimiter, pos)
        if (nextLf < pos) nextLf = next(LF, pos)
        end = Math.min(nextDelimiter, nextLf)
        if (nextOther < pos) nextOther = next(this.other, pos)
        const other = nextOther < end
        // Common case: a whole field without the other separator passes through as it is, uncopied.
        if (end === n || other || this.held.length) {
          parts.push(chunk.subarray(from, pos))
          this.held.push(chunk.subarray(pos, end))
          this.heldOther ||= other
          from = end
          if (end === n) break
          parts.push(...this.releaseField())
        }
      }
      // chunk[end] is the delimiter or the record's LF.
      this.state = 'start'
      pos = end + 1
      if (chunk[end] === LF) {
        records++
        if (this.crlf) {
          parts.push(chunk.subarray(from, end), CRLF)
          from = pos
        }
      }
    }
    parts.push(chunk.subarray(from))
    this.counted(records)
    done(null, parts.length === 1 ? parts[0] : Buffer.concat(parts))
  }
  /** The held unquoted field, quoted if it holds the other separator (it cannot hold a quote). */
  private releaseField(): Buffer[] {
    const field = this.heldOther ? [QUOTE_BYTE, ...this.held, QUOTE_BYTE] : this.held
    this.held = []
    this.heldOther = false
    return field
  }
  override _flush(done: (err?: Error | null, out?: Buffer) => void): void {
    // COPY ends every record with LF, so nothing is held here; a cut-off stream fails upstream.
    const tail = this.releaseField()
    const out = [...(this.started ? [] : [Buffer.from(this.header)]), ...tail]
    done(null, out.length ? Buffer.concat(out) : undefined)
  }
}

const CRLF = Buffer.from('\r\n')

/** Spreadsheet locales of `dump --excel`: the separator and decimal mark their spreadsheets read. */
export type Locale = 'ru' | 'en'
/** `ru`: `;` between fields, decimal commas (numbers are written `2900,00`); `en`: `,` and decimal points. */
export const EXCEL: CsvFormat = { delimiter: ';', eol: '\r\n' }
export const EXCEL_EN: CsvFormat = { delimiter: ',', eol: '\r\n' }
export const excelFormat = (locale: Locale): CsvFormat => (locale === 'en' ? EXCEL_EN : EXCEL)
