import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'

/** True when LibreOffice is installed (CI installs it; the spreadsheet tests run there whatever). */
export const hasCalc = spawnSync('soffice', ['--version']).status === 0

/** A cell as LibreOffice Calc holds it after opening the file. */
export interface CalcCell {
  type: 'float' | 'date' | 'string' | 'boolean' | 'percentage' | 'currency' | 'time' | 'empty'
  /** float: office:value; date: office:date-value; boolean: true/false; string: the text. */
  value: string
  /** Set when Calc turned the cell into a formula (a dump must never let that happen). */
  formula?: string
}

/** LibreOffice's CSV filter: separator, `"`, UTF-8, from line 1, language, quoted-as-text off, detect special numbers on. */
export interface CsvImport {
  separator: ';' | ','
  /** Windows LCID of the import locale: 1049 ru-RU, 1033 en-US. */
  language: 1049 | 1033
}

const profile = mkdtempSync(path.join(tmpdir(), 'lo-profile-'))

/**
 * Opens `file` in LibreOffice Calc (headless, its own profile, ru-RU UI locale) and saves it as
 * flat ODS, whose XML states each cell's type and value; returns the first sheet's rows.
 */
export function openInCalc(file: string, csv?: CsvImport): CalcCell[][] {
  return openInCalcRaw(file, csv).rows
}

/** openInCalc plus the flat-ODS XML (view settings such as the frozen row, filter ranges). */
export function openInCalcRaw(file: string, csv?: CsvImport): { rows: CalcCell[][]; xml: string } {
  const outDir = mkdtempSync(path.join(tmpdir(), 'calc-out-'))
  const args = ['--headless', `-env:UserInstallation=file://${profile}`]
  if (csv) args.push(`--infilter=CSV:${csv.separator.charCodeAt(0)},34,76,1,,${csv.language},false,true`)
  args.push('--convert-to', 'fods', '--outdir', outDir, file)
  execFileSync('soffice', args, { stdio: 'pipe', timeout: 180_000, env: { ...process.env, LANG: 'ru_RU.UTF-8', LC_ALL: 'ru_RU.UTF-8' } })
  const base = path.basename(file).replace(/\.[^.]+$/, '')
  const xml = readFileSync(path.join(outDir, `${base}.fods`), 'utf8')
  return { rows: parseFods(xml), xml }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }
const decode = (s: string) =>
  s.replace(/&(amp|lt|gt|quot|apos|#x[0-9a-f]+|#\d+);/gi, (_, e: string) =>
    e.startsWith('#x') || e.startsWith('#X')
      ? String.fromCodePoint(Number.parseInt(e.slice(2), 16))
      : e.startsWith('#')
        ? String.fromCodePoint(Number(e.slice(1)))
        : ENTITIES[e]!,
  )

/** Text of a cell's `<text:p>` paragraphs: spaces, tabs and line breaks expanded, spans unwrapped. */
function cellText(inner: string): string {
  const paragraphs = [...inner.matchAll(/<text:p\b[^>]*?(?:\/>|>([\s\S]*?)<\/text:p>)/g)].map((m) => m[1] ?? '')
  return paragraphs
    .map((p) =>
      decode(
        p
          .replace(/<text:s(?:\s+text:c="(\d+)")?\s*\/>/g, (_, n: string | undefined) => ' '.repeat(Number(n ?? 1)))
          .replace(/<text:tab\s*\/>/g, '\t')
          .replace(/<text:line-break\s*\/>/g, '\n')
          .replace(/<[^>]+>/g, ''),
      ),
    )
    .join('\n')
}

const attr = (attrs: string, name: string) => {
  const m = new RegExp(`${name}="([^"]*)"`).exec(attrs)
  return m ? decode(m[1]!) : undefined
}

export function parseFods(xml: string): CalcCell[][] {
  const table = /<table:table\b[\s\S]*?<\/table:table>/.exec(xml)?.[0] ?? ''
  const rows: CalcCell[][] = []
  for (const rm of table.matchAll(/<table:table-row\b([^>]*)>([\s\S]*?)<\/table:table-row>/g)) {
    const cells: CalcCell[] = []
    for (const cm of rm[2]!.matchAll(/<table:(?:covered-)?table-cell\b([^>]*?)(?:\/>|>([\s\S]*?)<\/table:(?:covered-)?table-cell>)/g)) {
      const attrs = cm[1]!
      const repeat = Number(attr(attrs, 'table:number-columns-repeated') ?? 1)
      const type = (attr(attrs, 'office:value-type') ?? 'empty') as CalcCell['type']
      const value =
        type === 'float' || type === 'percentage' || type === 'currency'
          ? attr(attrs, 'office:value')!
          : type === 'date'
            ? attr(attrs, 'office:date-value')!
            : type === 'boolean'
              ? attr(attrs, 'office:boolean-value')!
              : type === 'time'
                ? attr(attrs, 'office:time-value')!
                : type === 'empty'
                  ? ''
                  : cellText(cm[2] ?? '')
      const formula = attr(attrs, 'table:formula')
      for (let i = 0; i < Math.min(repeat, 256); i++) cells.push(formula ? { type, value, formula } : { type, value })
    }
    while (cells.length && cells.at(-1)!.type === 'empty') cells.pop()
    if (!cells.length) continue // trailing empty rows (repeated)
    rows.push(cells)
  }
  return rows
}
