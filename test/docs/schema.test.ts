import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type CatalogRelation, readCatalog, renderSchemaDocs, SCHEMA_DOCS, uncommented } from '../../src/db/schema-docs.js'
import { createTestWarehouse, type TestWarehouse } from '../support/database.js'

/**
 * Issue 16 item 10: every table, view and column of getcourse, kwiga, etl and analytics has a
 * comment that says more than its name, and docs/schema.md is what `npm run docs:schema` makes of
 * the migrated catalog. After adding a migration: `npm run docs:schema` and commit docs/schema.md.
 */
let wh: TestWarehouse
let catalog: CatalogRelation[]
beforeAll(async () => {
  wh = await createTestWarehouse()
  catalog = await readCatalog(wh.db)
})
afterAll(async () => wh.dispose())

/** Words of a comment that are not words of the name (`user_email` → user, email), nor filler. */
const FILLER = new Set(['the', 'a', 'an', 'of', 'as', 'it', 'is', 'in', 'to', 'and', 'or', 'its', 'this'])
const words = (s: string) =>
  s
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w && !FILLER.has(w))
const beyondName = (comment: string, name: string) => words(comment).filter((w) => !words(name.replaceAll('_', ' ')).includes(w)).length

describe('the documented warehouse', () => {
  it('covers the four schemas', () => {
    expect(new Set(catalog.map((r) => r.schema))).toEqual(new Set(['getcourse', 'kwiga', 'etl', 'analytics']))
    expect(catalog.find((r) => r.schema === 'analytics' && r.name === 'orders')?.kind).toBe('view')
    expect(catalog.reduce((n, r) => n + r.columns.length, 0)).toBeGreaterThan(600)
  })

  it('has a comment on every table, view and column', () => {
    expect(uncommented(catalog), 'add COMMENT ON for these in the migration that creates them').toEqual([])
  })

  it('says more than the name in every comment', () => {
    const restated = catalog.flatMap((r) =>
      r.columns.filter((c) => c.comment && beyondName(c.comment, c.name) < 2).map((c) => `${r.schema}.${r.name}.${c.name}: ${c.comment}`),
    )
    expect(restated).toEqual([])
  })

  it('docs/schema.md is up to date (run `npm run docs:schema`)', () => {
    const expected = renderSchemaDocs(catalog)
    const actual = readFileSync(SCHEMA_DOCS, 'utf8')
    if (actual !== expected) {
      const a = actual.split('\n')
      const e = expected.split('\n')
      const i = e.findIndex((line, n) => line !== a[n])
      expect.fail(`docs/schema.md is out of date: run \`npm run docs:schema\`. First difference at line ${i + 1}:\n  file: ${a[i]}\n  want: ${e[i]}`)
    }
  })

  it('renders keys, nullability and escapes cells', () => {
    const text = renderSchemaDocs([
      {
        schema: 'getcourse',
        name: 't',
        kind: 'table',
        comment: 'A | B\nC',
        columns: [
          { name: 'id', type: 'bigint', nullable: false, comment: 'Key «ID»', primaryKey: true },
          { name: 'v', type: 'text[]', nullable: true, comment: 'x|y', primaryKey: false },
        ],
      },
    ])
    expect(text).toContain('*table* — A \\| B C')
    expect(text).toContain('Primary key: `id`')
    expect(text).toContain('| `id` **PK** | bigint | not null | Key «ID» |')
    expect(text).toContain('| `v` | text[] | null | x\\|y |')
  })
})
