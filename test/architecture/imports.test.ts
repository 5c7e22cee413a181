import { readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

/**
 * The layers (README "Architecture"), read from the import statements of every production file:
 * the contract at the bottom imports nothing of the project; the warehouse layer (`db/`) and the
 * core know no source; a source folder knows no other source. The only way from the core to the
 * sources is `sources/index.ts` (the registry).
 */
const SRC = path.resolve('src')
const CORE = ['config.ts', 'status.ts', 'dump.ts', 'cli.ts', 'sync.ts', 'schedule.ts', 'jobs.ts'].map((f) => path.join(SRC, f))

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f)
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') && !p.endsWith('.test.ts') ? [p] : []
  })
}

/** `import … from '…'`, `export … from '…'`, `import '…'` and `import('…')`, with comments removed first. */
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g

function code(file: string): string {
  return readFileSync(file, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|\s)\/\/.*$/gm, '$1')
}

/** Every relative import of `file`, resolved to the `.ts` file it names. */
function importsOf(file: string): string[] {
  return [...code(file).matchAll(IMPORT)]
    .map((m) => m[1]!)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts'))
}

/** The source folder a file lives in (`getcourse`, `kwiga`, …), or null outside `src/sources/*\/`. */
function sourceFolder(file: string): string | null {
  const rel = path.relative(path.join(SRC, 'sources'), file)
  if (rel.startsWith('..')) return null
  const parts = rel.split(path.sep)
  return parts.length > 1 ? parts[0]! : null
}

const rel = (f: string) => path.relative(SRC, f)
const product = files(SRC).filter((f) => !rel(f).startsWith('simulators') && !rel(f).startsWith('demo'))
const graph = product.map((file) => ({ file, imports: importsOf(file) }))

describe('the import graph', () => {
  it('reads the project: every relative import resolves to a file', () => {
    expect(graph.length).toBeGreaterThan(60)
    const missing = graph.flatMap(({ file, imports }) =>
      imports.filter((i) => !product.includes(i) && !files(SRC).includes(i)).map((i) => `${rel(file)} → ${i}`),
    )
    expect(missing).toEqual([])
    // The parser sees the arrows that exist: the core reaches the sources through the registry only.
    expect(graph.find((g) => g.file === path.join(SRC, 'config.ts'))!.imports).toContain(path.join(SRC, 'sources', 'index.ts'))
  })

  it('the contract imports nothing of the project', () => {
    expect(importsOf(path.join(SRC, 'contract.ts'))).toEqual([])
  })

  it('no arrow from db/ or the core to a source folder', () => {
    const arrows = graph
      .filter(({ file }) => CORE.includes(file) || rel(file).startsWith(`db${path.sep}`))
      .flatMap(({ file, imports }) =>
        imports.filter((i) => sourceFolder(i) !== null || (rel(file).startsWith('db') && rel(i).startsWith('sources'))).map((i) => `${rel(file)} → ${rel(i)}`),
      )
    expect(arrows).toEqual([])
  })

  it('a source folder imports no other source folder', () => {
    const arrows = graph.flatMap(({ file, imports }) => {
      const own = sourceFolder(file)
      return own ? imports.filter((i) => sourceFolder(i) !== null && sourceFolder(i) !== own).map((i) => `${rel(file)} → ${rel(i)}`) : []
    })
    expect(arrows).toEqual([])
  })

  it('the core names no source: no "getcourse" or "kwiga" in its code (comments aside)', () => {
    const named = CORE.flatMap((file) =>
      code(file)
        .split('\n')
        .filter((line) => /getcourse|kwiga/i.test(line))
        .map((line) => `${rel(file)}: ${line.trim()}`),
    )
    expect(named).toEqual([])
  })

  it('no stream casts its state (`as …State`): the runner hands it over checked by the stream schema', () => {
    const casts = product.flatMap((file) =>
      code(file)
        .split('\n')
        .filter((line) => /\bas\s+\w*State\b/.test(line))
        .map((line) => `${rel(file)}: ${line.trim()}`),
    )
    expect(casts).toEqual([])
  })
})
