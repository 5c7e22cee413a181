import { createReadStream, existsSync, statSync } from 'node:fs'
import { open } from 'node:fs/promises'
import path from 'node:path'
import { createGunzip } from 'node:zlib'
import { z } from 'zod'
import { EtlError } from '../../errors.js'
import type { Batch, FileLoader, SourceModule, Stream, StreamContext } from '../../contract.js'
import type { ExportStream } from './columns.js'
import type { GetcourseConfig } from './config.js'
import { readExport } from './export-reader.js'
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

async function isGzip(file: string): Promise<boolean> {
  const handle = await open(file, 'r')
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(2), 0, 2, 0)
    return bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b
  } finally {
    await handle.close()
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

async function* readFile(ctx: StreamContext<LoadFileState>, opts: LoadFileOptions, timeZone: string): AsyncIterable<Batch<LoadFileState>> {
  const file = path.resolve(opts.file)
  let input: NodeJS.ReadableStream
  try {
    input = (await isGzip(file)) ? createReadStream(file).pipe(createGunzip()) : createReadStream(file)
  } catch (err) {
    throw new EtlError('USAGE', `Cannot read ${file}: ${(err as Error).message}`, { cause: err })
  }
  const context = { account: opts.account, timeZone, groupId: opts.groupId }
  let normalizer: Normalizer | null = null
  let rows = 0
  const label = `file ${path.basename(file)}`
  const whenInvalid = 'nothing of it was kept past the last whole batch; load a complete saved export (the whole answer or its `info` object)'
  for await (const event of readExport(input as AsyncIterable<Uint8Array>, { batchSize: ctx.config.batchSize, label, whenInvalid })) {
    if (event.type === 'end' && event.error)
      throw new EtlError('RESPONSE_INVALID', `${label} is not a ready export: ${event.error.code ?? ''} ${event.error.message}`.trim())
    if (event.fields === null) continue
    normalizer ??= createNormalizer(opts.stream, event.fields, context)
    rows += event.rows.length
    ctx.progress({ phase: `loading ${label}`, done: rows })
    const batch = rowsBatch(opts.stream, normalizer, event.rows)
    yield event.type === 'end' ? { ...batch, state: { file, rows: event.total, loadedAt: new Date(ctx.clock.now()).toISOString() } } : batch
  }
}
