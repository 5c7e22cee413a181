import { parse } from 'csv-parse/sync'
import { stringify } from 'csv-stringify/sync'
import { describe, expect, it } from 'vitest'
import { CopyCsvFramer, EXCEL, EXCEL_EN, PLAIN, encodeCsv, type CsvFormat } from './csv.js'

const corpus: (string | null)[][] = [
  ['plain', 'Кириллица', '', null, '12 000,00'],
  ['a,b', 'a;b', 'say "hi"', '"', '""'],
  ['line\nbreak', 'cr\rhere', 'crlf\r\nboth', '\ttab', ' lead and trail '],
  ["'=1+2", '-15.50', '@x', '=', 'emoji 🙂'],
  [null, null, '', '', 'end'],
]

const formats: CsvFormat[] = [
  { delimiter: ',', eol: '\n' },
  { delimiter: ';', eol: '\r\n' },
]

describe('encodeCsv', () => {
  for (const format of formats) {
    it(`matches csv-stringify byte for byte (${JSON.stringify(format)})`, () => {
      const reference = stringify(corpus, {
        delimiter: format.delimiter,
        record_delimiter: format.eol,
        quoted_match: /[,;\r\n]/,
        cast: { string: (s: string) => (s === '' ? { value: '', quoted_empty: true } : s) },
      })
      expect(encodeCsv(corpus, format)).toBe(reference)
    })

    // A spreadsheet set to the other separator splits an unquoted cell there: `Ivan;=1+1` in a comma
    // file would become a second cell holding a formula (issue 15 item 6).
    it(`quotes a cell holding either separator, a quote, CR or LF (${JSON.stringify(format)})`, () => {
      const cells = ['Ivan;=1+1', 'a,=2+2', 'say "hi"', 'cr\rhere', 'lf\nhere', 'plain']
      const text = encodeCsv([cells], format)
      expect(text).toBe(
        `"Ivan;=1+1"${format.delimiter}"a,=2+2"${format.delimiter}"say ""hi"""${format.delimiter}"cr\rhere"${format.delimiter}"lf\nhere"${format.delimiter}plain${format.eol}`,
      )
      expect(parse(text, { delimiter: format.delimiter, record_delimiter: format.eol })).toEqual([cells])
    })
  }
})

/** What `COPY … (format csv, delimiter D)` writes: quotes only for D, a quote, CR or LF; NULL bare; '' quoted. */
function postgresCsv(records: (string | null)[][], delimiter: ',' | ';'): string {
  const special = delimiter === ',' ? /[",\r\n]/ : /[";\r\n]/
  const field = (v: string | null) => (v === null ? '' : v === '' || special.test(v) ? `"${v.replaceAll('"', '""')}"` : v)
  return records.map((r) => `${r.map(field).join(delimiter)}\n`).join('')
}

async function frame(chunks: Buffer[], format: CsvFormat): Promise<{ text: string; rows: number }> {
  let rows = 0
  const framer = new CopyCsvFramer('h\n', format, (n) => (rows += n))
  const out: Buffer[] = []
  framer.on('data', (b: Buffer) => out.push(b))
  const ended = new Promise((resolve) => framer.on('end', resolve))
  for (const c of chunks) framer.write(c)
  framer.end()
  await ended
  return { text: Buffer.concat(out).toString('utf8'), rows }
}

describe('CopyCsvFramer (the COPY path of dump)', () => {
  const records = [...corpus, ['Ivan;=1+1', 'a,=2+2', 'x;y,z', ';', ','], ['«Телеграм», 10%', '"q";', null, '', 'last;']]
  for (const format of [PLAIN, EXCEL, EXCEL_EN]) {
    it(`turns Postgres' CSV into exactly what encodeCsv writes, however the chunks fall (${JSON.stringify(format)})`, async () => {
      const copy = Buffer.from(postgresCsv(records, format.delimiter))
      const expected = `h\n${encodeCsv(records, format)}`
      expect(await frame([copy], format)).toEqual({ text: expected, rows: records.length })
      // Every split point, including inside a multi-byte character, a quoted field and an unquoted one.
      for (let cut = 1; cut < copy.length; cut++) {
        expect((await frame([copy.subarray(0, cut), copy.subarray(cut)], format)).text, `cut at ${cut}`).toBe(expected)
      }
      const bytes = [...copy].map((b) => Buffer.from([b]))
      expect(await frame(bytes, format)).toEqual({ text: expected, rows: records.length })
    })
  }

  it('writes only the header for an empty table', async () => {
    expect(await frame([], PLAIN)).toEqual({ text: 'h\n', rows: 0 })
  })
})
