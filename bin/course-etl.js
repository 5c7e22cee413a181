#!/usr/bin/env node
// Installed entry point. In order:
// 1. the compiled CLI (`npm run build`, what the image runs) when it is newer than every source file;
// 2. in a checkout, the sources bundled by esbuild into node_modules/.course-etl/cli.mjs (remade when
//    a source file is newer): plain JavaScript in this process, so no TypeScript loader thread beside
//    it (tsx's costs ~70 MB and a slower start, bench/RESULTS.md finding 13);
// 3. the sources through tsx, where esbuild is missing.
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const src = path.join(root, 'src')
const built = path.join(root, 'dist', 'cli.js')

/** Newest modification time of the files under `dir` (0 when it does not exist, as in the image). */
function newest(dir) {
  let latest = 0
  let entries
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return 0
  }
  for (const e of entries) {
    const p = path.join(dir, e.name)
    latest = Math.max(latest, e.isDirectory() ? newest(p) : statSync(p).mtimeMs)
  }
  return latest
}

const fresh = (file, since) => existsSync(file) && statSync(file).mtimeMs >= since

/** The bundle of the current sources, made when missing or stale; null without esbuild. */
async function bundle(since) {
  // Two levels below the root, like dist/<file>: `../../migrations` and `../../assets` still resolve.
  const dir = path.join(root, 'node_modules', '.course-etl')
  const out = path.join(dir, 'cli.mjs')
  if (fresh(out, since)) return out
  let esbuild
  try {
    esbuild = await import('esbuild')
  } catch {
    return null
  }
  // Split at dynamic imports, so that what loads lazily (exceljs, pg-boss, prom-client) still does.
  const temp = `${dir}.${process.pid}.tmp`
  rmSync(temp, { recursive: true, force: true })
  await esbuild.build({
    entryPoints: { cli: path.join(src, 'cli.ts') },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    target: 'node20',
    outdir: temp,
    outExtension: { '.js': '.mjs' },
    logLevel: 'silent',
  })
  // Several processes starting at once each build their own directory; one of them takes its place.
  rmSync(dir, { recursive: true, force: true })
  try {
    renameSync(temp, dir)
  } catch {
    rmSync(temp, { recursive: true, force: true })
    if (!fresh(out, since)) throw new Error(`could not place the bundle of the sources in ${dir}`)
  }
  return out
}

const since = newest(src)
let entry = since === 0 || fresh(built, since) ? built : await bundle(since)
if (!entry) {
  const { register } = await import('tsx/esm/api')
  register()
  entry = path.join(src, 'cli.ts')
}
const { main } = await import(pathToFileURL(entry).href)
process.exitCode = await main()
