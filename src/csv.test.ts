import { stringify } from 'csv-stringify/sync'
import { describe, expect, it } from 'vitest'
import { encodeCsv, type CsvFormat } from './csv.js'

const corpus: (string | null)[][] = [
  ['plain', 'Кириллица', '', null, '12 000,00'],
  ['a,b', 'a;b', 'say "hi"', '"', '""'],
  ['line\nbreak', 'cr\rhere', 'crlf\r\nboth', '\ttab', ' lead and trail '],
  ["'=1+2", '-15.50', '@x', '=', 'emoji 🙂'],
  [null, null, '', '', 'end'],
]

describe('encodeCsv', () => {
  for (const format of [{ delimiter: ',', eol: '\n' }, { delimiter: ';', eol: '\r\n' }] as CsvFormat[]) {
    it(`matches csv-stringify byte for byte (${JSON.stringify(format)})`, () => {
      const reference = stringify(corpus, {
        delimiter: format.delimiter,
        record_delimiter: format.eol,
        quoted_match: /[\r\n]/,
        cast: { string: (s: string) => (s === '' ? { value: '', quoted_empty: true } : s) },
      })
      expect(encodeCsv(corpus, format)).toBe(reference)
    })
  }
})
