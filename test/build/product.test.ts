import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

/** `npm run build` compiles the product only: no simulator, no demo, no file over 400 lines. */
const out = mkdtempSync(path.join(tmpdir(), 'build-'))
afterAll(() => rmSync(out, { recursive: true, force: true }))

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f)
    return statSync(p).isDirectory() ? files(p) : [p]
  })
}

describe('the built product', () => {
  it('holds the CLI and what it runs, and nothing else', () => {
    const tsc = path.resolve('node_modules/typescript/bin/tsc')
    const res = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--outDir', out], { encoding: 'utf8' })
    expect(res.status, res.stdout + res.stderr).toBe(0)
    const built = files(out).map((f) => path.relative(out, f))
    expect(built).toContain('cli.js')
    expect(built.filter((f) => /simulators|demo/.test(f))).toEqual([])
    expect(built.filter((f) => f.endsWith('.test.js'))).toEqual([])
    // Every source file the build compiles stays short enough to read in one sitting.
    const long = built
      .filter((f) => f.endsWith('.js'))
      .map((f) => path.join('src', f.replace(/\.js$/, '.ts')))
      .filter((f) => readFileSync(f, 'utf8').split('\n').length > 400)
    expect(long).toEqual([])
  }, 120_000)
})
