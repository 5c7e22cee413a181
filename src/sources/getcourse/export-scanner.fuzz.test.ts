import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { EtlError } from '../../errors.js'
import { readExport } from './export-reader.js'
import { ExportScanner, ExportSyntaxError, MAX_DEPTH, UnreadableRow, type ExportRow } from './export-scanner.js'

/**
 * Property-based fuzzing of the export scanner (issue #15): valid bodies built from hostile strings,
 * then truncated, spliced and cut into random chunks. Deterministic: a fixed seed (FUZZ_SEED and
 * FUZZ_RUNS override it for a longer local hunt); a failure prints the seed and the shrunk input.
 */
const SEED = Number(process.env.FUZZ_SEED ?? 15_0701)
const RUNS = Number(process.env.FUZZ_RUNS ?? 400)
/** No single body of a few KB may take longer than this to scan (a hang or a quadratic path). */
const MAX_MS_PER_CASE = 1000

/** Characters that break naive JSON scanners: quotes, escapes, separators, brackets, NUL, lone surrogates, Cyrillic. */
const nasty = fc.constantFrom(
  '"',
  '\\',
  '\\\\',
  '\\"',
  ',',
  ':',
  '[',
  ']',
  '{',
  '}',
  '\u0000',
  '\ud800',
  '\udfff',
  '\ud83d',
  '😀',
  'Ж',
  'ё',
  '«',
  '\n',
  '\t',
  ' ',
  '\u2028',
  '\ufeff',
  '/',
  'u0022',
  '\\u',
)
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.array(fc.oneof(nasty, fc.string({ unit: 'grapheme', maxLength: 4 })), { maxLength: 8 }).map((parts) => parts.join('')),
)
const cell = fc.oneof(
  { weight: 6, arbitrary: text },
  { weight: 1, arbitrary: fc.array(text, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, 0, -1.5, 1e21, true) },
)
/** A cell nested past MAX_DEPTH: its row is handed on as an UnreadableRow, never dropped. */
const tooDeep = fc.integer({ min: MAX_DEPTH, max: MAX_DEPTH + 20 }).map((depth) => {
  let v: unknown = 'x'
  for (let i = 0; i < depth; i++) v = [v]
  return v
})
const row = fc.oneof({ weight: 12, arbitrary: fc.array(cell, { maxLength: 6 }) }, { weight: 1, arbitrary: fc.tuple(text, tooDeep) })

