import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import type { Writable } from 'node:stream'
import ExcelJS from 'exceljs'

/**
 * How a dumped column becomes an xlsx cell. The dump's SQL hands every value over as text in one
 * fixed form per kind (see dump.ts `xlsxExpression`), and this file turns it into the cell type a
 * spreadsheet computes with.
 */
export type CellKind = 'number' | 'datetime' | 'date' | 'boolean' | 'text'

export interface SheetColumn {
  name: string
  kind: CellKind
}

/** Excel's limits: 1,048,576 rows a sheet (the header takes one), 32,767 characters a cell. */
export const MAX_SHEET_ROWS = 1_048_575
export const MAX_CELL_CHARS = 32_767

const FORMATS: Partial<Record<CellKind, string>> = { datetime: 'yyyy-mm-dd hh:mm:ss', date: 'yyyy-mm-dd' }
const STAMP = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?)?$/

/**
 * Text → cell value. Numbers become numbers unless a double cannot hold them exactly (an id beyond
 * 2^53, `NaN`), dates become `Date`s of the wall-clock time (xlsx has no time zones: the serial is
 * that clock reading), text stays a string cell, never a formula, whatever its first character.
 */
export function cellValue(kind: CellKind, text: string | null): ExcelJS.CellValue {
  if (text === null) return null
  switch (kind) {
    case 'number': {
      const n = Number(text)
      if (!Number.isFinite(n) || (Number.isInteger(n) && !Number.isSafeInteger(n) && !/[.e]/i.test(text))) return text
      return n
    }
    case 'boolean':
      return text === 'true'
    case 'date':
    case 'datetime': {
      const m = STAMP.exec(text)
      if (!m) return text // `infinity`, a year beyond 9999: kept as written
      const [, y, mo, d, h = '0', mi = '0', s = '0', ms = '0'] = m
      return new Date(Date.UTC(+y!, +mo! - 1, +d!, +h, +mi, +s, +ms.padEnd(3, '0')))
    }
    default:
      // An inline rich-text run: exceljs writes it as `inlineStr` with `xml:space="preserve"`, so
      // leading and trailing spaces survive (a plain string is written as `t="str"` and trimmed).
      return { richText: [{ text: escapeXstring(text.length > MAX_CELL_CHARS ? text.slice(0, MAX_CELL_CHARS) : text) }] }
  }
}

/**
 * Characters XML 1.0 cannot hold (exceljs would drop them) are written the OOXML way, `_x000B_`;
 * text that already looks like such an escape gets its `_` escaped (`_x005F_`) so it reads back as written.
 */
export function escapeXstring(text: string): string {
  return text
    .replace(/_(x[0-9A-Fa-f]{4}_)/g, '_x005F_$1')
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f\ufffe\uffff]/g, (c) => `_x${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}_`)
}

export interface XlsxSink {
  /** Adds one batch of rows; resolves when the file stream has room again (backpressure). */
  write(batch: readonly (readonly (string | null)[])[]): Promise<void>
  /** Finishes the workbook; resolves once every byte is handed to the output stream. */
  end(): Promise<{ rows: number; truncated: number; sheets: number }>
}

/**
 * Writes `batches` to a new workbook at `file`. On failure or abort the file stream is destroyed (the
 * caller removes the file); resolves once the file is closed.
 */
export async function writeWorkbook(
  file: string,
  name: string,
  columns: readonly SheetColumn[],
  batches: AsyncIterable<readonly (readonly (string | null)[])[]>,
  signal?: AbortSignal,
): Promise<{ rows: number; truncated: number; sheets: number }> {
  const out = createWriteStream(file)
  const closed = once(out, 'close')
  closed.catch(() => {}) // awaited below; a failure surfaces through the write path first
  try {
    const book = createXlsxSink(out, name, columns)
    for await (const batch of batches) {
      signal?.throwIfAborted()
      await book.write(batch)
    }
    const result = await book.end()
    await closed
    return result
  } catch (err) {
    out.destroy()
    throw err
  }
}

/** Sheet names: at most 31 characters, none of `[]:*?/\`. */
function sheetName(base: string, n: number): string {
  const clean = base.replace(/[[\]:*?/\\]/g, '_')
  const suffix = n > 1 ? ` (${n})` : ''
  return clean.slice(0, 31 - suffix.length) + suffix
}

