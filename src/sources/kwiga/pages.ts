import { EtlError } from '../../errors.js'
import type { KwigaClient, Query } from './client.js'
import { int, isItem, objectAt, text, type Item } from './values.js'

export interface PageRequest {
  path: string
  /** Filters and flags, without the paging parameters. */
  query?: Query
  /** Page size asked for; the server may cap it silently, `meta.per_page` tells (§6 crawl mechanics). */
  pageSize: number
  /** Contact lists take `limit`, every other list `per_page` (§2 R11, §4.10). */
  sizeParam?: 'per_page' | 'limit'
  /** First page to read (resume). @default 1 */
  startPage?: number
  /** Where an item's id sits, to drop repeats when pages shift (course users: `['user', 'id']`). @default ['id'] */
  idPath?: readonly string[]
}

export interface Page {
  /** The page number this page was read as. */
  number: number
  /** Items not already seen in this crawl's recent pages. */
  items: unknown[]
  /** The whole answer (the course-users program tree sits next to `data`). */
  body: Item
  /** Page to read next; null when the list is done. */
  next: number | null
  lastPage: number | null
  perPage: number | null
  total: number | null
  /** The list itself answered 404 (the parent entity is gone). */
  notFound?: boolean
}

const MAX_PAGES = 100_000
const MAX_STEP_BACKS = 20

/**
 * Pages of a KWIGA list, one request each, built from `page` numbers (never from `links`, whose
 * hosts are wrong: §4.30). Stops on an empty page or when `current_page >= last_page`; a missing
 * `meta` means a single page (§4.33); meta arithmetic is not trusted (§4.29).
 *
 * Shifting pages: an item inserted before the read position pushes the page's last item onto the
 * next page (read twice: dropped by id). An item removed before the read position pulls the next
 * page's first item back onto a page already read (it would be lost): when `meta.total` shrinks
 * between two pages we step back as many pages as items disappeared and read them again.
 */
export async function* fetchPages(client: KwigaClient, req: PageRequest): AsyncGenerator<Page> {
  const idOf = (item: unknown) => idAt(item, req.idPath ?? ['id'])
  const recent = new RecentIds(Math.max(1000, req.pageSize * 10))
  let page = req.startPage ?? 1
  let previousTotal: number | null = null
  let stepBacks = 0
  for (let reads = 0; ; reads++) {
    if (reads >= MAX_PAGES) throw new EtlError('RESPONSE_INVALID', `${req.path}: more than ${MAX_PAGES} pages; the server keeps announcing more`)
    const query: Query = [...(req.query ?? []), ['page', page], [req.sizeParam ?? 'per_page', req.pageSize]]
    const body = await client.get(req.path, query, 'list')
    if (body === null) {
      yield { number: page, items: [], body: {}, next: null, lastPage: null, perPage: null, total: null, notFound: true }
      return
    }
    const data = body.data as unknown[]
    const meta = objectAt(body, 'meta')
    const total = meta ? int(meta.total) : null
    const perPage = (meta ? int(meta.per_page) : null) ?? req.pageSize
    const lastPage = meta ? int(meta.last_page) : null
    const current = (meta ? int(meta.current_page) : null) ?? page
    const items = data.filter((item) => recent.add(idOf(item)))
    let next: number | null = data.length === 0 || lastPage === null || current >= lastPage ? null : page + 1
    if (previousTotal !== null && total !== null && total < previousTotal && stepBacks < MAX_STEP_BACKS) {
      stepBacks++
      next = Math.max(1, page - Math.ceil((previousTotal - total) / Math.max(1, perPage)))
    }
    if (total !== null) previousTotal = total
    yield { number: page, items, body, next, lastPage, perPage, total }
    if (next === null) return
    page = next
  }
}

function idAt(item: unknown, path: readonly string[]): string | null {
  let value: unknown = item
  for (const key of path) value = isItem(value) ? value[key] : undefined
  return text(value)
}

/** Ids seen in the last few pages (bounded, so a two-million-contact crawl stays small). */
class RecentIds {
  private ids = new Set<string>()
  constructor(private readonly max: number) {}

  /** False when `id` was seen recently; items without an id are always new. */
  add(id: string | null): boolean {
    if (id === null) return true
    if (this.ids.has(id)) return false
    this.ids.add(id)
    if (this.ids.size > this.max) this.ids.delete(this.ids.values().next().value!)
    return true
  }
}
