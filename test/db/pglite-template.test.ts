import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openWarehouse } from '../../src/db/index.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { installedPgliteVersion, readTemplateMeta, TEMPLATE_META, templateFor, templateMismatch } from '../../src/db/pglite-template.js'
import { quietLog } from '../support/database.js'

const dir = mkdtempSync(path.join(tmpdir(), 'pglite-template-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('the embedded data directory template (assets/pglite-datadir.tgz)', () => {
  it('was made by the installed PGlite: after an upgrade, run `npm run pglite-template`', () => {
    const meta = readTemplateMeta()
    expect(meta, `${TEMPLATE_META} is missing`).toBeDefined()
    expect(templateMismatch(meta, installedPgliteVersion()), 'stale template: run `npm run pglite-template` and commit assets/').toBeUndefined()
    const bytes = readFileSync(path.join(path.dirname(TEMPLATE_META), meta!.file))
    expect(bytes.length).toBe(meta!.bytes)
  })

  it('a fresh embedded warehouse starts from it, reports the recorded server and takes the migrations', async () => {
    const meta = readTemplateMeta()!
    expect(templateFor(path.join(dir, 'fresh', 'warehouse'), quietLog)).toBeInstanceOf(Blob)
    const wh = await openWarehouse({ dataDir: path.join(dir, 'fresh'), log: quietLog })
    try {
      const { rows } = await wh.pglite!.query<{ v: string; sb: string }>(
        `select split_part(version(), ' on ', 1) as v, current_setting('shared_buffers') as sb`,
      )
      expect(rows[0]!.v).toBe(meta.server)
      expect(rows[0]!.sb).toBe('16MB')
      await migrateToLatest(wh, quietLog)
      await wh.pglite!.query(`insert into getcourse.fields (account, id, title) values ('школа', 1, 'Город, область "тест"')`)
    } finally {
      await wh.close()
    }
    // Reopened, the stored database is used as it is (no template over it).
    expect(templateFor(path.join(dir, 'fresh', 'warehouse'), quietLog)).toBeUndefined()
    const again = await openWarehouse({ dataDir: path.join(dir, 'fresh'), log: quietLog })
    try {
      const { rows } = await again.pglite!.query<{ title: string }>(`select title from getcourse.fields where account = 'школа'`)
      expect(rows.map((r) => r.title)).toEqual(['Город, область "тест"'])
    } finally {
      await again.close()
    }
  }, 60_000)

  it('is not used when another PGlite made it, or when its bytes do not match the record (initdb runs instead)', () => {
    const meta = readTemplateMeta()!
    expect(templateMismatch({ ...meta, pglite: '0.4.0' }, installedPgliteVersion())).toBe(
      `template made by PGlite 0.4.0, installed ${installedPgliteVersion()}`,
    )
    expect(templateMismatch(undefined, installedPgliteVersion())).toBe('no template')
    const copy = path.join(dir, 'meta.json')
    writeFileSync(path.join(dir, meta.file), 'not a tarball')
    writeFileSync(copy, JSON.stringify(meta))
    expect(templateFor('memory://', quietLog, copy)).toBeUndefined()
    writeFileSync(copy, JSON.stringify({ ...meta, pglite: '0.4.0' }))
    expect(templateFor('memory://', quietLog, copy)).toBeUndefined()
  })
})
