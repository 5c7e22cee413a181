import { createHash } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import { fileURLToPath } from 'node:url'
import type { Logger } from '../log.js'
import { isMainThread } from 'node:worker_threads'

/**
 * A fresh embedded data directory made once by PGlite's initdb (`dumpDataDir('gzip')`) and shipped in
 * `assets/`. PGlite 0.5 runs initdb in a second WebAssembly instance and copies its data directory
 * through an uncompressed tar: ~4 s of CPU and a peak of 0.8–0.9 GB RSS on the first open. Loading the
 * template instead (`loadDataDir`) takes ~1 s and ~0.3 GB. The template only fits the PGlite build that
 * made it (the catalog belongs to its Postgres version), so it is used only when the installed PGlite
 * has exactly the recorded version; otherwise initdb runs as before. `test/db/pglite-template.test.ts`
 * fails when the template is stale; `npm run pglite-template` makes a new one.
 */
export interface TemplateMeta {
  /** Version of `@electric-sql/pglite` that made the template. */
  pglite: string
  /** `select version()` of a database opened from the template, up to " on ". */
  server: string
  /** File name next to the metadata, and its sha256 / size. */
  file: string
  sha256: string
  bytes: number
}

const here = path.dirname(fileURLToPath(import.meta.url))
/** `assets/` at the package root (src/db/ and dist/db/ are both two levels below it). */
export const TEMPLATE_DIR = path.resolve(here, '../../assets')
export const TEMPLATE_META = path.join(TEMPLATE_DIR, 'pglite-datadir.json')

/** Version of the installed `@electric-sql/pglite` (its package.json, next to the resolved entry's dist/). */
export function installedPgliteVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite')
  const pkg = JSON.parse(readFileSync(path.resolve(path.dirname(entry), '../package.json'), 'utf8')) as { version: string }
  return pkg.version
}

export function readTemplateMeta(file = TEMPLATE_META): TemplateMeta | undefined {
  if (!existsSync(file)) return undefined
  return JSON.parse(readFileSync(file, 'utf8')) as TemplateMeta
}

/** Why the template cannot be used with this PGlite, or undefined when it can. */
export function templateMismatch(meta: TemplateMeta | undefined, pglite: string): string | undefined {
  if (!meta) return 'no template'
  if (meta.pglite !== pglite) return `template made by PGlite ${meta.pglite}, installed ${pglite}`
  return undefined
}

/**
 * The template as a Blob for `loadDataDir` when `dataDir` holds no database yet (`memory://` always
 * starts empty) and the template fits the installed PGlite; otherwise undefined (initdb runs).
 * A template whose bytes do not match the recorded sha256 is not used either.
 */
export function templateFor(dataDir: string, log: Logger, metaFile = TEMPLATE_META): Blob | undefined {
  if (dataDir !== 'memory://' && existsSync(path.join(dataDir, 'PG_VERSION'))) return undefined
  const meta = readTemplateMeta(metaFile)
  const why = templateMismatch(meta, installedPgliteVersion())
  if (why) {
    log.debug({ why }, 'embedded database: no usable data directory template, running initdb')
    return undefined
  }
  const file = path.join(path.dirname(metaFile), meta!.file)
  const bytes = existsSync(file) ? readFileSync(file) : undefined
  if (!bytes || createHash('sha256').update(bytes).digest('hex') !== meta!.sha256) {
    log.warn({ file }, 'embedded database: data directory template missing or damaged, running initdb')
    return undefined
  }
  return new Blob([bytes])
}

/**
 * Unpacks the template into `dataDir` on disk (a tar in gzip, streamed), so that PGlite opens it like
 * any existing data directory. Loading it through `loadDataDir` instead holds the whole tar, its
 * files and PGlite's copies in memory at once: the first open peaked at ~380 MB RSS, which the
 * process never gave back (bench/RESULTS.md, finding 13). True when unpacked; false when the template
 * cannot be used (initdb then runs, as `templateFor` says why) or `dataDir` is `memory://`.
 */
export async function unpackTemplate(dataDir: string, log: Logger, metaFile = TEMPLATE_META): Promise<boolean> {
  if (dataDir === 'memory://') return false
  const template = templateFor(dataDir, log, metaFile)
  if (!template) return false
  const temp = `${dataDir}.unpacking-${process.pid}`
  rmSync(temp, { recursive: true, force: true })
  mkdirSync(temp, { recursive: true, mode: 0o700 })
  try {
    await pipeline(Readable.from(template.stream() as unknown as AsyncIterable<Uint8Array>), createGunzip(), new TarWriter(temp))
    // The warehouse directory may exist already, empty (made before the first open).
    rmSync(dataDir, { recursive: true, force: true })
    renameSync(temp, dataDir)
    return true
  } catch (err) {
    rmSync(temp, { recursive: true, force: true })
    log.warn({ err }, 'embedded database: could not unpack the data directory template, running initdb')
    return false
  }
}

