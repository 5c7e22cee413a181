/**
 * `bin/course-etl.js` picks what to run: the compiled CLI only while it is newer than every source
 * file, else a bundle of the sources (remade when a source changes). A stale build once ran code that
 * was no longer in src/.
 */
import { execFileSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = path.resolve('.')
let root: string

const cli = (says: string) => `export async function main() { process.stdout.write(${JSON.stringify(says)}); return 0 }\n`
const run = () => execFileSync(process.execPath, [path.join(root, 'bin/course-etl.js')], { encoding: 'utf8' })
const age = (file: string, secondsAgo: number) => {
  const t = new Date(Date.now() - secondsAgo * 1000)
  utimesSync(file, t, t)
}

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'bin-entry-'))
  for (const d of ['bin', 'src/nested', 'dist', 'node_modules']) mkdirSync(path.join(root, d), { recursive: true })
  copyFileSync(path.join(ROOT, 'bin/course-etl.js'), path.join(root, 'bin/course-etl.js'))
  // Only what the entry imports; the bundle goes to this root's node_modules, not the project's.
  for (const pkg of ['esbuild', '@esbuild']) symlinkSync(path.join(ROOT, 'node_modules', pkg), path.join(root, 'node_modules', pkg))
  writeFileSync(path.join(root, 'src/cli.ts'), `import { word } from './nested/word.js'\n${cli('').replace('""', 'word')}`)
  writeFileSync(path.join(root, 'src/nested/word.ts'), `export const word: string = 'sources v1'\n`)
  writeFileSync(path.join(root, 'dist/cli.js'), cli('built'))
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('bin/course-etl.js', () => {
  it('runs the build while it is newer than every source file', () => {
    for (const f of ['src/cli.ts', 'src/nested/word.ts']) age(path.join(root, f), 60)
    age(path.join(root, 'dist/cli.js'), 10)
    expect(run()).toBe('built')
  })

  it('runs a bundle of the sources once any source file is newer than the build, and remakes it when a source changes', () => {
    age(path.join(root, 'dist/cli.js'), 120)
    expect(run()).toBe('sources v1')
    expect(existsSync(path.join(root, 'node_modules/.course-etl/cli.mjs'))).toBe(true)
    writeFileSync(path.join(root, 'src/nested/word.ts'), `export const word: string = 'sources v2'\n`)
    expect(run()).toBe('sources v2')
  })
})
