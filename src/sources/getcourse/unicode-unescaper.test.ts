import { describe, expect, it } from 'vitest'
import { Rng } from '../../simulators/getcourse/random.js'
import { UnicodeUnescaper } from './unicode-unescaper.js'

/** JSON as PHP writes it: non-ASCII as \uXXXX, `/` as `\/`. */
const phpJson = (value: unknown) => JSON.stringify(value).replace(/[\u0080-\uffff/]/g, (ch) => (ch === '/' ? '\\/' : `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`))

function unescapeInChunks(text: string, sizes: () => number): string {
  const bytes = Buffer.from(text, 'utf8')
  const u = new UnicodeUnescaper()
  const parts: Uint8Array[] = []
  for (let i = 0; i < bytes.length; ) {
    const n = Math.max(1, sizes())
    parts.push(u.push(bytes.subarray(i, i + n)))
    i += n
  }
  parts.push(u.end())
  return Buffer.concat(parts).toString('utf8')
}

describe('UnicodeUnescaper', () => {
  const value = {
    success: true,
    info: {
      fields: ['ID заказа', 'Стоимость, RUB', 'quote " and \\ backslash', 'ctl \u0001\t\n', 'emoji 😀 and lone \ud800 x', '\\u0430 literal'],
      items: [['Анна «Смирнова»', 'Ёжик — 12\u00a0000,00', 'https://t.me/x', '\\', '\\\\u0431']],
    },
  }
  const text = phpJson(value)

  it('keeps the meaning of the JSON whatever the chunk boundaries', () => {
    const rng = new Rng(42)
    for (const size of [1, 2, 3, 5, 7, 11, 64]) expect(JSON.parse(unescapeInChunks(text, () => size))).toEqual(value)
    for (let round = 0; round < 50; round++) expect(JSON.parse(unescapeInChunks(text, () => rng.int(1, 20)))).toEqual(value)
  })

  it('turns Cyrillic escapes into UTF-8 and leaves ASCII escapes alone', () => {
    const out = unescapeInChunks(phpJson(['Да "x"\u0001']), () => 1000)
    expect(out).toBe('["Да \\"x\\"\\u0001"]')
  })
})
