/**
 * `npm run bench [-- --only dump,load] [--rows N]`: runs every `bench/*.bench.ts`, prints each figure
 * with its same-run baseline, and appends them to bench/RESULTS.md with the date and the machine.
 */
import { readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { appendResults, benchWarehouse, formatFigure, machine, type Bench, type Figure } from './support.js'

const args = process.argv.slice(2)
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const only = arg('only')?.split(',')
const scale = Number(arg('scale') ?? 1)

const dir = path.dirname(fileURLToPath(import.meta.url))
const benches: Bench[] = []
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort()) {
  const mod = (await import(pathToFileURL(path.join(dir, file)).href)) as { bench: Bench }
  if (!only || only.includes(mod.bench.name)) benches.push(mod.bench)
}
benches.sort((a, b) => (a.order ?? 50) - (b.order ?? 50))

const figures: Figure[] = []
let serverVersion = ''
process.stdout.write(`| figure | value | baseline | ratio | target | note |\n|---|---|---|---|---|---|\n`)
for (const bench of benches) {
  const { warehouse, url, drop, serverVersion: v } = await benchWarehouse()
  serverVersion = v
  try {
    const fs = await bench.run({ warehouse, url, scale })
    for (const f of fs) process.stdout.write(`${formatFigure({ ...f, name: `${bench.name}: ${f.name}` })}\n`)
    figures.push(...fs.map((f) => ({ ...f, name: `${bench.name}: ${f.name}` })))
  } finally {
    await drop()
  }
}
process.stdout.write(`\n${machine(serverVersion)}\n`)
appendResults(`npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`, machine(serverVersion), figures)
