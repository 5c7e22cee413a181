/**
 * `npm run bench [-- --only dump,load] [--rows N]`: prints every figure with its same-run baseline and
 * appends them to bench/RESULTS.md with the date and the machine.
 */
import { benchDump } from './dump.bench.js'
import { appendResults, benchWarehouse, formatFigure, machine, type Figure } from './support.js'

const args = process.argv.slice(2)
const arg = (name: string) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 ? args[i + 1] : undefined
}
const only = arg('only')?.split(',')
const rows = Number(arg('rows') ?? 1_000_000)
const want = (name: string) => !only || only.includes(name)

const { warehouse, drop, serverVersion } = await benchWarehouse()
const figures: Figure[] = []
const print = (fs: Figure[]) => {
  for (const f of fs) process.stdout.write(`${formatFigure(f)}\n`)
  figures.push(...fs)
}
try {
  process.stdout.write(`${machine(serverVersion)}\n| figure | value | baseline | ratio | target | note |\n|---|---|---|---|---|---|\n`)
  if (want('dump')) print(await benchDump(warehouse, rows))
} finally {
  await drop()
}
appendResults(`npm run bench${args.length ? ` -- ${args.join(' ')}` : ''}`, machine(serverVersion), figures)
