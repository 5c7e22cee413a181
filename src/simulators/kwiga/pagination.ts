/** Laravel-paginator wrappers (reference §3.10) with KWIGA's per-endpoint quirks. */

/** §4.30: links and meta.path point at hosts that are not the API a client talks to. */
export const FOREIGN_HOSTS = {
  kwiga: 'https://api.kwiga.com',
  local: 'http://api.kwiga.local',
  example: 'https://api.example.com',
} as const

export interface PageStyle {
  host: string
  /** `meta.links` buttons: absent for some endpoints (§4.32); labels untranslated for others (§4.31). */
  metaLinks: 'none' | 'en' | 'ua-missing'
  /** §4.29: offers answer a `meta.to` that is one less than the last index shown. */
  toOffByOne?: boolean
}

export interface PageRequest {
  page: number
  perPage: number
  /** Answer as if one item had been inserted at the head since the previous page (fault `shift`). */
  shift?: boolean
}

export interface Page<T> {
  items: T[]
  links: { first: string; last: string; prev: string | null; next: string | null }
  meta: Record<string, unknown>
}

const LABELS = {
  en: { prev: '&laquo; Previous', next: 'Next &raquo;' },
  'ua-missing': { prev: '&laquo; translation missing: ua.pagination_prev', next: 'translation missing: ua.pagination_next &raquo;' },
} as const

export function paginate<T>(all: readonly T[], path: string, style: PageStyle, req: PageRequest): Page<T> {
  const { page, perPage } = req
  // A phantom item inserted at the head pushes everything one place down: page N (N ≥ 2) starts with the
  // last item of page N-1 again. Page 1 would show the phantom itself, which we cannot render, so it is unchanged.
  const shifted = req.shift === true && page > 1
  const total = all.length + (req.shift ? 1 : 0)
  const offset = (page - 1) * perPage - (shifted ? 1 : 0)
  const items = all.slice(offset, offset + perPage)
  const lastPage = Math.max(1, Math.ceil(total / perPage))
  const base = `${style.host}${path}`
  const url = (p: number) => `${base}?page=${p}`
  const from = items.length ? (page - 1) * perPage + 1 : null
  const to = from === null ? null : from + items.length - 1 - (style.toOffByOne && items.length > 1 ? 1 : 0)
  const meta: Record<string, unknown> = { current_page: page, from, last_page: lastPage }
  if (style.metaLinks !== 'none') meta.links = metaLinks(page, lastPage, url, LABELS[style.metaLinks])
  Object.assign(meta, { path: base, per_page: perPage, to, total })
  return {
    items,
    links: { first: url(1), last: url(lastPage), prev: page > 1 ? url(page - 1) : null, next: page < lastPage ? url(page + 1) : null },
    meta,
  }
}

/** Laravel's UrlWindow: every page when there are few, otherwise the ends plus a window around the current page. */
function metaLinks(page: number, lastPage: number, url: (p: number) => string, labels: { prev: string; next: string }) {
  const pages: (number | '...')[] = []
  if (lastPage <= 13) {
    for (let p = 1; p <= lastPage; p++) pages.push(p)
  } else if (page <= 7) {
    for (let p = 1; p <= 10; p++) pages.push(p)
    pages.push('...', lastPage - 1, lastPage)
  } else if (page > lastPage - 7) {
    pages.push(1, 2, '...')
    for (let p = lastPage - 9; p <= lastPage; p++) pages.push(p)
  } else {
    pages.push(1, 2, '...')
    for (let p = page - 3; p <= page + 3; p++) pages.push(p)
    pages.push('...', lastPage - 1, lastPage)
  }
  return [
    { url: page > 1 ? url(page - 1) : null, label: labels.prev, active: false },
    ...pages.map((p) => (p === '...' ? { url: null, label: '...', active: false } : { url: url(p), label: String(p), active: p === page })),
    { url: page < lastPage ? url(page + 1) : null, label: labels.next, active: false },
  ]
}
