/**
 * Every `§` citation in src/ (`.ts` files, and the simulators' READMEs) resolves in this
 * repository's API notes (issue 18 item 6).
 *
 * Which notes a file cites is decided by its folder:
 *   src/sources/getcourse/, src/simulators/getcourse/  → docs/getcourse.md
 *   src/sources/kwiga/,     src/simulators/kwiga/      → docs/kwiga.md
 * A file anywhere else (shared code) must name the notes in the citation itself, e.g.
 * `(docs/kwiga.md §4.27)`; a bare `§n` there fails. Any file may name the notes that way.
 *
 * Citation forms: `§3.4`, `§2`, `§4.18–19` / `§4.18-4.19` (a range over the last number),
 * `§2 R1` / `§2.1 R12` (route R1 of section 2), `§§4.1, 4.5 and 4.7` (a list), and several
 * `§` in a row (`§4.16, §4.17`).
 *
 * Anchors in the notes (the one convention both files follow):
 *   headings   `## 3. Title`, `### 3.4 Title`           → 3, 3.4
 *   items      `**4.36** text` at the start of a line    → 4.36
 *   routes     `| **R1** | GET /contacts |` (or `**R1**` at the start of a line) → R1
 * A section cited as `§3` exists when its heading does; anchors must be unique in a file.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = path.resolve(import.meta.dirname, '../..')
const DOCS = { getcourse: 'docs/getcourse.md', kwiga: 'docs/kwiga.md' } as const
type Doc = keyof typeof DOCS

interface Citation {
  file: string
  line: number
  text: string
  /** Notes named in the citation itself (`docs/kwiga.md §…`), else null. */
  doc: Doc | null
  /** Section numbers and route labels the citation needs. */
  targets: string[]
}

const NUM = String.raw`\d+(?:\.\d+)*`
const RANGE_TAIL = String.raw`\s*[–—-]\s*(${NUM})`
/** One cited item: a number, an optional range end, an optional route. */
const ITEM = new RegExp(String.raw`^(${NUM})(?:${RANGE_TAIL})?(?:\s+(R\d+))?`)
/** `docs/x.md` right before the `§`, then `§` or `§§`, then what follows. */
const CITATION = /(?:docs\/(getcourse|kwiga)\.md\s*)?(§§?)\s*/g

/** `4.18` + `19` → 4.18, 4.19; `4.18` + `4.20` → 4.18, 4.19, 4.20. */
function expandRange(from: string, to: string): string[] {
  const head = from.split('.')
  const tail = to.split('.')
  const end = tail.length === 1 ? [...head.slice(0, -1), tail[0]!] : tail
  if (end.length !== head.length || end.slice(0, -1).join('.') !== head.slice(0, -1).join('.')) return [from, to]
  const first = Number(head.at(-1))
  const last = Number(end.at(-1))
  if (!(last >= first) || last - first > 100) return [from, to]
  const prefix = head.slice(0, -1)
  return Array.from({ length: last - first + 1 }, (_, i) => [...prefix, String(first + i)].join('.'))
}

/** The targets of one item at the start of `rest`, and how much of `rest` it used. */
function readItem(rest: string): { targets: string[]; length: number } | null {
  const m = ITEM.exec(rest)
  if (!m) return null
  const targets = m[2] ? expandRange(m[1]!, m[2]) : [m[1]!]
  if (m[3]) targets.push(m[3])
  return { targets, length: m[0].length }
}

/** Every citation on one line of source. */
export function citationsIn(line: string): { doc: Doc | null; targets: string[]; text: string }[] {
  const out: { doc: Doc | null; targets: string[]; text: string }[] = []
  for (const m of line.matchAll(CITATION)) {
    const start = m.index + m[0].length
    let rest = line.slice(start)
    const first = readItem(rest)
    if (!first) continue
    const targets = [...first.targets]
    let used = first.length
    if (m[2] === '§§') {
      // A list: `§§4.1, 4.5 and 4.7`.
      for (;;) {
        const sep = /^\s*(?:,|and|&)\s*/.exec(rest.slice(used))
        if (!sep) break
        const next = readItem(rest.slice(used + sep[0].length))
        if (!next) break
        targets.push(...next.targets)
        used += sep[0].length + next.length
      }
    }
    rest = rest.slice(0, used)
    out.push({ doc: (m[1] as Doc | undefined) ?? null, targets, text: `${m[0]}${rest}`.trim() })
  }
  return out
}

/** The notes a file's bare citations refer to, by folder; null for shared code. */
export function docForFile(rel: string): Doc | null {
  const p = rel.split(path.sep).join('/')
  if (/^src\/(sources|simulators)\/getcourse\//.test(p)) return 'getcourse'
  if (/^src\/(sources|simulators)\/kwiga\//.test(p)) return 'kwiga'
  return null
}

/** Section numbers and route labels a notes file defines, with duplicates. */
export function anchorsOf(markdown: string): { anchors: Set<string>; duplicates: string[] } {
  const seen: string[] = []
  let fenced = false
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced
    if (fenced) continue
    const heading = /^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s/.exec(line)
    if (heading) seen.push(heading[1]!)
    const item = /^(?:[-*]\s+|\|\s*)?\*\*(\d+(?:\.\d+)+|[RW]\d+)\*\*/.exec(line)
    if (item) seen.push(item[1]!)
  }
  const anchors = new Set(seen)
  const duplicates = seen.filter((a, i) => seen.indexOf(a) !== i)
  return { anchors, duplicates }
}

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) out.push(...sourceFiles(full))
    else if (entry.isFile() && /\.(ts|md)$/.test(entry.name)) out.push(full)
  }
  return out.sort()
}

