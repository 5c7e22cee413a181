import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { EtlError } from '../../errors.js'
import { readyExportChunks } from '../../simulators/getcourse/php-json.js'
import { readExport, type ExportEvent } from './export-reader.js'

const dir = mkdtempSync(path.join(tmpdir(), 'export-reader-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** Chunks as `Readable.fromWeb` yields them: plain Uint8Arrays, cut at arbitrary points. */
async function* body(text: string, size = 7): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  for (let i = 0; i < bytes.length; i += size) yield bytes.slice(i, i + size)
}

async function collect(events: AsyncIterable<ExportEvent>): Promise<ExportEvent[]> {
  const out: ExportEvent[] = []
  for await (const e of events) out.push(e)
  return out
}

const fields = ['ID', 'Имя', 'Теги']
const rows = Array.from({ length: 23 }, (_, i) => [String(i + 1), `Анна ${i}`, i % 2 ? ['a', 'б'] : []])
const ready = [...readyExportChunks(fields, rows, { chunkChars: 50 })].join('')

describe('readExport', () => {
  it('yields batches of at most batchSize, then the rest with the total', async () => {
    const events = await collect(readExport(body(ready), { batchSize: 5, label: 'export 1' }))
    expect(events.every((e) => e.rows.length <= 5 && e.fields?.length === 3)).toBe(true)
    expect(events.flatMap((e) => e.rows)).toEqual(rows)
    expect(events.at(-1)).toMatchObject({ type: 'end', total: 23, error: null })
  })

  it('tees the body into a gzip archive, renamed into place when complete', async () => {
    const archivePath = path.join(dir, 'ok', '1.json.gz')
    await collect(readExport(body(ready, 1000), { batchSize: 5000, label: 'export 1', archivePath }))
    expect(gunzipSync(readFileSync(archivePath)).toString('utf8')).toBe(ready)
    expect(readdirSync(path.dirname(archivePath))).toEqual(['1.json.gz'])
  })

  it('reports an error envelope and archives nothing', async () => {
    const archivePath = path.join(dir, 'err', '2.json.gz')
    const events = await collect(
      readExport(body('{"success":false,"error_code":"909","error_message":"Файл еще не создан"}'), { batchSize: 5, label: 'export 2', archivePath }),
    )
    expect(events).toEqual([{ type: 'end', fields: null, rows: [], total: 0, error: { code: 909, message: 'Файл еще не создан' } }])
    expect(existsSync(archivePath)).toBe(false)
  })

  it('fails a cut-off body or an HTML page with RESPONSE_INVALID and removes the partial archive', async () => {
    const archivePath = path.join(dir, 'cut', '3.json.gz')
    const cut = [...readyExportChunks(fields, rows, { cutAfterRows: 12, chunkChars: 50 })].join('')
    const err = await collect(readExport(body(cut), { batchSize: 5, label: 'export 3', archivePath })).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(EtlError)
    expect(err).toMatchObject({
      code: 'RESPONSE_INVALID',
      message: expect.stringMatching(/^export 3: the body was cut off or is not JSON after 12 rows \(the body ended inside items/),
    })
    expect(readdirSync(path.dirname(archivePath))).toEqual([])
    await expect(collect(readExport(body('<html>502</html>'), { batchSize: 5, label: 'export 4' }))).rejects.toThrow(
      /after 0 rows \(the body is not a JSON object/,
    )
  })
})
