import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { finished } from 'node:stream/promises'
import { type Cell, USER_FIELDS, dealFields } from './columns.js'
import { type GenerationContext, type SimUser, makeDeal, makeUser } from './data.js'
import { ZonedTime } from './local-time.js'
import { readyExportChunks } from './php-json.js'
import { dealRow, rowContext, userRow } from './rows.js'

export interface ExportFileOptions {
  stream: 'users' | 'deals'
  rows: number
  seed: number
  /** Dates are spread over two years before this instant. @default Date.UTC(2026, 0, 1) (files are reproducible) */
  now?: number
  /** @default 'Europe/Moscow' */
  timezone?: string
  /** @default 'RUB' */
  currency?: string
}

export interface ExportFileResult {
  path: string
  rows: number
  bytes: number
  fields: string[]
}

function* generatedRows(opts: Required<ExportFileOptions>): Generator<Cell[]> {
  const users = opts.stream === 'users' ? opts.rows : Math.max(1, Math.ceil(opts.rows / 1.5))
  const gen: GenerationContext = { seed: opts.seed, now: opts.now, users, deals: opts.rows, currency: opts.currency }
  const ctx = rowContext(new ZonedTime(opts.timezone), opts.now, opts.currency)
  for (let i = 0; i < opts.rows; i++) {
    if (opts.stream === 'users') {
      yield userRow(makeUser(gen, i), ctx)
    } else {
      // Users are regenerated on demand instead of kept: user N is the same whichever deal asks for it.
      let owner: SimUser | undefined
      const deal = makeDeal(gen, i, (u) => (owner = makeUser(gen, u)))
      yield dealRow(deal, owner, ctx)
    }
  }
}

/**
 * Writes a ready GetCourse export body (`{"success":true,"info":{"fields":[…],"items":[…]}}`) with the
 * simulator's row generator, row by row, so a million-row file needs no more memory than one chunk.
 */
export async function generateExportFile(path: string, options: ExportFileOptions): Promise<ExportFileResult> {
  const opts: Required<ExportFileOptions> = {
    now: Date.UTC(2026, 0, 1),
    timezone: 'Europe/Moscow',
    currency: 'RUB',
    ...options,
  }
  const fields = opts.stream === 'users' ? [...USER_FIELDS] : dealFields(opts.currency)
  const out = createWriteStream(path)
  try {
    for (const chunk of readyExportChunks(fields, generatedRows(opts))) {
      // Bodies are pure ASCII (see phpJson), and latin1 encodes much faster than utf8.
      if (!out.write(chunk, 'latin1')) await once(out, 'drain')
    }
    out.end()
    await finished(out)
  } catch (err) {
    out.destroy()
    throw err
  }
  return { path, rows: opts.rows, bytes: out.bytesWritten, fields }
}
