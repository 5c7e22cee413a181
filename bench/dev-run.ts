// Development runner: runs one bench without appending to RESULTS.md.
import { benchWarehouse, formatFigure, type Bench } from './support.js'
const [file, scale] = process.argv.slice(2)
const { bench } = (await import(`./${file}.bench.ts`)) as { bench: Bench }
const { warehouse, url, drop } = await benchWarehouse()
const t0 = performance.now()
try {
  for (const f of await bench.run({ warehouse, url, scale: Number(scale ?? 1) })) console.log(formatFigure(f))
} finally {
  await drop()
}
console.log(`real ${((performance.now() - t0) / 1000).toFixed(1)} s`)
