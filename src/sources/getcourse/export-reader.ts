import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createWriteStream, mkdirSync, renameSync, rmSync, type WriteStream } from 'node:fs'
import path from 'node:path'
import { finished } from 'node:stream/promises'
import { createGzip, type Gzip } from 'node:zlib'
import { EtlError } from '../../errors.js'
import { envelopeError, type ApiError } from './envelope.js'
import { ExportScanner, type ExportRow } from './export-scanner.js'

/**
 * Streams a ready export body `{"success":true,"info":{"fields":[…],"items":[[…],…]}}` (reference
 * §3.2) — or a saved file holding just the `info` object — into batches of rows with bounded memory.
 * Error envelopes are detected in the same pass.
 */
export type ExportEvent =
  | { type: 'rows'; fields: string[]; rows: ExportRow[] }
  /** The remaining rows; `fields` is null when the body was an error envelope. */
  | { type: 'end'; fields: string[] | null; rows: ExportRow[]; total: number; error: ApiError | null }

export interface ReadOptions {
  batchSize: number
  /** Tee the raw body into this gzip file (written as `*.partial`, renamed when the body is complete). */
  archivePath?: string
  /** For messages: `export 123`, `file x.json`. */
  label: string
  /** What happens to an unreadable body, for its message. @default 'it is fetched again next run' */
  whenInvalid?: string
}

const fieldNames = (value: unknown): string[] => (Array.isArray(value) ? value.map((f) => (f === null || f === undefined ? '' : String(f))) : [])

export async function* readExport(body: AsyncIterable<Uint8Array>, options: ReadOptions): AsyncGenerator<ExportEvent> {
  const scanner = new ExportScanner()
  let fields: string[] | null = null
  const archive = options.archivePath ? new ArchiveWriter(options.archivePath) : null
  let complete = false
  try {
    try {
      for await (const chunk of body) {
        if (archive) await archive.write(chunk)
        scanner.push(chunk)
        if (!fields && scanner.fields !== undefined) fields = fieldNames(scanner.fields)
        // Rows that arrive before `fields` (never seen from GetCourse) wait for them.
        while (fields && scanner.pending > options.batchSize) yield { type: 'rows', fields, rows: scanner.take(options.batchSize) }
      }
      scanner.end()
    } catch (err) {
      throw new EtlError(
        'RESPONSE_INVALID',
        `${options.label}: the body was cut off or is not JSON after ${scanner.total} rows (${(err as Error).message}); ${options.whenInvalid ?? 'it is fetched again next run'}`,
        { cause: err },
      )
    }
    if (!fields && scanner.fields !== undefined) fields = fieldNames(scanner.fields)
    const error = fields ? null : (envelopeError(scanner.envelope) ?? { code: null, message: 'the answer has no info.fields' })
    complete = true
    if (archive) {
      if (error) await archive.discard()
      else await archive.commit()
    }
    if (fields) while (scanner.pending > options.batchSize) yield { type: 'rows', fields, rows: scanner.take(options.batchSize) }
    yield { type: 'end', fields, rows: fields ? scanner.take() : [], total: scanner.total, error }
  } finally {
    if (archive && !complete) await archive.discard()
  }
}

/** Gzip tee of a body: a temp file renamed into place only when the body was read completely. */
class ArchiveWriter {
  private readonly temp: string
  private gzip: Gzip | null = null
  private file: WriteStream | null = null

  constructor(private readonly target: string) {
    this.temp = `${target}.${randomBytes(4).toString('hex')}.partial`
  }

  async write(chunk: Uint8Array): Promise<void> {
    if (!this.gzip) {
      mkdirSync(path.dirname(this.target), { recursive: true })
      // Level 3: ~3× less CPU than the default 6 (measured 0.6 s vs 2.0 s per 62 MB users export), files ~20% larger.
      this.gzip = createGzip({ level: 3 })
      this.file = createWriteStream(this.temp)
      this.gzip.pipe(this.file)
    }
    if (!this.gzip.write(chunk)) await once(this.gzip, 'drain')
  }

  async commit(): Promise<void> {
    if (!this.gzip) return
    this.gzip.end()
    await finished(this.file!)
    renameSync(this.temp, this.target)
  }

  async discard(): Promise<void> {
    if (this.gzip) {
      this.gzip.destroy()
      this.file!.destroy()
      await finished(this.file!).catch(() => {})
    }
    rmSync(this.temp, { force: true })
  }
}
