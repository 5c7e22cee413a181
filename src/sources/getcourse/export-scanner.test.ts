import { describe, expect, it } from 'vitest'
import { Rng } from '../../simulators/getcourse/random.js'
import { ExportScanner, MAX_DEPTH, UnreadableRow, type ExportRow } from './export-scanner.js'

/** JSON as PHP writes it: non-ASCII as \uXXXX, `/` as `\/`. */
const phpJson = (value: unknown) =>
  JSON.stringify(value).replace(/[\u0080-\uffff/]/g, (ch) => (ch === '/' ? '\\/' : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`))

interface Scanned {
  fields: unknown
  envelope: Record<string, unknown>
  rows: ExportRow[]
  total: number
}

function scan(body: string | Buffer, cuts: number[] = []): Scanned {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body
  const s = new ExportScanner()
  const rows: ExportRow[] = []
  let at = 0
  for (const cut of [...cuts, bytes.length]) {
    s.push(bytes.subarray(at, cut))
    rows.push(...s.take())
    at = cut
  }
  s.end()
  rows.push(...s.take())
  return { fields: s.fields, envelope: s.envelope, rows, total: s.total }
}

const fields = ['ID заказа', 'Теги', 'quote " and \\ backslash']
const items = [
  ['1', ['Вебинар', 'Запуск "март"'], 'a\\"b'],
  ['2', [], '\\'],
  ['3', [['nested', ['deep']], { k: '}]' }], 'ends with backslash \\\\'],
  ['4', [''], 'emoji 😀 «ёлка»\u00a0\n\t'],
]
const body = phpJson({ success: true, info: { fields, items } })
const expected = { fields, envelope: { success: true }, rows: items, total: items.length }

describe('ExportScanner', () => {
  it('reads the rows whatever the chunk boundaries: every split point of a sample', () => {
    const bytes = Buffer.from(body)
    for (let cut = 0; cut <= bytes.length; cut++) expect(scan(bytes, [cut])).toEqual(expected)
  })

  it('reads raw UTF-8 (multi-byte characters cut by a chunk boundary) and escapes like \\u0022', () => {
    const raw = `{"success":"true","info":{"fields":["Имя","Город"],"items":[["Анна \\u0022Ёж\\u0022","Москва \\"центр\\""],["\\\\\\"", "\\u0422\\/x"]]}}`
    const bytes = Buffer.from(raw)
    const want = {
      fields: ['Имя', 'Город'],
      envelope: { success: 'true' },
      rows: [
        ['Анна "Ёж"', 'Москва "центр"'],
        ['\\"', 'Т/x'],
      ],
      total: 2,
    }
    for (let cut = 0; cut <= bytes.length; cut++) expect(scan(bytes, [cut])).toEqual(want)
    expect(
      scan(
        bytes,
        Array.from({ length: bytes.length }, (_, i) => i),
      ),
    ).toEqual(want) // one byte per chunk
  })

  it('reads the rows whatever the chunk sizes: random splits', () => {
    const rng = new Rng(7)
    const bytes = Buffer.from(body)
    for (let round = 0; round < 200; round++) {
      const cuts: number[] = []
      for (let at = rng.int(0, 9); at < bytes.length; at += rng.int(1, 12)) cuts.push(at)
      expect(scan(bytes, cuts)).toEqual(expected)
    }
  })

  it('reads a saved info object, a sparse items object, non-array rows, and skips unknown keys', () => {
    expect(scan(phpJson({ fields, items }))).toEqual({ ...expected, envelope: {} })
    const sparse = '{"success":true,"meta":{"x":["]",{"y":"}"}]},"info":{"extra":[[1]],"fields":["a"],"items":{"0":["x"],"5":["y"]}}}'
    expect(scan(sparse)).toMatchObject({ fields: ['a'], rows: [['x'], ['y']], total: 2 })
    expect(scan('{"info":{"fields":["a"],"items":["x",7,null,{"o":1}]}}').rows).toEqual([['x'], [7], [null], [{ o: 1 }]])
    expect(scan('\ufeff { "info" : { "items" : [ ] , "fields" : [ ] } } \n')).toMatchObject({ fields: [], rows: [] })
  })

  it('reads an error envelope', () => {
    const res = scan('{"success":false,"error":true,"error_code":909,"error_message":"Файл еще не создан","info":null}')
    expect(res).toEqual({
      fields: undefined,
      envelope: { success: false, error: true, error_code: 909, error_message: 'Файл еще не создан' },
      rows: [],
      total: 0,
    })
  })

  it('parses many rows in sub-batches, in order', () => {
    const many = Array.from({ length: 20_000 }, (_, i) => [String(i), `Иванов ${i}`, ['t']])
    const bytes = Buffer.from(phpJson({ success: true, info: { fields: ['id', 'name', 'tags'], items: many } }))
    const cuts = Array.from({ length: Math.floor(bytes.length / 65536) }, (_, i) => (i + 1) * 65536)
    const res = scan(bytes, cuts)
    expect(res.total).toBe(many.length)
    expect(res.rows).toEqual(many)
  })

  it('keeps a 10 MB cell read across many chunks', () => {
    const big = 'Ж'.repeat(5_000_000) + '\\"' + 'x'.repeat(1_000_000)
    const bytes = Buffer.from(
      JSON.stringify({
        info: {
          fields: ['a', 'b'],
          items: [
            ['1', big],
            ['2', 'small'],
          ],
        },
      }),
    )
    const cuts = Array.from({ length: Math.floor(bytes.length / 16384) }, (_, i) => (i + 1) * 16384)
    const res = scan(bytes, cuts)
    expect(res.rows.length).toBe(2)
    expect((res.rows[0] as unknown[])[1]).toBe(big)
  })

  it('keeps NUL escapes and turns invalid UTF-8 into U+FFFD', () => {
    const bytes = Buffer.concat([Buffer.from('{"info":{"fields":["a"],"items":[["x\\u0000y"],["bad '), Buffer.from([0xff, 0xc3]), Buffer.from('"]]}}')])
    expect(scan(bytes).rows).toEqual([['x\u0000y'], ['bad \ufffd\ufffd']])
  })

  it('hands a row nested deeper than MAX_DEPTH on as unreadable, with its id, and keeps the rows around it', () => {
    const deep = `{"info":{"fields":["id","x"],"items":[["1","a"],["2",${'['.repeat(5000)}${']'.repeat(5000)}],["3","c"]]}}`
    for (const cuts of [[], [40], [45, 5030, 10_040]]) {
      const { rows, total } = scan(deep, cuts)
      expect(total).toBe(3)
      expect(rows[0]).toEqual(['1', 'a'])
      expect(rows[1]).toBeInstanceOf(UnreadableRow)
      expect(rows[1]).toMatchObject({ recordKey: '2', reason: 'row 2 nests deeper than 64 levels' })
      expect(rows[2]).toEqual(['3', 'c'])
    }
  })

  it('refuses a body cut off at any point', () => {
    const bytes = Buffer.from(body)
    for (let len = 0; len < bytes.length; len++) {
      // Whitespace-only tails aside, every prefix is incomplete.
      expect(() => scan(bytes.subarray(0, len)), `cut at ${len}`).toThrow(/ended|empty|not valid JSON/)
    }
  })

  it('refuses what is not an export: HTML, garbage, bad rows, trailing bytes, too deep nesting', () => {
    expect(() => scan('<html><body>502 Bad Gateway</body></html>')).toThrow(/not a JSON object \(it starts with "<"\)/)
    expect(() => scan('[1,2]')).toThrow(/not a JSON object/)
    expect(() => scan('{"info":{"fields":["a"],"items":[["x"] ["y"]]}}')).toThrow(/expected "," or the end of items after row 1/)
    expect(() => scan('{"info":{"fields":["a"],"items":[["x",]]}}')).toThrow(/rows 1–1 is not valid JSON/)
    expect(() => scan('{"info":{"fields":["a"],"items":[["x"}]}}')).toThrow(/not valid JSON/)
    expect(() => scan('{"info":{"fields":["a"],"items":[]}}xyz')).toThrow(/after the end of the body/)
    expect(() => scan('{"success":tru}')).toThrow(/"success" is not valid JSON/)
    expect(() => scan('{"success" true}')).toThrow(/expected ":"/)
    const deepFields = `{"info":{"fields":[${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}],"items":[]}}`
    expect(() => scan(deepFields)).toThrow(/nests deeper than 64 levels/)
    const ok = `{"info":{"fields":["a"],"items":[[${'['.repeat(MAX_DEPTH - 2)}${']'.repeat(MAX_DEPTH - 2)}]]}}`
    expect(scan(ok).total).toBe(1)
  })
})
