import type { Replica } from '../replicas/replica.js'
import { collectReplicas, describeDoing } from '../replicas/status.js'
import type { SchedulerDeps } from '../schedule.js'
import { budgetStatus } from '../sources/getcourse/ledger.js'
import { collectStatus, formatAge, type StreamStatus } from '../status.js'
import { budgetChart, esc } from './budget-chart.js'
import { ledgerAges, recentProblemRuns, recentRejects } from './queries.js'

const STYLE = `
*{box-sizing:border-box}body{font:15px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;padding:12px;color:#111827;background:#f9fafb}
h1{font-size:20px;margin:0 0 4px}h2{font-size:17px;margin:20px 0 8px}.sub{color:#6b7280;font-size:13px}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;background:#fff;border:1px solid #e5e7eb;border-radius:8px}
table{border-collapse:collapse;width:100%;min-width:640px;font-size:14px}th,td{padding:6px 8px;text-align:left;border-bottom:1px solid #f3f4f6;vertical-align:top}
th{background:#f3f4f6;font-weight:600;white-space:nowrap}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#15803d}.warn{color:#b45309}.bad{color:#b91c1c}.muted{color:#6b7280}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:10px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px}.card b{display:block;margin-bottom:4px}
.msg{min-width:24em;max-width:40em;word-break:break-word}.chart{display:block;max-width:100%;height:auto;margin:6px 0}
`

/** Older than a day: stale. Never succeeded: bad. */
function freshnessClass(s: StreamStatus): string {
  if (s.ageSeconds === null) return 'bad'
  if (s.lastStatus === 'failed') return 'bad'
  return s.ageSeconds > 86_400 ? 'warn' : 'ok'
}

const time = (d: Date | string | null) => (d ? esc(new Date(d).toISOString().replace('T', ' ').slice(0, 19)) : '—')
const table = (head: string[], rows: string[][], empty: string) =>
  rows.length
    ? `<div class="scroll"><table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
        .map((r) => `<tr>${r.join('')}</tr>`)
        .join('')}</tbody></table></div>`
    : `<p class="muted">${esc(empty)}</p>`

async function replicasSection(deps: SchedulerDeps, self: Replica | null): Promise<string> {
  const replicas = await collectReplicas(deps.warehouse, deps.config)
  if (deps.warehouse.kind !== 'server') return '<p class="muted">Embedded database: one scheduler, no replicas.</p>'
  const rows = replicas.map((r) => [
    `<td>${esc(r.host)}${self && r.id === self.id ? ' <span class="muted">(this one)</span>' : ''}</td>`,
    `<td class="n">${esc(r.pid)}</td>`,
    `<td class="${r.live ? 'ok' : 'bad'}">${r.live ? 'live' : `silent ${esc(r.silentSeconds)} s`}</td>`,
    `<td class="msg">${esc(describeDoing(r))}</td>`,
    `<td>${esc(r.http ?? '—')}</td>`,
  ])
  return table(['host', 'pid', 'state', 'doing', 'http'], rows, 'No replica registered.')
}

function freshnessSection(streams: StreamStatus[]): string {
  const rows = streams.map((s) => [
    `<td>${esc(s.source)}</td>`,
    `<td>${esc(s.account)}</td>`,
    `<td>${esc(s.stream)}</td>`,
    `<td class="${freshnessClass(s)}">${esc(formatAge(s.ageSeconds))}</td>`,
    `<td>${esc(s.lastStatus ?? '—')}</td>`,
    `<td class="n">${esc(s.rowsLastSuccess ?? '—')}</td>`,
    `<td class="n">${esc(s.rejects)}</td>`,
    `<td class="msg">${esc((s.lastError ?? '').slice(0, 120))}</td>`,
  ])
  return table(['source', 'account', 'stream', 'age', 'last run', 'rows', 'rejects', 'note'], rows, 'No accounts configured and no runs yet.')
}

async function budgetSection(deps: SchedulerDeps): Promise<string> {
  const { config, warehouse } = deps
  if (!config.getcourse.length) return '<p class="muted">No GetCourse account configured.</p>'
  const cards: string[] = []
  for (const account of config.getcourse) {
    const b = await budgetStatus(warehouse.db, account, Date.now())
    const ages = await ledgerAges(warehouse.db, b.school, account.budget.windowSeconds)
    const note = b.blockedUntil ? `<span class="bad">blocked until ${time(b.blockedUntil)} (903)</span>` : b.freesAt ? `next request at ${time(b.freesAt)}` : ''
    cards.push(
      `<div class="card"><b>${esc(account.name)}</b>${budgetChart({ ages, windowSeconds: account.budget.windowSeconds, limit: b.limit })}` +
        `<span class="budget">${esc(b.used)} / ${esc(b.limit)} used</span> <span class="muted">window ${esc(Math.round(account.budget.windowSeconds / 60))} min</span> ${note}</div>`,
    )
  }
  return `<div class="cards">${cards.join('')}</div>`
}

async function problemsSection(deps: SchedulerDeps): Promise<string> {
  const runs = await recentProblemRuns(deps.warehouse.db)
  return table(
    ['started', 'stream', 'status', 'code', 'host', 'message'],
    runs.map((r) => [
      `<td>${time(r.started_at)}</td>`,
      `<td>${esc(`${r.source}/${r.account}/${r.stream}`)}</td>`,
      `<td class="${r.status === 'deferred' ? 'warn' : 'bad'}">${esc(r.status)}</td>`,
      `<td>${esc(r.error_code ?? '')}</td>`,
      `<td>${esc(r.host ?? '')}</td>`,
      `<td class="msg">${esc((r.message ?? '').slice(0, 300))}</td>`,
    ]),
    'No failed, aborted or deferred run recorded.',
  )
}

async function rejectsSection(deps: SchedulerDeps): Promise<string> {
  const rejects = await recentRejects(deps.warehouse.db)
  return table(
    ['when', 'stream', 'record', 'reason'],
    rejects.map((r) => [
      `<td>${time(r.created_at)}</td>`,
      `<td>${esc(`${r.source}/${r.account}/${r.stream}`)}</td>`,
      `<td>${esc(r.record_key ?? '—')}</td>`,
      `<td class="msg">${esc(r.reason.slice(0, 300))}</td>`,
    ]),
    'No rejected record.',
  )
}

/** The status page: plain HTML rendered on each request, no script, readable on a phone. */
export async function renderStatusPage(deps: SchedulerDeps, self: Replica | null): Promise<string> {
  const report = await collectStatus(deps.warehouse.db, deps.config, deps.sources, deps.warehouse.label)
  const [replicas, budget, problems, rejects] = [
    await replicasSection(deps, self),
    await budgetSection(deps),
    await problemsSection(deps),
    await rejectsSection(deps),
  ]
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>course-etl status</title><style>${STYLE}</style></head>
<body>
<h1>course-etl status</h1>
<div class="sub">warehouse ${esc(report.database)} · generated ${time(new Date())} UTC · read-only</div>
<h2 id="replicas">Live replicas</h2>${replicas}
<h2 id="freshness">Freshness per account and stream</h2>${freshnessSection(report.streams)}
<h2 id="budget">GetCourse budget, current window</h2>${budget}
<h2 id="errors">Recent runs with errors</h2>${problems}
<h2 id="rejects">Recent rejects</h2>${rejects}
</body></html>
`
}
