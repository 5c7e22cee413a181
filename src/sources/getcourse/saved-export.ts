import { createReadStream } from 'node:fs'
import { createGunzip } from 'node:zlib'
import { EtlError } from '../../errors.js'
import { readExport } from './export-reader.js'
import type { ExportRow } from './export-scanner.js'

/** Rows of a saved export file (`load-file`), and on the last piece the export's row count. */
export interface SavedExportPiece {
  fields: string[]
  rows: ExportRow[]
  total?: number
}

/**
 * Reads a saved export (plain or gzip) in pieces of `batchSize` rows through the streaming parser, for
 * both `load-file` paths (in-thread and the worker). An error answer is `RESPONSE_INVALID`; rows
 * before the fields (never seen from GetCourse) are not yielded.
 */
export async function* savedExportPieces(file: string, gzip: boolean, batchSize: number, label: string): AsyncGenerator<SavedExportPiece> {
  const raw = createReadStream(file, { highWaterMark: 1 << 20 })
  const input = gzip ? raw.pipe(createGunzip()) : raw
  const whenInvalid = 'nothing of it was kept past the last whole batch; load a complete saved export (the whole answer or its `info` object)'
  for await (const event of readExport(input as AsyncIterable<Uint8Array>, { batchSize, label, whenInvalid })) {
    if (event.type === 'end' && event.error)
      throw new EtlError('RESPONSE_INVALID', `${label} is not a ready export: ${event.error.code ?? ''} ${event.error.message}`.trim())
    if (event.fields === null) continue
    yield event.type === 'end' ? { fields: event.fields, rows: event.rows, total: event.total } : { fields: event.fields, rows: event.rows }
  }
}
