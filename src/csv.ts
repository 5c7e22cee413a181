/**
 * RFC 4180 CSV encoding of record batches. Output is byte-identical to csv-stringify with
 * `{ quoted_match: /[\r\n]/ }` and empty strings quoted (src/csv.test.ts checks that on a hostile
 * corpus), but ~2× faster on wide tables, which is what lets `dump` keep up with Postgres' COPY.
 */
export interface CsvFormat {
  delimiter: ',' | ';'
  eol: '\n' | '\r\n'
}

/** NULL → bare empty field; '' → `""`; a field with the delimiter, a quote, CR or LF is quoted. */
export function encodeCsv(batch: readonly (readonly (string | null)[])[], format: CsvFormat): string {
  const special = format.delimiter === ';' ? /[";\r\n]/ : /[",\r\n]/
  let out = ''
  for (const record of batch) {
    for (let i = 0; i < record.length; i++) {
      if (i) out += format.delimiter
      const v = record[i]
      if (v === null || v === undefined) continue
      if (v === '') out += '""'
      else if (special.test(v)) out += `"${v.includes('"') ? v.replaceAll('"', '""') : v}"`
      else out += v
    }
    out += format.eol
  }
  return out
}
