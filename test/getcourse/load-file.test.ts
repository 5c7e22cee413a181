import { createReadStream, createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import { fileURLToPath } from 'node:url'
import { createGzip } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config.js'
import { generateExportFile } from '../../src/simulators/getcourse/export-file.js'
import { readExport } from '../../src/sources/getcourse/export-reader.js'
import { loadFileSource } from '../../src/sources/getcourse/load-file.js'
import { createNormalizer } from '../../src/sources/getcourse/normalize.js'
import { runSync } from '../../src/sync.js'
import { createTestWarehouse, quietLog, type TestWarehouse } from '../support/database.js'

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/getcourse')
const config = parseConfig({ batchSize: 2000, getcourse: [{ name: 'school', account: 'school', key: 'file-test-key-123', timezone: 'Asia/Yekaterinburg' }] })

let wh: TestWarehouse
let dir: string
beforeAll(async () => {
  wh = await createTestWarehouse()
  dir = mkdtempSync(path.join(tmpdir(), 'gc-file-'))
})
afterAll(async () => {
  await wh?.dispose()
  rmSync(dir, { recursive: true, force: true })
})

const load = (opts: Parameters<typeof loadFileSource>[0]) =>
  runSync({ warehouse: wh, config, log: quietLog, clock: systemClock, sources: [loadFileSource(opts)] })

describe('load-file', () => {
  it('loads a gzipped users export through the same parser, normalizer and upsert', async () => {
    const plain = path.join(dir, 'users.json')
    const { rows } = await generateExportFile(plain, { stream: 'users', rows: 5000, seed: 7 })
    const gz = `${plain}.gz`
    await pipeline(createReadStream(plain), createGzip(), createWriteStream(gz))
    const res = await load({ account: 'school', stream: 'users', file: gz })
    expect(res.results[0]).toMatchObject({
      source: 'getcourse-file',
      stream: 'users',
      status: 'succeeded',
      counts: { read: rows, inserted: rows, rejected: 0 },
    })
    const again = await load({ account: 'school', stream: 'users', file: plain })
    expect(again.results[0]!.counts).toMatchObject({ read: rows, inserted: 0 })
    const sync = await wh.db.selectFrom('etl.stream_state').selectAll().where('source', '=', 'getcourse').execute()
    expect(sync).toHaveLength(0)
  })

  it('accepts just the info object, converts dates in the account zone, and quarantines bad rows', async () => {
    const info = JSON.parse(readFileSync(path.join(FIXTURES, 'deals-export.json'), 'utf8')).info
    const file = path.join(dir, 'deals-info.json')
    writeFileSync(file, JSON.stringify(info))
    const res = await load({ account: 'school', stream: 'deals', file })
    expect(res.results[0]).toMatchObject({ status: 'succeeded', counts: { read: 5, inserted: 3, rejected: 2 } })
    const deal = await wh.db.selectFrom('getcourse.deals').selectAll().where('id', '=', '187330214').executeTakeFirstOrThrow()
    // Asia/Yekaterinburg is UTC+5.
    expect(new Date(deal.created_at!).toISOString()).toBe('2025-12-02T06:37:37.000Z')
    expect(deal.tags).toEqual(['Вебинар', 'Запуск март'])
    const rejects = await wh.db.selectFrom('etl.rejects').selectAll().where('stream', '=', 'deals').execute()
    expect(rejects.map((r) => r.record_key).sort()).toEqual(['187330218', null].sort())
  })

  it('loads group members of a given group and rejects a file that is an error answer', async () => {
    const res = await load({ account: 'school', stream: 'group_members', file: path.join(FIXTURES, 'group-members-export.json'), groupId: 4848962 })
    expect(res.results[0]).toMatchObject({ status: 'succeeded', counts: { inserted: 2 } })
    const bad = await load({ account: 'school', stream: 'users', file: path.join(FIXTURES, 'export-not-ready.json') })
    expect(bad.results[0]).toMatchObject({ status: 'failed', errorCode: 'RESPONSE_INVALID' })
    expect(bad.results[0]!.message).toContain('909')
  })

  it('streams and normalizes a large export quickly with bounded batches', async () => {
    const file = path.join(dir, 'deals-big.json')
    const { rows, bytes } = await generateExportFile(file, { stream: 'deals', rows: 100_000, seed: 3 })
    const started = performance.now()
    let normalizer: ReturnType<typeof createNormalizer> | null = null
    let seen = 0
    let largest = 0
    for await (const event of readExport(createReadStream(file), { batchSize: 5000, label: 'bench' })) {
      if (!event.fields) continue
      normalizer ??= createNormalizer('deals', event.fields, { account: 'school', timeZone: 'Europe/Moscow' })
      for (const r of event.rows) if (normalizer.normalize(r as never).ok) seen++
      largest = Math.max(largest, event.rows.length)
    }
    const seconds = (performance.now() - started) / 1000
    console.info(`parse+normalize: ${Math.round(rows / seconds).toLocaleString('en')} deal rows/s, ${(bytes / 1e6 / seconds).toFixed(1)} MB/s`)
    expect(seen).toBe(rows)
    expect(largest).toBeLessThanOrEqual(5000)
  })
})
