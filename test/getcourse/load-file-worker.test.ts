/**
 * `load-file` on a server parses, normalizes and encodes in a worker thread and hands the main
 * thread COPY text (`TableWrite.encoded`); on an embedded warehouse it does the same work in-thread
 * and upserts row objects. Both must store exactly the same thing, quarantine the same rows, and
 * keep the same whole batches of a file that breaks off.
 */
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { once } from 'node:events'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { finished } from 'node:stream/promises'
import { sql } from 'kysely'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { realisticFields, realisticRows } from '../../bench/realistic-export.js'
import { systemClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config.js'
import { openWarehouse, type Warehouse } from '../../src/db/index.js'
import { migrateToLatest } from '../../src/db/migrate.js'
import { readyExportChunks } from '../../src/simulators/getcourse/php-json.js'
import type { Cell } from '../../src/simulators/getcourse/columns.js'
import { loadFileSource } from '../../src/sources/getcourse/load-file.js'
import { runSync } from '../../src/sync.js'
import { createTestWarehouse, hasServer, quietLog, type TestWarehouse } from '../support/database.js'

const server = await hasServer()
const config = parseConfig({ batchSize: 2000, getcourse: [{ name: 'school', account: 'school', key: 'file-test-key-123', timezone: 'Asia/Yekaterinburg' }] })

let dir: string
let onServer: TestWarehouse
let embedded: Warehouse
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'gc-file-worker-'))
  onServer = await createTestWarehouse()
  embedded = await openWarehouse({ memory: true, log: quietLog })
  await migrateToLatest(embedded, quietLog)
})
afterAll(async () => {
  await onServer?.dispose()
  await embedded?.close()
  rmSync(dir, { recursive: true, force: true })
})

/** A realistic export (Cyrillic custom fields, a repeated and a blank title, zero dates, tags with commas and quotes) with broken rows mixed in. */
async function writeExport(file: string, stream: 'users' | 'deals', rows: number): Promise<number> {
  const fields = realisticFields(stream)
  const created = fields.indexOf(stream === 'users' ? 'Создан' : 'Дата создания')
  const bad = new Map<number, (row: Cell[]) => Cell[]>([
    [17, (r) => ['not-an-id', ...r.slice(1)]],
    [2501, (r) => r.map((c, i) => (i === created ? '2025-02-30 10:00:00' : c))],
    [4999, () => ['']],
  ])
  // Readable rows that are hard to write as COPY text: every one must be stored as the row-object path stores it.
  const name = fields.indexOf(stream === 'users' ? 'Имя' : 'Пользователь')
  const custom = fields.indexOf(stream === 'users' ? 'Сфера деятельности' : 'Чем занимаешься?')
  const hard: ((row: Cell[]) => Cell[])[] = [
    // Escapes in typed text and in extra: tab, line breaks, backslashes, NUL, `\N`, a lone surrogate, quotes, commas.
    (r) => r.map((c, i) => (i === name ? ' Tab\there\nnew\r\\N «ё» \u0000x ' : i === custom ? 'a\\b\u0000c\ud800d "q", e\tf' : c)),
    // Times: before 1916 (local mean time, +04:02:33 in Yekaterinburg), in the 2010 DST gap and overlap, without seconds, with T, a date alone.
    (r) => r.map((c, i) => (i === created ? '1910-05-05 10:00:00' : c)),
    (r) => r.map((c, i) => (i === created ? '2010-03-28 02:30:00' : c)),
    (r) => r.map((c, i) => (i === created ? '2010-10-31 02:30:00' : c)),
    (r) => r.map((c, i) => (i === created ? '2024-05-01 10:00' : c)),
    (r) => r.map((c, i) => (i === created ? '2024-05-01T23:59:59' : c)),
    (r) => r.map((c, i) => (i === created ? ' 2024-05-01 ' : c)),
    // A zero date (kept in extra), a blank one, and more cells than titles.
    (r) => r.map((c, i) => (i === created ? '0000-00-00 00:00:00' : c)),
    (r) => r.map((c, i) => (i === created ? '' : c)),
    (r) => [...r, 'past the titles', 'ещё'],
  ]
  for (const [k, f] of hard.entries()) bad.set(40 + k, f)
  const source = (function* () {
    let i = 0
    for (const row of realisticRows(stream, rows, 5)) {
      const broken = bad.get(i++)
      yield broken ? broken(row) : row
    }
  })()
  const out = createWriteStream(file)
  for (const chunk of readyExportChunks(fields, source)) if (!out.write(chunk, 'latin1')) await once(out, 'drain')
  out.end()
  await finished(out)
  return bad.size - hard.length
}

