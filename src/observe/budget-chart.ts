/** HTML-escape text for element content and attribute values. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

export interface BudgetChartInput {
  /** Seconds ago of each request in the window. */
  ages: number[]
  windowSeconds: number
  /** What we allow ourselves in one window (requests − reserve). */
  limit: number
}

/**
 * A small inline SVG: the current budget window in 24 bars (oldest left, now right), each the requests
 * sent in its slice, and a bar along the bottom for the window's total against the limit. No script, no
 * external resource: it renders under `default-src 'none'`.
 */
export function budgetChart({ ages, windowSeconds, limit }: BudgetChartInput): string {
  const W = 240
  const H = 64
  const slices = 24
  const counts = new Array<number>(slices).fill(0)
  for (const a of ages) {
    const i = slices - 1 - Math.min(slices - 1, Math.floor((a / windowSeconds) * slices))
    counts[i]! += 1
  }
  const top = Math.max(1, ...counts)
  const bw = W / slices
  const chartH = H - 14
  const bars = counts
    .map((n, i) => {
      const h = n ? Math.max(2, (n / top) * chartH) : 0
      return h
        ? `<rect x="${(i * bw + 1).toFixed(1)}" y="${(chartH - h).toFixed(1)}" width="${(bw - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="#3b82f6"/>`
        : ''
    })
    .join('')
  const used = ages.length
  const share = limit > 0 ? Math.min(1, used / limit) : 1
  const colour = share >= 1 ? '#dc2626' : share >= 0.8 ? '#d97706' : '#16a34a'
  const label = `${used} of ${limit} requests in the last ${Math.round(windowSeconds / 60)} min`
  return [
    `<svg class="chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${esc(label)}">`,
    `<title>${esc(label)}</title>`,
    `<line x1="0" y1="${chartH}" x2="${W}" y2="${chartH}" stroke="#9ca3af" stroke-width="1"/>`,
    bars,
    `<rect x="0" y="${H - 8}" width="${W}" height="6" fill="#e5e7eb"/>`,
    `<rect x="0" y="${H - 8}" width="${(W * share).toFixed(1)}" height="6" fill="${colour}"/>`,
    '</svg>',
  ].join('')
}
