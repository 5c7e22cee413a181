import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
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
