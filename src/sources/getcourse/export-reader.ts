import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { createWriteStream, mkdirSync, renameSync, rmSync, type WriteStream } from 'node:fs'
import path from 'node:path'
import { finished } from 'node:stream/promises'
import { createGzip, type Gzip } from 'node:zlib'
import { JSONParser } from '@streamparser/json'
import { EtlError } from '../../errors.js'
import { envelopeError, type ApiError } from './envelope.js'
import { UnicodeUnescaper } from './unicode-unescaper.js'

/**
 * Streams a ready export body `{"success":true,"info":{"fields":[…],"items":[[…],…]}}` (reference
 * §3.2) — or a saved file holding just the `info` object — into batches of rows with bounded memory.
 * Error envelopes are detected in the same pass.
 */
export type ExportEvent =
  | { type: 'rows'; fields: string[]; rows: unknown[][] }
  /** The remaining rows; `fields` is null when the body was an error envelope. */
  | { type: 'end'; fields: string[] | null; rows: unknown[][]; total: number; error: ApiError | null }

export interface ReadOptions {
  batchSize: number
  /** Tee the raw body into this gzip file (written as `*.partial`, renamed when the body is complete). */
  archivePath?: string
  /** For messages: `export 123`, `file x.json`. */
  label: string
}

const PATHS = ['$.success', '$.error', '$.error_code', '$.error_message', '$.info.fields', '$.info.items.*', '$.fields', '$.items.*']

export async function* readExport(body: AsyncIterable<Uint8Array>, options: ReadOptions): AsyncGenerator<ExportEvent> {
  const parser = new JSONParser({ paths: PATHS, keepStack: false, stringBufferSize: 64 * 1024 })
  const envelope: Record<string, unknown> = {}
  let fields: string[] | null = null
  let pending: unknown[][] = []
  let total = 0
  let parseError: Error | null = null
  parser.onError = (err) => {
    parseError ??= err
  }
  parser.onValue = ({ value, key, stack }) => {
    // `stack` is [root] or [root, info]; `$.items.*` has the items array on the stack too.
    const parent = stack[stack.length - 1]?.key
    if (parent === 'items') {
      pending.push(Array.isArray(value) ? value : [value])
      total++
    } else if (key === 'fields') fields = Array.isArray(value) ? value.map((f) => (f === null || f === undefined ? '' : String(f))) : []
    else if (typeof key === 'string' && stack.length === 1) envelope[key] = value
  }

  const unescaper = new UnicodeUnescaper()
  const archive = options.archivePath ? new ArchiveWriter(options.archivePath) : null
  let complete = false
  try {
    try {
      for await (const chunk of body) {
        if (archive) await archive.write(chunk)
        const text = unescaper.push(chunk)
        if (text.length) parser.write(text)
        if (parseError) break
        while (fields && pending.length > options.batchSize) {
          const rows = pending.slice(0, options.batchSize)
          pending = pending.slice(options.batchSize)
          yield { type: 'rows', fields, rows }
        }
      }
      const rest = unescaper.end()
      if (!parseError && rest.length && !parser.isEnded) parser.write(rest)
      if (!parseError && !parser.isEnded) parser.end()
    } catch (err) {
      parseError ??= err as Error
    }
    if (parseError || !parser.isEnded) {
      throw new EtlError('RESPONSE_INVALID', `${options.label}: the body was cut off or is not JSON after ${total} rows (${parseError?.message ?? 'ended early'}); it is fetched again next run`, { cause: parseError ?? undefined })
    }
    const error = fields ? null : (envelopeError(envelope) ?? { code: null, message: 'the answer has no info.fields' })
    complete = true
    if (archive) {
      if (error) await archive.discard()
      else await archive.commit()
    }
    yield { type: 'end', fields, rows: pending, total, error }
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
      this.gzip = createGzip()
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
