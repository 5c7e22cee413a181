import { existsSync, statSync } from 'node:fs'
import { open } from 'node:fs/promises'
import path from 'node:path'
import { z } from 'zod'
import { EtlError } from '../../errors.js'
import type { Batch, FileLoader, SourceModule, Stream, StreamContext } from '../../contract.js'
import { tableColumns } from '../../db/upsert.js'
import { TABLES, type ExportStream } from './columns.js'
import type { GetcourseConfig } from './config.js'
import { savedExportPieces } from './saved-export.js'
import { startFileWorker, type FileWorkerCredit, type FileWorkerMessage } from './file-worker.js'
import { createNormalizer, type Normalizer } from './normalize.js'
import { rowsBatch } from './rows-batch.js'

export interface LoadFileOptions {
  /** Configured account name (its time zone converts the dates). */
  account: string
  stream: ExportStream
  /** A saved export: the whole JSON answer or just its `info` object, plain or gzip. */
  file: string
  /** group_members files without an `ID группы` column. */
  groupId?: number
}

/** Runs are recorded under this source name so a file load never touches the sync cursors. */
export const LOAD_FILE_SOURCE = 'getcourse-file'

/** The file starts with the gzip magic bytes; an unreadable file is a usage error. */
async function gzipped(file: string): Promise<boolean> {
  try {
    const handle = await open(file, 'r')
    try {
      const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0)
      return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b
    } finally {
      await handle.close()
    }
  } catch (err) {
    throw new EtlError('USAGE', `Cannot read ${file}: ${(err as Error).message}`, { cause: err })
  }
}

/**
 * A source with one stream that loads a saved export file (e.g. an archived export or one
 * downloaded by hand) through the same streaming parser, normalizer and upsert as a sync.
 */
export function loadFileSource(opts: LoadFileOptions): SourceModule<never, GetcourseConfig> {
  return {
    name: LOAD_FILE_SOURCE,
    streamNames: [opts.stream],
    streams(config, _options) {
      const account = config.getcourse.find((a) => a.name === opts.account)
      // Refused before any run is recorded: rows under a name no config knows could never be synced or told apart.
      if (!account)
        throw new EtlError(
          'USAGE',
          `No configured GetCourse account named "${opts.account}"${config.getcourse.length ? `; configured: ${config.getcourse.map((a) => a.name).join(', ')}` : ' (the config has none)'}`,
        )
      const file = path.resolve(opts.file)
      if (!existsSync(file) || !statSync(file).isFile()) throw new EtlError('USAGE', `No such file: ${file}`)
      const timeZone = account.timezone
      const stream: Stream<LoadFileState> = {
        source: LOAD_FILE_SOURCE,
        account: opts.account,
        name: opts.stream,
        stateSchema: loadFileStateSchema,
        run: (ctx) => readFile(ctx, opts, timeZone),
      }
      return [stream]
    },
  }
}

const FILE_STREAMS: readonly ExportStream[] = ['users', 'group_members', 'deals', 'payments']
const isFileStream = (s: string): s is ExportStream => (FILE_STREAMS as readonly string[]).includes(s)

/** `load-file`: saved exports of the four export streams. */
export const getcourseFiles: FileLoader = {
  streams: FILE_STREAMS,
  options: [
    {
      flags: '--group-id <n>',
      description: 'group id, for group_members files without an `ID группы` column',
      parse: (v) => {
        if (!/^\d+$/.test(v)) throw new Error(`expected a group id, got "${v}"`)
        return Number(v)
      },
    },
  ],
  source({ account, stream, file, options }) {
    if (!isFileStream(stream)) throw new EtlError('USAGE', `GetCourse files hold ${FILE_STREAMS.join(', ')}, not ${stream}`)
    return loadFileSource({ account, stream, file, groupId: typeof options.groupId === 'number' ? options.groupId : undefined })
  },
}