/** JSON as PHP writes it: non-ASCII as \uXXXX, `/` as `\/`. */
const phpJson = (value: unknown) =>
  JSON.stringify(value).replace(/[\u0080-\uffff/]/g, (ch) => (ch === '/' ? '\\/' : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`))

interface Export {
  fields: string[]
  items: unknown[][]
  bytes: Buffer
}
const exportBody = fc
  .record({
    fields: fc.array(text, { maxLength: 6 }),
    items: fc.array(row, { maxLength: 12 }),
    php: fc.boolean(),
    envelope: fc.constantFrom('ready', 'saved', 'extra keys'),
  })
  .map(({ fields, items, php, envelope }): Export => {
    const info = envelope === 'extra keys' ? { meta: { '}': ['"]'] }, fields, skipped: [[1, '['], {}], items } : { fields, items }
    const body = envelope === 'saved' ? info : { success: true, info, padding: '{"x":[' }
    return { fields, items, bytes: Buffer.from(php ? phpJson(body) : JSON.stringify(body), 'utf8') }
  })

/** Random chunk boundaries: sorted, within the body. */
const cutsFor = (length: number) => fc.uniqueArray(fc.integer({ min: 0, max: Math.max(0, length) }), { maxLength: 40 }).map((c) => c.sort((a, b) => a - b))

type Outcome = { ok: true; fields: unknown; rows: ExportRow[]; total: number } | { ok: false; error: unknown; rows: ExportRow[] }

function scan(bytes: Buffer, cuts: readonly number[]): Outcome {
  const scanner = new ExportScanner()
  const rows: ExportRow[] = []
  let at = 0
  try {
    for (const cut of [...cuts, bytes.length]) {
      scanner.push(bytes.subarray(at, cut))
      rows.push(...scanner.take())
      at = cut
    }
    scanner.end()
  } catch (error) {
    rows.push(...scanner.take())
    return { ok: false, error, rows }
  }
  rows.push(...scanner.take())
  return { ok: true, fields: scanner.fields, rows, total: scanner.total }
}

function timed<T>(run: () => T): T {
  const started = performance.now()
  const out = run()
  expect(performance.now() - started, 'one case took too long (hang or quadratic scan)').toBeLessThan(MAX_MS_PER_CASE)
  return out
}

/** What a row of the items should come out as: an UnreadableRow when too deep, else the row itself. */
const expectedRow = (item: unknown[]) => (depthOf(item) > MAX_DEPTH ? UnreadableRow : item)
function depthOf(v: unknown): number {
  return Array.isArray(v) ? 1 + Math.max(0, ...v.map(depthOf)) : 0
}

const params = { seed: SEED, numRuns: RUNS }

describe('ExportScanner fuzz', () => {
  it('reads every row of a valid body, whatever its strings and chunk boundaries: rows out + unreadable rows = items in', () => {
    fc.assert(
      fc.property(
        exportBody.chain((e) => fc.tuple(fc.constant(e), cutsFor(e.bytes.length))),
        ([e, cuts]) => {
          const out = timed(() => scan(e.bytes, cuts))
          if (!out.ok) throw out.error
          expect(out.fields).toEqual(e.fields)
          expect(out.total).toBe(e.items.length)
          expect(out.rows.length).toBe(e.items.length)
          out.rows.forEach((r, i) => {
            const want = expectedRow(e.items[i]!)
            if (want === UnreadableRow) {
              expect(r).toBeInstanceOf(UnreadableRow)
              // Quarantined into etl.rejects: reason and record key are text, which cannot hold NUL.
              expect((r as unknown as UnreadableRow).reason).not.toContain('\u0000')
              expect((r as unknown as UnreadableRow).recordKey ?? '').not.toContain('\u0000')
            }
            // JSON round trip: -0 → 0, and what JSON.stringify writes for lone surrogates reads back the same.
            else expect(r).toEqual(JSON.parse(JSON.stringify(want)))
          })
        },
      ),
      params,
    )
  })

  it('refuses a truncated body with ExportSyntaxError, never a crash, and never loses a row it framed', () => {
    fc.assert(
      fc.property(
        exportBody.chain((e) => fc.tuple(fc.constant(e), fc.integer({ min: 0, max: e.bytes.length - 1 }), cutsFor(e.bytes.length))),
        ([e, length, cuts]) => {
          const cut = e.bytes.subarray(0, length)
          const out = timed(() =>
            scan(
              cut,
              cuts.filter((c) => c <= length),
            ),
          )
          // Only whitespace may be missing from a body that still reads whole.
          if (out.ok) expect(e.bytes.subarray(length).toString('utf8').trim()).toBe('')
          else {
            expect(out.error).toBeInstanceOf(ExportSyntaxError)
            // Rows handed out before the error are a prefix of the items (each loaded or quarantined).
            expect(out.rows.length).toBeLessThanOrEqual(e.items.length)
            out.rows.forEach((r, i) =>
              (r as unknown) instanceof UnreadableRow
                ? expect(expectedRow(e.items[i]!)).toBe(UnreadableRow)
                : expect(r).toEqual(JSON.parse(JSON.stringify(e.items[i]))),
            )
          }
        },
      ),
      params,
    )
  })

  it('reads a mutated body the same whatever its chunking: the same rows, or an ExportSyntaxError', () => {
    const mutation = fc.oneof(
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        bytes: fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 6 }),
          nasty.map((s) => Buffer.from(s)),
        ),
      }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 8 }) }),
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
    )
    fc.assert(
      fc.property(exportBody, fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.array(fc.nat(), { maxLength: 30 }), (e, mutations, rawCuts) => {
        let bytes = e.bytes
        for (const m of mutations) {
          const at = m.at % (bytes.length + 1)
          if (m.kind === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)])
          else if (m.kind === 'delete') bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.length)])
          else if (at < bytes.length) (bytes = Buffer.from(bytes))[at] = m.byte
        }
        const cuts = [...new Set(rawCuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
        const whole = timed(() => scan(bytes, []))
        const chunked = timed(() => scan(bytes, cuts))
        for (const out of [whole, chunked]) {
          if (!out.ok) expect(out.error).toBeInstanceOf(ExportSyntaxError)
          else {
            expect(out.rows.length).toBe(out.total)
            for (const r of out.rows) expect(Array.isArray(r) || (r as unknown) instanceof UnreadableRow).toBe(true)
          }
        }
        expect(chunked.ok).toBe(whole.ok)
        if (whole.ok && chunked.ok) {
          expect(chunked.fields).toEqual(whole.fields)
          expect(chunked.rows).toEqual(whole.rows)
        }
      }),
      params,
    )
  })

  it('readExport: batches add up to the total of a valid body, a broken one fails with RESPONSE_INVALID naming the rows read', async () => {
    const chunks = async function* (bytes: Buffer, cuts: readonly number[]) {
      let at = 0
      for (const cut of [...cuts, bytes.length]) {
        yield new Uint8Array(bytes.subarray(at, cut))
        at = cut
      }
    }
    await fc.assert(
      fc.asyncProperty(
        exportBody.chain((e) => fc.tuple(fc.constant(e), cutsFor(e.bytes.length), fc.integer({ min: 0, max: e.bytes.length }), fc.integer({ min: 1, max: 5 }))),
        async ([e, cuts, keep, batchSize]) => {
          const bytes = keep === e.bytes.length ? e.bytes : e.bytes.subarray(0, keep)
          let rows = 0
          let failure: unknown = null
          try {
            for await (const event of readExport(
              chunks(
                bytes,
                cuts.filter((c) => c <= keep),
              ),
              { batchSize, label: 'export fuzz' },
            )) {
              if (event.type === 'rows') expect(event.rows.length).toBe(batchSize)
              rows += event.rows.length
              if (event.type === 'end') expect(event.total).toBe(rows)
            }
          } catch (err) {
            failure = err
          }
          if (failure === null) {
            expect(keep === e.bytes.length || e.bytes.subarray(keep).toString('utf8').trim() === '', 'a cut-off body was read as whole').toBe(true)
            expect(rows).toBe(e.items.length)
          } else {
            expect(failure).toBeInstanceOf(EtlError)
            expect(failure).toMatchObject({
              code: 'RESPONSE_INVALID',
              message: expect.stringMatching(/^export fuzz: the body was cut off or is not JSON after \d+ rows \(/),
            })
            expect(keep).toBeLessThan(e.bytes.length)
          }
        },
      ),
      { ...params, numRuns: Math.ceil(RUNS / 2) },
    )
  })

  // Found by this fuzzer: a row nested past MAX_DEPTH whose first cell holds a NUL escape became an
  // UnreadableRow whose key held a real NUL, which etl.rejects.record_key (text) cannot store.
  it("an unreadable row's record key holds no NUL", () => {
    const body = Buffer.from(`{"info":{"fields":["id","x"],"items":[["1\\u00002",${'['.repeat(MAX_DEPTH + 1)}${']'.repeat(MAX_DEPTH + 1)}]]}}`)
    const out = scan(body, [])
    if (!out.ok) throw out.error
    const row = out.rows[0] as unknown as UnreadableRow
    expect(row).toBeInstanceOf(UnreadableRow)
    expect(row.recordKey).not.toContain('\u0000')
  })
})
