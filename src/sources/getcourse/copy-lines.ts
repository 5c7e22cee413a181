/**
 * Export rows straight to COPY text lines, for the `load-file` worker (file-worker.ts): the same
 * reading of each cell as `createNormalizer` (one `NormalizePlan`), without the row object in
 * between. Each column's text is written by its kind, known once per export: ids, amounts and
 * dates need no escaping, timestamps are written with their UTC offset (`LocalTime.timestampText`,
 * no Date object per cell), text is escaped for COPY, `extra` is JSON (bench/RESULTS.md, finding 16).
 * What Postgres stores is exactly what the row-object path stores (test/getcourse/load-file-worker.test.ts).
 */
import { arrayLiteral, copyEscape, toPgJson } from '../../db/copy-text.js'
import { EtlError } from '../../errors.js'
import type { ExportStream } from './columns.js'
import { compilePlan, type NormalizeContext, type NormalizeResult } from './normalize.js'
import type { Cell } from './values.js'

export interface LineEncoder {
  /** The columns of every line, in order: `account`, the typed and derived columns, `extra`. */
  readonly columns: readonly string[]
  /**
   * The row's COPY line (with its newline), its key values appended to `keys` as text; or the
   * row's reject, as `normalize` gives it.
   */
  encode(cells: readonly Cell[], keys: (string | null)[]): string | NormalizeResult
}

type Line = (values: readonly unknown[], cells: readonly Cell[]) => string

/**
 * Compiles the line writer for one export. `types` gives each column's SQL type: every column must
 * exist, and only `extra` may be JSON (what the kinds below write).
 */
export function createLineEncoder(
  stream: ExportStream,
  fields: readonly unknown[],
  ctx: NormalizeContext,
  key: readonly string[],
  types: Readonly<Record<string, string>>,
): LineEncoder {
  const plan = compilePlan(stream, fields, ctx)
  const columns = ['account', ...plan.columns, 'extra']
  for (const c of columns) {
    const type = types[c]
    if (type === undefined) throw new EtlError('USAGE', `the table of ${stream} has no column ${c}`)
    if ((type === 'json' || type === 'jsonb') !== (c === 'extra')) throw new EtlError('USAGE', `the table of ${stream}: column ${c} is ${type}`)
  }
  const parts = plan.kinds.map((kind, t) => {
    const v = `values[${t}]`
    switch (kind) {
      // Digits, numeric text, ISO dates: nothing to escape.
      case 'key':
      case 'id':
      case 'money':
      case 'date':
      case 'int':
        return `(${v} ?? "\\\\N")`
      case 'flag':
        return `(${v} == null ? "\\\\N" : ${v} ? "t" : "f")`
      case 'datetime':
        return `(${v} == null ? "\\\\N" : ts(${v}))`
      case 'tags':
        return `(${v} == null ? "\\\\N" : esc(arr(${v})))`
      case 'text':
        return `(${v} == null ? "\\\\N" : esc(${v}))`
    }
  })
  const account = JSON.stringify(`${copyEscape(ctx.account)}\t`)
  const body = `return (values, cells) => ${account} + ${parts.map((p) => `${p} + "\\t" + `).join('')}extra(cells) + "\\n"`
  const { time, values } = plan
  const line = new Function('ts', 'esc', 'arr', 'extra', body)(
    (wallMs: number) => time.timestampText(wallMs),
    copyEscape,
    arrayLiteral,
    (cells: readonly Cell[]) => copyEscape(toPgJson(plan.extra(cells))),
  ) as Line
  const keySlots = key.map((k) => (k === 'account' ? -1 : plan.columns.indexOf(k)))
  if (keySlots.some((s, j) => s < 0 && key[j] !== 'account')) throw new EtlError('USAGE', `the rows of ${stream} lack a key column of ${key.join(', ')}`)

  return {
    columns,
    encode(cells, keys) {
      const reject = plan.convert(cells)
      if (reject) return reject
      for (const s of keySlots) {
        const v = s < 0 ? ctx.account : values[s]
        keys.push(v === null || v === undefined ? null : String(v))
      }
      return line(values, cells)
    },
  }
}