/** The last file loaded: where, how many rows, when. */
const loadFileStateSchema = z.object({ file: z.string(), rows: z.number(), loadedAt: z.string() })
type LoadFileState = z.infer<typeof loadFileStateSchema>

/** The saved export a load reads, and the stream state its last batch saves. */
interface SavedFile {
  file: string
  gzip: boolean
  label: string
  finished(total: number): LoadFileState
}

async function* readFile(ctx: StreamContext<LoadFileState>, opts: LoadFileOptions, timeZone: string): AsyncIterable<Batch<LoadFileState>> {
  const file = path.resolve(opts.file)
  const saved: SavedFile = {
    file,
    gzip: await gzipped(file),
    label: `file ${path.basename(file)}`,
    finished: (total) => ({ file, rows: total, loadedAt: new Date(ctx.clock.now()).toISOString() }),
  }
  // On a server the rows travel as COPY text: a worker thread parses, normalizes and encodes them.
  yield* ctx.copyIn ? readFileInWorker(ctx, opts, timeZone, saved) : readFileHere(ctx, opts, timeZone, saved)
}

async function* readFileInWorker(
  ctx: StreamContext<LoadFileState>,
  opts: LoadFileOptions,
  timeZone: string,
  saved: SavedFile,
): AsyncIterable<Batch<LoadFileState>> {
  const { file, gzip, label } = saved
  const { table, key } = TABLES[opts.stream]
  const types = Object.fromEntries([...(await tableColumns(ctx.db, table)).values()].map((c) => [c.name, c.type]))
  const worker = startFileWorker({
    file,
    gzip,
    stream: opts.stream,
    account: opts.account,
    timeZone,
    groupId: opts.groupId,
    batchSize: ctx.config.batchSize,
    label,
    types,
  })
  const inbox: FileWorkerMessage[] = []
  let wake: (() => void) | null = null
  const deliver = (m: FileWorkerMessage) => {
    inbox.push(m)
    wake?.()
  }
  worker.on('message', deliver)
  worker.on('error', (err) => deliver({ type: 'error', code: null, message: `the load-file worker failed: ${err.message}`, stack: err.stack }))
  worker.on('exit', (code) => deliver({ type: 'error', code: null, message: `the load-file worker exited (code ${code}) before the end of ${label}` }))
  let rows = 0
  try {
    for (;;) {
      while (!inbox.length) await new Promise<void>((r) => (wake = r))
      const m = inbox.shift()!
      if (m.type === 'done') return
      if (m.type === 'error') {
        const err = new EtlError(m.code ?? 'UNEXPECTED', m.message)
        if (m.stack) err.stack = m.stack
        throw err
      }
      worker.postMessage({ type: 'more' } satisfies FileWorkerCredit)
      rows += m.read
      ctx.progress({ phase: `loading ${label}`, done: rows })
      const batch: Batch<LoadFileState> = {
        writes: m.encoded ? [{ table, key, rows: [], encoded: m.encoded }] : [],
        rejects: m.rejects,
        read: m.read,
      }
      yield m.total === undefined ? batch : { ...batch, state: saved.finished(m.total) }
    }
  } finally {
    worker.removeAllListeners()
    await worker.terminate()
  }
}

async function* readFileHere(
  ctx: StreamContext<LoadFileState>,
  opts: LoadFileOptions,
  timeZone: string,
  saved: SavedFile,
): AsyncIterable<Batch<LoadFileState>> {
  const context = { account: opts.account, timeZone, groupId: opts.groupId }
  let normalizer: Normalizer | null = null
  let rows = 0
  for await (const piece of savedExportPieces(saved.file, saved.gzip, ctx.config.batchSize, saved.label)) {
    normalizer ??= createNormalizer(opts.stream, piece.fields, context)
    rows += piece.rows.length
    ctx.progress({ phase: `loading ${saved.label}`, done: rows })
    const batch = rowsBatch(opts.stream, normalizer, piece.rows)
    yield piece.total === undefined ? batch : { ...batch, state: saved.finished(piece.total) }
  }
}