/**
 * A streaming workbook (exceljs `stream.xlsx.WorkbookWriter`): each row is serialized and zipped as
 * it is added, so memory stays flat whatever the table size. Inline strings (no shared-strings table,
 * which would hold every distinct text in memory), a frozen header row and an autofilter over every
 * column. A table longer than Excel's sheet limit continues on `<name> (2)`, … with the same header.
 */
export function createXlsxSink(out: Writable, name: string, columns: readonly SheetColumn[]): XlsxSink {
  const workbook = new ExcelJS.stream.xlsx.WorkbookWriter({ stream: out, useStyles: true, useSharedStrings: false })
  workbook.views = [{ x: 0, y: 0, width: 20000, height: 12000, firstSheet: 0, activeTab: 0, visibility: 'visible' }]
  // Excel and LibreOffice read a sheet's filter range from the hidden sheet-local name
  // `_xlnm._FilterDatabase`; exceljs' DefinedNames cannot scope a name to a sheet, so the names are
  // added to the model it renders.
  const filters: { name: string; localSheetId: number; ranges: string[] }[] = []
  const names = workbook.definedNames
  const own = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(names), 'model')!
  Object.defineProperty(names, 'model', { get: () => [...(own.get!.call(names) as object[]), ...filters], configurable: true })
  const lastColumn = columnLetter(Math.max(1, columns.length))
  let sheet: ExcelJS.Worksheet | undefined
  let sheets = 0
  let inSheet = 0
  let rows = 0
  let truncated = 0
  const closeSheet = () => {
    if (!sheet) return
    const range = `A1:${lastColumn}${inSheet + 1}`
    sheet.autoFilter = range
    filters.push({
      name: '_xlnm._FilterDatabase',
      localSheetId: sheets - 1,
      ranges: [`'${sheet.name.replaceAll("'", "''")}'!$A$1:$${lastColumn}$${inSheet + 1}`],
    })
    sheet.commit()
  }
  const openSheet = () => {
    closeSheet()
    sheets++
    inSheet = 0
    sheet = workbook.addWorksheet(sheetName(name, sheets), { views: [{ state: 'frozen', ySplit: 1 }] })
    sheet.columns = columns.map((c) => ({
      header: c.name,
      key: c.name,
      width: Math.min(60, Math.max(10, c.name.length + 2, c.kind === 'datetime' ? 20 : 0)),
      style: FORMATS[c.kind] ? { numFmt: FORMATS[c.kind] } : {},
    }))
    sheet.getRow(1).font = { bold: true }
    sheet.getRow(1).commit()
  }
  openSheet()
  return {
    async write(batch) {
      for (const record of batch) {
        if (inSheet === MAX_SHEET_ROWS) openSheet()
        const values = columns.map((c, i) => {
          const text = record[i] ?? null
          if (c.kind === 'text' && text !== null && text.length > MAX_CELL_CHARS) truncated++
          return cellValue(c.kind, text)
        })
        sheet!.addRow(values).commit()
        inSheet++
        rows++
      }
      await zipCaughtUp(sheet!)
      if (out.writableNeedDrain) await once(out, 'drain')
    },
    async end() {
      closeSheet()
      await workbook.commit()
      return { rows, truncated, sheets }
    },
  }
}

/** 1 → A, 27 → AA. */
export function columnLetter(n: number): string {
  let out = ''
  for (let k = n; k > 0; k = Math.floor((k - 1) / 26)) out = String.fromCharCode(65 + ((k - 1) % 26)) + out
  return out
}

/**
 * exceljs hands each full 64 KB buffer of a sheet to the zip entry without waiting (its StreamBuf
 * ignores `write()` returning false), so a database faster than deflate would pile rows up in the
 * entry's buffer (measured: +200 MB for 600,000 rows). Waiting here while the entry holds more than
 * 4 MB keeps memory flat. The entry is archiver's readable-stream v2 PassThrough, which exposes its
 * queue only as `_writableState`.
 */
async function zipCaughtUp(sheet: ExcelJS.Worksheet): Promise<void> {
  type Entry = NodeJS.EventEmitter & { _writableState?: { length: number; needDrain: boolean } }
  const entry = (sheet as unknown as { stream?: { pipes?: Entry[] } }).stream?.pipes?.[0]
  while (entry?._writableState && entry._writableState.length > 4 << 20 && entry._writableState.needDrain) await once(entry, 'drain')
}
