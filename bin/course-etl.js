#!/usr/bin/env node
// Installed entry point: runs the compiled CLI when it is built from the current sources (`npm run
// build`, what the image runs: less memory, faster start), else the TypeScript sources through tsx.
// A build older than any file under src/ is not used: it would run code that is no longer there.
import { existsSync, readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
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

if (existsSync(built) && statSync(built).mtimeMs >= newest(path.join(root, 'src'))) {
  const { main } = await import(pathToFileURL(built).href)
  process.exitCode = await main()
} else {
  const { register } = await import('tsx/esm/api')
  register()
  const { main } = await import(pathToFileURL(path.join(root, 'src', 'cli.ts')).href)
  process.exitCode = await main()
}