function collect(): Citation[] {
  const out: Citation[] = []
  for (const full of sourceFiles(path.join(ROOT, 'src'))) {
    const file = path.relative(ROOT, full)
    readFileSync(full, 'utf8')
      .split('\n')
      .forEach((text, i) => {
        for (const c of citationsIn(text)) out.push({ file, line: i + 1, text: c.text, doc: c.doc ?? docForFile(file), targets: c.targets })
      })
  }
  return out
}

const notes = Object.fromEntries((Object.keys(DOCS) as Doc[]).map((doc) => [doc, readFileSync(path.join(ROOT, DOCS[doc]), 'utf8')])) as Record<Doc, string>

describe('API notes citations', () => {
  it('parses the citation forms used in the code', () => {
    expect(citationsIn('(reference §3.4).').map((c) => c.targets)).toEqual([['3.4']])
    expect(citationsIn('per_page (§2 R6), lists (§2.1 R12)').map((c) => c.targets)).toEqual([
      ['2', 'R6'],
      ['2.1', 'R12'],
    ])
    expect(citationsIn('as documented (§4.18–19)').map((c) => c.targets)).toEqual([['4.18', '4.19']])
    expect(citationsIn('types (§4.16-26)').map((c) => c.targets)).toEqual([[...Array.from({ length: 11 }, (_, i) => `4.${16 + i}`)]])
    expect(citationsIn('drift (§4.20–4.21)').map((c) => c.targets)).toEqual([['4.20', '4.21']])
    expect(citationsIn('(§4.16, §4.17, §4.20)').map((c) => c.targets)).toEqual([['4.16'], ['4.17'], ['4.20']])
    expect(citationsIn('see §§4.1, 4.5 and 4.7–8').map((c) => c.targets)).toEqual([['4.1', '4.5', '4.7', '4.8']])
    expect(citationsIn('(§6 crawl mechanics) and §8 `classify`').map((c) => c.targets)).toEqual([['6'], ['8']])
    expect(citationsIn('(docs/kwiga.md §4.27)')).toEqual([{ doc: 'kwiga', targets: ['4.27'], text: 'docs/kwiga.md §4.27' }])
    expect(citationsIn('cited below as §n, no number')).toEqual([])
  })

  it('maps a file to its notes by folder', () => {
    expect(docForFile('src/sources/getcourse/envelope.ts')).toBe('getcourse')
    expect(docForFile('src/simulators/getcourse/README.md')).toBe('getcourse')
    expect(docForFile('src/sources/kwiga/values.ts')).toBe('kwiga')
    expect(docForFile('src/simulators/kwiga/render.ts')).toBe('kwiga')
    expect(docForFile('src/http.ts')).toBeNull()
    expect(docForFile('src/db/runs.ts')).toBeNull()
  })

  it('reads headings, numbered items and routes as anchors', () => {
    const { anchors, duplicates } = anchorsOf(
      ['## 3. Polling', '### 3.4 Budget', '**4.36** Absent', '| **R1** | GET |', '- **6.2** x', '```', '## 9. in a fence', '```', 'see **4.1** inline'].join(
        '\n',
      ),
    )
    expect([...anchors].sort()).toEqual(['3', '3.4', '4.36', '6.2', 'R1'])
    expect(duplicates).toEqual([])
  })

  for (const doc of Object.keys(DOCS) as Doc[]) {
    it(`${DOCS[doc]} numbers each section once`, () => {
      expect(anchorsOf(notes[doc]).duplicates).toEqual([])
    })

    it(`${DOCS[doc]} resolves its own cross-references`, () => {
      const { anchors } = anchorsOf(notes[doc])
      const broken = notes[doc].split('\n').flatMap((line, i) =>
        citationsIn(line)
          .filter((c) => (c.doc ?? doc) === doc && c.targets.some((t) => !anchors.has(t)))
          .map((c) => `${DOCS[doc]}:${i + 1} ${c.text}`),
      )
      expect(broken).toEqual([])
    })
  }

  it('every § citation in src/ resolves in docs/', () => {
    const citations = collect()
    // A parser that silently finds nothing would pass everything.
    expect(citations.length).toBeGreaterThan(100)
    const anchors = Object.fromEntries((Object.keys(DOCS) as Doc[]).map((doc) => [doc, anchorsOf(notes[doc]).anchors])) as Record<Doc, Set<string>>
    const broken: string[] = []
    for (const c of citations) {
      if (!c.doc) {
        broken.push(`${c.file}:${c.line} "${c.text}": shared code must name the notes, e.g. "docs/getcourse.md ${c.text}"`)
        continue
      }
      const missing = c.targets.filter((t) => !anchors[c.doc!].has(t))
      if (missing.length) broken.push(`${c.file}:${c.line} "${c.text}": ${missing.join(', ')} not in ${DOCS[c.doc]}`)
    }
    expect(broken).toEqual([])
  })
})
