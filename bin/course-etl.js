#!/usr/bin/env node
// Installed entry point: runs the compiled CLI when built, else the TypeScript sources through tsx.
import { existsSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import path from 'node:path'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const built = path.join(root, 'dist', 'cli.js')
if (existsSync(built)) {
  const { main } = await import(pathToFileURL(built).href)
  process.exitCode = await main()
} else {
  const { register } = await import('tsx/esm/api')
  register()
  const { main } = await import(pathToFileURL(path.join(root, 'src', 'cli.ts')).href)
  process.exitCode = await main()
}