/** Writes the regular files and directories of a ustar stream under `root` (nothing else is in a data directory). */
class TarWriter extends Writable {
  private pending: Buffer = Buffer.alloc(0)
  /** Bytes of the current file still to come, and its padding to 512. */
  private left = 0
  private pad = 0
  private fd: number | null = null

  constructor(private readonly root: string) {
    super()
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    try {
      this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk
      this.drain()
      done()
    } catch (err) {
      done(err as Error)
    }
  }

  override _final(done: (err?: Error | null) => void): void {
    if (this.fd !== null || this.left > 0) done(new Error('the template tar ends inside a file'))
    else done()
  }

  private drain(): void {
    let at = 0
    const buf = this.pending
    while (at < buf.length) {
      if (this.left > 0) {
        const n = Math.min(this.left, buf.length - at)
        writeSync(this.fd!, buf, at, n)
        at += n
        this.left -= n
        if (this.left === 0) {
          closeSync(this.fd!)
          this.fd = null
        }
        continue
      }
      if (this.pad > 0) {
        const n = Math.min(this.pad, buf.length - at)
        at += n
        this.pad -= n
        continue
      }
      if (buf.length - at < 512) break
      const header = buf.subarray(at, at + 512)
      at += 512
      if (header.every((b) => b === 0)) continue
      const field = (from: number, len: number) =>
        header
          .subarray(from, from + len)
          .toString('utf8')
          .replace(/\0.*$/s, '')
      const name = `${field(345, 155) ? `${field(345, 155)}/` : ''}${field(0, 100)}`
      const size = Number.parseInt(field(124, 12).trim() || '0', 8)
      const type = String.fromCharCode(header[156]!)
      const target = path.resolve(this.root, `.${path.posix.normalize(`/${name}`)}`)
      if (!target.startsWith(this.root)) throw new Error(`the template tar names a path outside the data directory: ${name}`)
      if (type === '5') {
        mkdirSync(target, { recursive: true, mode: 0o700 })
      } else if (type === '0' || type === '\0') {
        mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 })
        this.fd = openSync(target, 'w', 0o600)
        this.left = size
        this.pad = (512 - (size % 512)) % 512
        if (size === 0) {
          closeSync(this.fd)
          this.fd = null
        }
      } else throw new Error(`the template tar holds an entry of type ${JSON.stringify(type)} (${name})`)
    }
    this.pending = buf.subarray(at)
  }
}

/** Makes the template with the installed PGlite (initdb in memory), checks that it opens, records it. */
export async function makeTemplate(dir = TEMPLATE_DIR): Promise<TemplateMeta> {
  const { PGlite } = await import('@electric-sql/pglite')
  const fresh = new PGlite('memory://')
  await fresh.waitReady
  const blob = await fresh.dumpDataDir('gzip')
  await fresh.close()
  const bytes = Buffer.from(await blob.arrayBuffer())
  const check = new PGlite('memory://', { loadDataDir: new Blob([bytes]) })
  const { rows } = await check.query<{ v: string }>(`select split_part(version(), ' on ', 1) as v`)
  await check.close()
  const pglite = installedPgliteVersion()
  const meta: TemplateMeta = {
    pglite,
    server: rows[0]!.v,
    file: 'pglite-datadir.tgz',
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.length,
  }
  mkdirSync(dir, { recursive: true })
  writeFileSync(path.join(dir, meta.file), bytes)
  writeFileSync(path.join(dir, 'pglite-datadir.json'), `${JSON.stringify(meta, null, 2)}\n`)
  return meta
}

// `npm run pglite-template`: remake assets/pglite-datadir.tgz after upgrading @electric-sql/pglite.
// Run as a script only under its own name: bundled into another entry (one file, one import.meta.url), never.
if (
  isMainThread &&
  process.argv[1] &&
  path.basename(process.argv[1]).replace(/\.[cm]?[jt]s$/, '') === 'pglite-template' &&
  fileURLToPath(import.meta.url) === path.resolve(process.argv[1])
) {
  const meta = await makeTemplate()
  process.stdout.write(`${path.join(TEMPLATE_DIR, meta.file)}: ${meta.server}, ${meta.bytes} bytes\n`)
}
