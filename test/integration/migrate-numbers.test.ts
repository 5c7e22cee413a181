import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { listMigrations } from '../../src/db/migrate.js'

/** Parallel branches reserve migration numbers (0006–0009): a gap is allowed, a repeated number is not. */
describe('migration numbering', () => {
  const dir = (files: string[]) => {
    const d = mkdtempSync(path.join(tmpdir(), 'migrations-'))
    for (const f of files) writeFileSync(path.join(d, f), 'select 1;\n')
    return d
  }
  it('applies numbers in order across a gap', () => {
    expect(listMigrations(dir(['0009_comments.sql', '0001_etl.sql', '0005_fidelity.sql'])).map((m) => m.name)).toEqual([
      '0001_etl',
      '0005_fidelity',
      '0009_comments',
    ])
  })
  it('refuses two files with one number', () => {
    expect(() => listMigrations(dir(['0001_etl.sql', '0006_a.sql', '0006_b.sql']))).toThrow(/Two migrations are numbered 6: 0006_a, 0006_b/)
  })
})
