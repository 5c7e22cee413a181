/**
 * `load-file` on a server warehouse: a worker thread reads, parses, normalizes and encodes the saved
 * export (COPY lines, `copy-lines.ts`), and the main thread only probes keys and streams the bytes
 * to Postgres. On two cores the parse and normalize work (most of Node's CPU per row) then runs beside
 * Postgres instead of between its statements (bench/RESULTS.md, finding 12).
 *
 * The worker runs this very module: under tsx (sources, tests, the bench) it registers tsx first; from
 * `dist/` it imports the compiled file; from a bundle it imports the bundle, whose copy of this module
 * starts the work (every entry guards itself with `isMainThread`).
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { isMainThread, type MessagePort, parentPort, Worker, workerData } from 'node:worker_threads'
import type { EncodedRows, RejectInput } from '../../contract.js'
import { CopyEncoder } from '../../db/copy-text.js'
import { EtlError, type ErrorCode } from '../../errors.js'
import { TABLES, type ExportStream } from './columns.js'
import { createLineEncoder, type LineEncoder } from './copy-lines.js'
import { UnreadableRow } from './export-scanner.js'
import { savedExportPieces } from './saved-export.js'
import type { Cell } from './values.js'

const KIND = 'course-etl/getcourse-file'

export interface FileWorkerJob {
  file: string
  gzip: boolean
  stream: ExportStream
  account: string
  timeZone: string
  groupId?: number
  batchSize: number
  label: string
  /** SQL type of each column of the stream's table (json columns get JSON text). */
  types: Record<string, string>
}

/** What the worker sends, in order: batches, then `done` or `error`. */
export type FileWorkerMessage =
  | { type: 'batch'; encoded: EncodedRows | null; rejects: RejectInput[]; read: number; total?: number }
  | { type: 'done' }
  | { type: 'error'; code: ErrorCode | null; message: string; stack?: string }

/** What the main thread sends: one more batch may be prepared. */
export interface FileWorkerCredit {
  type: 'more'
}

/** Batches the worker may prepare ahead of the main thread (each a few MB of COPY text). */
export const AHEAD = 2

/** Old-generation cap of the worker's heap. */
const WORKER_OLD_SPACE_MB = 128

/** Rows parsed and normalized at a time inside a batch. */
const PIECE = 250

if (!isMainThread && (workerData as { kind?: string } | null)?.kind === KIND) void work((workerData as { job: FileWorkerJob }).job, parentPort!)

/** Starts the worker for `job`; `import.meta.url` is this module, a compiled copy, or a bundle holding it. */
export function startFileWorker(job: FileWorkerJob): Worker {
  const self = import.meta.url
  const tsx = self.endsWith('.ts') ? tsxApi(self) : null
  const bootstrap = `
    const { workerData, parentPort } = require('node:worker_threads')
    ;(async () => {
      if (workerData.tsx) (await import(workerData.tsx)).register()
      await import(workerData.self)
    })().catch((err) => parentPort.postMessage({ type: 'error', code: null, message: 'the load-file worker did not start: ' + (err && err.message), stack: err && err.stack }))`
  return new Worker(bootstrap, {
    eval: true,
    workerData: { kind: KIND, self, tsx, job },
    stdout: false,
    stderr: false,
    // Its live data is one 250-row piece and the batch's COPY bytes (off-heap): a cap makes V8 collect
    // instead of growing with the export (1.5M users: 352 → 291 MB for the process at 96 MB).
    resourceLimits: { maxOldGenerationSizeMb: WORKER_OLD_SPACE_MB },
  })
}

/** URL of tsx's ESM API (its package `exports`), for a worker that must load TypeScript. */
function tsxApi(from: string): string {
  const require = createRequire(from)
  const manifest = require.resolve('tsx/package.json')
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { exports: Record<string, { import: { default: string } }> }
  return pathToFileURL(path.join(path.dirname(manifest), pkg.exports['./esm/api']!.import.default)).href
}

async function work(job: FileWorkerJob, port: MessagePort): Promise<void> {
  let credits = AHEAD
  let wake: (() => void) | null = null
  port.on('message', (m: FileWorkerCredit) => {
    if (m.type !== 'more') return
    credits++
    wake?.()
  })
  const post = (m: FileWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer)
  try {
    const { key } = TABLES[job.stream]
    const context = { account: job.account, timeZone: job.timeZone, groupId: job.groupId }
    let lines: LineEncoder | null = null
    let encoder: CopyEncoder | null = null
    let rejects: RejectInput[] = []
    let read = 0
    const send = async (total?: number) => {
      while (credits <= 0) await new Promise<void>((r) => (wake = r))
      credits--
      const encoded = encoder?.rows ? encoder.take() : null
      post({ type: 'batch', encoded, rejects, read, total }, encoded ? [encoded.text.buffer as ArrayBuffer] : [])
      rejects = []
      read = 0
    }
    // Small pieces: their cells die young, only the COPY bytes (off-heap) pile up to a whole batch.
    // Parsed 5,000-row batches outlived the young generation: 1.3 s of 7 s was GC.
    for await (const piece of savedExportPieces(job.file, job.gzip, PIECE, job.label)) {
      if (!lines) {
        lines = createLineEncoder(job.stream, piece.fields, context, key, job.types)
        encoder = new CopyEncoder([...lines.columns], [], key)
      }
      for (const cells of piece.rows) {
        // An unreadable row is a reject already; every other row becomes a COPY line or a reject.
        const line = cells instanceof UnreadableRow ? cells : lines.encode(cells as Cell[], encoder!.keyList)
        if (typeof line === 'string') encoder!.addLine(line)
        else rejects.push(line as RejectInput)
      }
      read += piece.rows.length
      if (piece.total !== undefined) await send(piece.total)
      else if (read >= job.batchSize) await send()
    }
    post({ type: 'done' })
  } catch (err) {
    const e = err as Error
    post({ type: 'error', code: err instanceof EtlError ? err.code : null, message: e?.message ?? String(err), stack: e?.stack })
  } finally {
    port.close()
  }
}
