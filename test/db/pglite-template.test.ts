import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createHash } from 'node:crypto'
import { gunzipSync, gzipSync } from 'node:zlib'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openWarehouse } from '../../src/db/index.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { installedPgliteVersion, readTemplateMeta, TEMPLATE_META, templateFor, templateMismatch, unpackTemplate } from '../../src/db/pglite-template.js'
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

  it('is unpacked on disk for a new warehouse directory: every file of the tar, byte for byte', async () => {
    const meta = readTemplateMeta()!
    const target = path.join(dir, 'unpacked', 'warehouse')
    expect(await unpackTemplate(target, quietLog)).toBe(true)
    // The system tar as the reference.
    const reference = path.join(dir, 'reference')
    execFileSync('mkdir', ['-p', reference])
    execFileSync('tar', ['-xzf', path.join(path.dirname(TEMPLATE_META), meta.file), '-C', reference])
    const files = (root: string, sub = ''): string[] =>
      readdirSync(path.join(root, sub), { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? [`${path.join(sub, e.name)}/`, ...files(root, path.join(sub, e.name))] : [path.join(sub, e.name)],
      )
    const ours = files(target).sort()
    expect(ours).toEqual(files(reference).sort())
    expect(ours.length).toBeGreaterThan(900)
    const digest = (f: string) => createHash('sha256').update(readFileSync(f)).digest('hex')
    for (const f of ours.filter((x) => !x.endsWith('/'))) expect(digest(path.join(target, f)), f).toBe(digest(path.join(reference, f)))
    expect(statSync(path.join(target, 'PG_VERSION')).mode & 0o777).toBe(0o600)
    // A directory that holds a database already is left alone.
    expect(await unpackTemplate(target, quietLog)).toBe(false)
  })

  it('a damaged template is not half unpacked: nothing is left behind and initdb runs instead', async () => {
    const meta = readTemplateMeta()!
    const good = readFileSync(path.join(path.dirname(TEMPLATE_META), meta.file))
    // A gzip whose tar stops in the middle of a file.
    const cut = gzipSync(gunzipSync(good).subarray(0, 700_000))
    const bad = path.join(dir, 'bad')
    execFileSync('mkdir', ['-p', bad])
    writeFileSync(path.join(bad, meta.file), cut)
    const badMeta = path.join(bad, 'pglite-datadir.json')
    writeFileSync(badMeta, JSON.stringify({ ...meta, sha256: createHash('sha256').update(cut).digest('hex'), bytes: cut.length }))
    const target = path.join(dir, 'damaged', 'warehouse')
    expect(await unpackTemplate(target, quietLog, badMeta)).toBe(false)
    expect(existsSync(target)).toBe(false)
    expect(readdirSync(path.dirname(target))).toEqual([])
  })
})