const load = (warehouse: Warehouse, stream: 'users' | 'deals', file: string) =>
  runSync({ warehouse, config, log: quietLog, clock: systemClock, sources: [loadFileSource({ account: 'school', stream, file })] })

/** Every stored row as JSON without the load time, sorted. */
async function rowsOf(warehouse: Warehouse, table: string): Promise<string[]> {
  const { rows } = await sql<{ r: string }>`select (to_jsonb(t) - 'synced_at')::text as r from ${sql.table(table)} t order by 1`.execute(warehouse.db)
  return rows.map((x) => x.r)
}
async function rejectsOf(warehouse: Warehouse, stream: string): Promise<unknown[]> {
  const { rows } = await sql<{ key: string | null; reason: string; raw: string }>`
    select record_key as key, reason, raw::text as raw from etl.rejects where stream = ${stream} order by record_key nulls first, reason`.execute(warehouse.db)
  return rows
}

describe.runIf(server || !!process.env.CI)('load-file in a worker thread (server) against in-thread (embedded)', () => {
  for (const [stream, table, rows] of [
    ['users', 'getcourse.users', 7_777],
    ['deals', 'getcourse.deals', 6_543],
  ] as const) {
    it(`${stream}: the same rows, the same rejects, the same counts, and a re-load changes nothing`, { timeout: 120_000 }, async () => {
      const file = path.join(dir, `${stream}.json`)
      const broken = await writeExport(file, stream, rows)
      const a = (await load(onServer, stream, file)).results[0]!
      const b = (await load(embedded, stream, file)).results[0]!
      expect(a).toMatchObject({ status: 'succeeded', counts: { read: rows, inserted: rows - broken, rejected: broken } })
      expect(b.counts).toEqual(a.counts)
      const stored = await rowsOf(onServer, table)
      expect(stored).toHaveLength(rows - broken)
      expect(stored).toEqual(await rowsOf(embedded, table))
      expect(stored.some((r) => /[А-Яа-яЁё]/.test(r))).toBe(true)
      // The hard rows, as the source said them (and the same on both paths, above).
      const [nameColumn, custom] = stream === 'users' ? ['first_name', 'Сфера деятельности'] : ['user_name', 'Чем занимаешься?']
      const { rows: hard } = await sql<{ lmt: number; named: number; extra: number; zero: number; wide: number }>`
        select count(*) filter (where created_at = '1910-05-05 05:57:27+00')::int as lmt,
               count(*) filter (where ${sql.ref(nameColumn)} = ${'Tab\there\nnew\r\\N «ё» x'})::int as named,
               count(*) filter (where extra ->> ${custom} = ${'a\\bc\ufffdd "q", e\tf'})::int as extra,
               count(*) filter (where created_at is null and extra ->> ${stream === 'users' ? 'Создан' : 'Дата создания'} = '0000-00-00 00:00:00')::int as zero,
               count(*) filter (where extra ->> ${`column_${realisticFields(stream).length + 2}`} = 'ещё')::int as wide
        from ${sql.table(table)}`.execute(onServer.db)
      expect(hard[0]).toEqual({ lmt: 1, named: 1, extra: 1, zero: 1, wide: 1 })
      expect(await rejectsOf(onServer, stream)).toEqual(await rejectsOf(embedded, stream))
      expect((await rejectsOf(onServer, stream)).length).toBe(broken)
      const again = (await load(onServer, stream, file)).results[0]!
      expect(again.counts).toMatchObject({ read: rows, inserted: 0, updated: 0, unchanged: rows - broken })
    })
  }

  it('a file that breaks off: the whole batches before the break stay, the run fails with RESPONSE_INVALID', { timeout: 60_000 }, async () => {
    const full = path.join(dir, 'users-whole.json')
    await writeExport(full, 'users', 9_000)
    const cut = path.join(dir, 'users-cut.json')
    const bytes = readFileSync(full)
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)))
    await sql`truncate getcourse.users`.execute(onServer.db)
    const res = (await load(onServer, 'users', cut)).results[0]!
    expect(res).toMatchObject({ status: 'failed', errorCode: 'RESPONSE_INVALID' })
    // 2,000-row batches: 5,400 rows fit in the first 60 % (two broken rows among them), so two whole batches were committed.
    expect(res.counts.read).toBe(4000)
    const { rows } = await sql<{ n: number }>`select count(*)::int as n from getcourse.users`.execute(onServer.db)
    expect(rows[0]!.n).toBe(4000 - 2)
  })
})
