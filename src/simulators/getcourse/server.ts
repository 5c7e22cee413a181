import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Clock, systemClock } from '../../clock.js'
import { type Cell, GROUP_MEMBER_FIELDS, PAYMENT_FIELDS, type Stream, USER_FIELDS, dealFields, fieldDictionary, renamedColumns } from './columns.js'
import { type SimGroup, SimDataset } from './data.js'
import { type ExportFilters, inRange, parseFilters } from './filters.js'
import { ZonedTime } from './local-time.js'
import { phpJson, readyExportChunks } from './php-json.js'
import { hashString } from './random.js'
import { clientTotals, dealRow, groupMemberRow, paymentRow, rowContext, userRow } from './rows.js'

export { SimDataset } from './data.js'
export type { GroupMember, Partner, SimDeal, SimGroup, SimPayment, SimUser, Utm } from './data.js'
export type { Cell, DealStatus, PaymentStatus, Stream, UserStatus } from './columns.js'
export { SIM_INVALID_FILTER_CODE } from './filters.js'

/**
 * How envelope flags (`success`, `error`) are written. Real accounts send booleans, `"true"`/`"false"`
 * or 1/0 (reference §2, §6.12). `mixed` (default) cycles deterministically over each run of seven
 * JSON answers of an account: the 4th uses strings, the 7th numbers, the others booleans.
 */
export type FlagStyle = 'boolean' | 'string' | 'number' | 'mixed'

export interface SimAccountOptions {
  /** Subdomain name, e.g. 'acme' */
  account: string
  /** API key the account accepts */
  key: string
  /** @default 200 */
  users?: number
  /** @default 300 */
  deals?: number
  /** @default 200 */
  payments?: number
  /** Group members are drawn from users; with ≥3 groups the last one is empty. @default 5 */
  groups?: number
  /** Deals cost title is `Стоимость, {currency}`. @default 'RUB' */
  currency?: string
  /** @default a hash of `account` */
  seed?: number
  /** Account wall-clock zone for dates and date filters. @default 'Europe/Moscow' */
  timezone?: string
  /** Overrides GetcourseSimOptions.flagStyle for this account. */
  flagStyle?: FlagStyle
}

export interface GetcourseSimOptions {
  accounts: SimAccountOptions[]
  /** Rolling window, per account. @default { requests: 100, windowSeconds: 7200 } */
  budget?: { requests: number; windowSeconds: number }
  /** ms from export start until ready. @default 200 + rows * 2, capped at 3000 */
  readyAfterMs?: (info: { account: string; stream: Stream; rows: number; filters: Record<string, string> }) => number
  /** @default systemClock */
  clock?: Clock
  /** @default 'mixed' */
  flagStyle?: FlagStyle
  /**
   * First export id handed out. Real ids are global and never repeat; a simulator restarted against
   * a warehouse that remembers earlier exports needs a fresh range (the demo uses the wall clock).
   * @default 30804057
   */
  firstExportId?: number
}

export interface SimRequest {
  account: string
  method: string
  path: string
  /** Query-string parameters without `key`. */
  query: Record<string, string>
  /** Form-body parameters of a POST, without `key`. */
  form?: Record<string, string>
  at: number
  /** `error_code` of the answer, if any. */
  errorCode?: number
  /** HTTP status sent; 0 when the connection was dropped without an answer. */
  status: number
  /** Export started (start requests) or asked for (export polls). */
  exportId?: number
}

export type Fault =
  | { kind: 'http'; status: 500 | 502 | 503; path?: RegExp }
  /** Destroy the socket. */
  | { kind: 'reset'; path?: RegExp }
  /** Never answer: the connection is dropped after `ms` (real time, so client timeouts fire). */
  | { kind: 'hang'; path?: RegExp; ms: number }
  /**
   * Only consumed by an answer that carries a ready export: the body stops in the middle of a row.
   * The HTTP response itself ends cleanly unless `abort` is set (then the socket is destroyed).
   */
  | { kind: 'truncate'; path?: RegExp; abort?: boolean }
  /**
   * Only consumed by an answer that carries a ready export: the body is served `bytesPerTick` bytes
   * every `tickMs` (real time, so the client's own timeouts are what is tested). With `stallAfterBytes`
   * it stops sending after that many bytes and keeps the connection open until the client gives up.
   */
  | { kind: 'slow'; path?: RegExp; bytesPerTick: number; tickMs: number; stallAfterBytes?: number }
  /**
   * A direct JSON answer (start, groups, fields, export poll) of `bytes` bytes: the normal answer
   * padded with a long string, streamed without Content-Length so only counting can catch it.
   */
  | { kind: 'huge'; path?: RegExp; bytes: number }
  /** 200 with an HTML error page. */
  | { kind: 'html200'; path?: RegExp }
  | { kind: 'code'; code: 903 | 905 | 909 | 910; path?: RegExp }

/** Faults that change how an answer's body is sent rather than replacing the answer. */
const BODY_FAULTS: ReadonlySet<Fault['kind']> = new Set(['truncate', 'slow', 'huge'])

export interface SimStats {
  /** Highest number of exports forming at once, counted when one of ours starts. */
  maxConcurrentForming: number
  /** Most budget-counted requests in any window, including spendBudget() and answers that were 903. */
  maxRequestsInWindow: number
  exportsStarted: number
}

export interface GetcourseSim {
  /** Base URL of the account's own loopback server, e.g. 'http://127.0.0.1:40123'. */
  urlFor(account: string): string
  /** Every request received, in order. */
  requests: SimRequest[]
  /** Each fault is consumed by the next matching request (faults preempt normal handling and budget). */
  injectFault(account: string, fault: Fault): void
  dataset(account: string): SimDataset
  /** Another integration of the same school holds the single export slot for `ms`. */
  occupyExportSlot(account: string, ms: number): void
  /** Another integration spends `requests` of the account's budget now. */
  spendBudget(account: string, requests: number): void
  stats(account: string): SimStats
  close(): Promise<void>
}

/** Answer texts as read off live accounts (reference §3.3). */
const MESSAGES: Record<number, string> = {
  901: 'Неавторизованное API-обращение',
  903: 'Слишком много запросов',
  904: 'отсутсвует параметр key', // sic
  905: 'Уже запущен один экспорт, попробуйте позднее',
  909: 'Файл еще не создан',
  910: 'Файл не создан, попробуйте другой фильтр',
}
const OBJECT_NOT_FOUND = 'Объект не найден'
/** Finished exports stay fetchable (reference §3.2); how long on GetCourse is unknown, here the last 100. */
const KEPT_EXPORTS = 100

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' }
const HTML_HEADERS = { 'content-type': 'text/html; charset=utf-8' }
const NOT_FOUND_PAGE =
  '<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>Страница не найдена</title></head>' +
  '<body><h1>404</h1><p>Страница не найдена</p></body></html>'
const MAINTENANCE_PAGE =
  '<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>Технические работы</title></head>' +
  '<body><h1>Ведутся технические работы</h1><p>Пожалуйста, повторите попытку через несколько минут.</p></body></html>'
const STATUS_TEXT: Record<number, string> = { 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Temporarily Unavailable' }
const gatewayPage = (status: number) =>
  `<html>\r\n<head><title>${status} ${STATUS_TEXT[status]}</title></head>\r\n<body>\r\n` +
  `<center><h1>${status} ${STATUS_TEXT[status]}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`

const MIXED_STYLES: readonly Exclude<FlagStyle, 'mixed'>[] = ['boolean', 'boolean', 'boolean', 'string', 'boolean', 'boolean', 'number']
const FLAG_VALUES = {
  boolean: { yes: true, no: false },
  string: { yes: 'true', no: 'false' },
  number: { yes: 1, no: 0 },
} as const

type Route = { kind: 'start'; stream: Stream; groupId?: number } | { kind: 'export'; id: string } | { kind: 'groups' } | { kind: 'fields' }

function matchRoute(method: string, path: string): Route | null {
  if (method !== 'GET' && method !== 'POST') return null
  let m: RegExpExecArray | null
  if ((m = /^\/pl\/api\/account\/(users|deals|payments)$/.exec(path))) return { kind: 'start', stream: m[1] as Stream }
  if ((m = /^\/pl\/api\/account\/groups\/(\d+)\/users$/.exec(path))) {
    return { kind: 'start', stream: 'group_members', groupId: Number(m[1]) }
  }
  if ((m = /^\/pl\/api\/account\/exports\/([^/]+)$/.exec(path))) return { kind: 'export', id: m[1] }
  if (path === '/pl/api/account/groups') return { kind: 'groups' }
  // The docs say /pl/api/fields; every client uses /pl/api/account/fields (reference §1.1).
  if (path === '/pl/api/account/fields' || path === '/pl/api/fields') return { kind: 'fields' }
  return null
}

function withoutKey(params: Record<string, string>): Record<string, string> {
  const { key: _key, ...rest } = params
  return rest
}

async function readForm(req: IncomingMessage): Promise<Record<string, string>> {
  let body = ''
  req.setEncoding('utf8')
  for await (const chunk of req) {
    body += chunk
    if (body.length > 1_000_000) throw new Error('request body too large')
  }
  const type = req.headers['content-type'] ?? 'application/x-www-form-urlencoded'
  return type.includes('application/x-www-form-urlencoded') ? Object.fromEntries(new URLSearchParams(body)) : {}
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

interface ExportJob {
  id: number
  readyAt: number
  fields: readonly string[]
  rowCount: number
  rows: () => Iterable<Cell[]>
}

interface Shared {
  clock: Clock
  budget: { requests: number; windowMs: number }
  readyAfterMs: NonNullable<GetcourseSimOptions['readyAfterMs']>
  requests: SimRequest[]
  nextExportId(): number
}

/** One account: its data, its single export slot, its budget and its own loopback server. */
class SimAccount {
  readonly name: string
  readonly dataset: SimDataset
  readonly stats: SimStats = { maxConcurrentForming: 0, maxRequestsInWindow: 0, exportsStarted: 0 }
  url = ''
  private readonly time: ZonedTime
  private readonly currency: string
  private readonly flagStyle: FlagStyle
  private readonly server = http.createServer((req, res) => void this.handle(req, res))
  private readonly exports = new Map<number, ExportJob>()
  /** Exports forming now or later, ours and other integrations'. */
  private forming: { from: number; to: number }[] = []
  /** Times of budget-counted requests, oldest first; `hitsStart` is the first one still in the window. */
  private hits: number[] = []
  private hitsStart = 0
  private readonly faults: Fault[] = []
  private readonly hangs = new Set<NodeJS.Timeout>()
  private answers = 0

  constructor(
    private readonly opts: SimAccountOptions,
    private readonly shared: Shared,
    defaultFlagStyle: FlagStyle,
  ) {
    this.name = opts.account
    this.time = new ZonedTime(opts.timezone ?? 'Europe/Moscow')
    this.currency = opts.currency ?? 'RUB'
    this.flagStyle = opts.flagStyle ?? defaultFlagStyle
    this.dataset = new SimDataset({
      seed: opts.seed ?? hashString(opts.account),
      users: opts.users ?? 200,
      deals: opts.deals ?? 300,
      payments: opts.payments ?? 200,
      groups: opts.groups ?? 5,
      currency: this.currency,
      now: () => shared.clock.now(),
    })
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(0, '127.0.0.1', () => resolve())
    })
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`
  }

  async close(): Promise<void> {
    for (const timer of this.hangs) clearTimeout(timer)
    this.hangs.clear()
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()))
    this.server.closeAllConnections()
    await closed
  }

  injectFault(fault: Fault): void {
    this.faults.push(fault)
  }

  occupyExportSlot(ms: number): void {
    const now = this.shared.clock.now()
    this.forming.push({ from: now, to: now + ms })
  }

  spendBudget(requests: number): void {
    for (let i = 0; i < requests; i++) this.countRequest()
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname
    const query = Object.fromEntries(url.searchParams)
    const method = req.method ?? 'GET'
    const entry: SimRequest = { account: this.name, method, path, query: withoutKey(query), at: this.shared.clock.now(), status: 0 }
    this.shared.requests.push(entry)
    try {
      const form = method === 'POST' ? await readForm(req) : {}
      if (method === 'POST') entry.form = withoutKey(form)

      const fault = this.takeFault(path, (f) => !BODY_FAULTS.has(f.kind))
      if (fault) return this.applyFault(fault, req, res, entry)

      const route = matchRoute(method, path)
      if (!route) return this.send(res, entry, 404, HTML_HEADERS, NOT_FOUND_PAGE)
      // `key` may come in the query string or in a form body (reference §1.3).
      const key = query.key ?? form.key
      if (!key) return this.sendError(res, entry, 904)
      if (key !== this.opts.key) return this.sendError(res, entry, 901)
      // Every Export-API call spends budget, polls and refused calls included (reference §3.4).
      if (!this.countRequest()) return this.sendError(res, entry, 903)
      const huge = route.kind !== 'export' || !this.readyExport(route.id) ? this.takeFault(path, (f) => f.kind === 'huge') : undefined
      if (huge?.kind === 'huge') return await this.sendHuge(res, entry, huge.bytes)

      switch (route.kind) {
        case 'start':
          return this.startExport(route.stream, route.groupId, query, res, entry)
        case 'export':
          return await this.answerExport(route.id, path, res, entry)
        case 'groups':
          return this.answerGroups(res, entry)
        case 'fields':
          return this.answerFields(query.action ?? form.action, res, entry)
      }
    } catch (err) {
      if (!res.headersSent) this.send(res, entry, 500, HTML_HEADERS, gatewayPage(500))
      else res.destroy()
    }
  }

  private startExport(stream: Stream, groupId: number | undefined, query: Record<string, string>, res: ServerResponse, entry: SimRequest): void {
    const now = this.shared.clock.now()
    // The slot is checked before anything else is validated; nothing is started (reference §2).
    if (this.formingAt(now) > 0) return this.sendError(res, entry, 905)
    let group: SimGroup | undefined
    if (groupId !== undefined) {
      group = this.dataset.group(groupId)
      if (!group) return this.sendNotFound(res, entry)
    }
    // Filters are read from the query string only; a base64 `params` body is ignored (reference §1.3).
    const parsed = parseFilters(stream, query, this.time)
    if (!parsed.ok) return this.sendError(res, entry, parsed.code, parsed.message)

    const snapshot = this.snapshot(stream, parsed.filters, group, now)
    const delay = this.shared.readyAfterMs({ account: this.name, stream, rows: snapshot.rowCount, filters: parsed.filters.params })
    const job: ExportJob = { id: this.shared.nextExportId(), readyAt: now + Math.max(0, delay), ...snapshot }
    this.exports.set(job.id, job)
    // Bound the memory held by snapshots: the oldest exports are forgotten (answer «Объект не найден»).
    if (this.exports.size > KEPT_EXPORTS) this.exports.delete(this.exports.keys().next().value!)
    this.forming.push({ from: now, to: job.readyAt })
    this.stats.exportsStarted++
    this.stats.maxConcurrentForming = Math.max(this.stats.maxConcurrentForming, Math.max(1, this.formingAt(now)))
    entry.exportId = job.id
    this.sendJson(res, entry, { success: this.flags().yes, info: { export_id: job.id } })
  }

  /** Selects the rows when the export starts; rendering happens lazily while the body streams. */
  private snapshot(stream: Stream, f: ExportFilters, group: SimGroup | undefined, now: number) {
    const ctx = rowContext(this.time, now, this.currency)
    const data = this.dataset
    const created = f.dates.get('created_at')
    const statusOk = (status: string) => f.status === undefined || status === f.status
    switch (stream) {
      case 'users': {
        const users = data.users.filter((u) => inRange(created, u.createdAt) && statusOk(u.status) && (!f.emails || f.emails.has(u.email.toLowerCase())))
        return {
          fields: renamedColumns(USER_FIELDS, data.fieldRenames),
          rowCount: users.length,
          rows: function* () {
            for (const u of users) yield userRow(u, ctx)
          },
        }
      }
      case 'group_members': {
        const added = f.dates.get('added_at')
        const members = group!.members
          .map((m) => ({ ...m, user: data.user(m.userId) }))
          .filter(({ user, addedAt }) => user && inRange(created, user.createdAt) && inRange(added, addedAt) && statusOk(user.status))
        return {
          fields: renamedColumns(GROUP_MEMBER_FIELDS, data.fieldRenames),
          rowCount: members.length,
          rows: function* () {
            for (const m of members) yield groupMemberRow(m.user!, group!.id, m.addedAt, ctx)
          },
        }
      }
      case 'deals': {
        const [payed, finished, changed] = ['payed_at', 'finished_at', 'status_changed_at'].map((n) => f.dates.get(n))
        const deals = data.deals
          .filter(
            (d) =>
              inRange(created, d.createdAt) &&
              inRange(payed, d.payedAt) &&
              inRange(finished, d.finishedAt) &&
              inRange(changed, d.statusChangedAt) &&
              statusOk(d.status) &&
              (!f.userIds || f.userIds.has(d.userId)),
          )
          .map((deal) => ({ deal, user: data.user(deal.userId) }))
        const totals = clientTotals(data.deals)
        return {
          fields: renamedColumns(dealFields(this.currency), data.fieldRenames),
          rowCount: deals.length,
          rows: function* () {
            for (const { deal, user } of deals) yield dealRow(deal, user, ctx, totals.get(deal.userId))
          },
        }
      }
      case 'payments': {
        const changed = f.dates.get('status_changed_at')
        const payments = data.payments
          .filter((p) => inRange(created, p.createdAt) && inRange(changed, p.statusChangedAt) && statusOk(p.status))
          .map((payment) => ({ payment, deal: data.deal(payment.dealId), user: data.user(payment.userId) }))
        return {
          fields: PAYMENT_FIELDS,
          rowCount: payments.length,
          rows: function* () {
            for (const { payment, deal, user } of payments) yield paymentRow(payment, deal, user, ctx)
          },
        }
      }
    }
  }

  private async answerExport(idText: string, path: string, res: ServerResponse, entry: SimRequest): Promise<void> {
    if (/^\d+$/.test(idText)) entry.exportId = Number(idText)
    const job = entry.exportId === undefined ? undefined : this.exports.get(entry.exportId)
    if (!job) return this.sendNotFound(res, entry)
    if (this.shared.clock.now() < job.readyAt) return this.sendError(res, entry, 909)

    const truncate = this.takeFault(path, (f) => f.kind === 'truncate')
    const slow = this.takeFault(path, (f) => f.kind === 'slow')
    const chunks = readyExportChunks(job.fields, job.rows(), {
      success: JSON.stringify(this.flags().yes),
      cutAfterRows: truncate ? Math.floor(job.rowCount / 2) : undefined,
    })
    entry.status = 200
    res.writeHead(200, JSON_HEADERS)
    if (slow?.kind === 'slow') {
      if (!(await this.trickle(res, chunks, slow))) return
    } else {
      for (const chunk of chunks) {
        if (res.destroyed) return
        // Bodies are pure ASCII (see phpJson), and latin1 encodes much faster than utf8.
        if (!res.write(chunk, 'latin1')) await drained(res)
      }
    }
    if (truncate?.kind === 'truncate' && truncate.abort) res.destroy()
    else res.end()
  }

  /** An export id that is known and ready now (its poll answer would carry the export body). */
  private readyExport(idText: string): boolean {
    const job = /^\d+$/.test(idText) ? this.exports.get(Number(idText)) : undefined
    return job !== undefined && this.shared.clock.now() >= job.readyAt
  }

  /** Writes the body a few bytes per tick; false when it stalled or the client left (the body is not ended). */
  private async trickle(res: ServerResponse, chunks: Iterable<string>, slow: Extract<Fault, { kind: 'slow' }>): Promise<boolean> {
    let sent = 0
    for (const chunk of chunks) {
      for (let at = 0; at < chunk.length; at += slow.bytesPerTick) {
        let piece = chunk.slice(at, at + slow.bytesPerTick)
        if (slow.stallAfterBytes !== undefined && sent + piece.length > slow.stallAfterBytes) {
          piece = piece.slice(0, slow.stallAfterBytes - sent)
          if (piece && !res.destroyed) res.write(piece, 'latin1')
          return false // stalled: nothing more is sent; the client's idle timeout must end this
        }
        await this.pause(res, slow.tickMs)
        if (res.destroyed) return false
        res.write(piece, 'latin1')
        sent += piece.length
      }
    }
    return true
  }

  /** Real-time wait that ends early when the client closes the connection or the simulator stops. */
  private pause(res: ServerResponse, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.hangs.delete(timer)
        res.off('close', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      this.hangs.add(timer)
      res.on('close', done)
    })
  }

  /** A valid JSON answer of about `bytes` bytes, streamed in 64 KB pieces with backpressure. */
  private async sendHuge(res: ServerResponse, entry: SimRequest, bytes: number): Promise<void> {
    const f = this.flags()
    const head = `{"success":${JSON.stringify(f.yes)},"info":[],"padding":"`
    entry.status = 200
    res.writeHead(200, JSON_HEADERS)
    res.write(head)
    const piece = 'x'.repeat(64 * 1024)
    for (let left = bytes - head.length - 2; left > 0; left -= piece.length) {
      if (res.destroyed) return
      if (!res.write(left >= piece.length ? piece : piece.slice(0, left), 'latin1')) await drained(res)
    }
    if (!res.destroyed) res.end('"}')
  }

  private answerGroups(res: ServerResponse, entry: SimRequest): void {
    const info = this.dataset.groups.map((g) => ({
      id: g.id,
      name: g.name,
      last_added_at: g.members.length > 0 ? this.time.dateTime(g.members.reduce((max, m) => Math.max(max, m.addedAt), 0)) : null,
    }))
    const f = this.flags()
    this.sendJson(res, entry, { success: f.yes, error: f.no, error_message: '', info })
  }

  private answerFields(action: string | undefined, res: ServerResponse, entry: SimRequest): void {
    const f = this.flags()
    if (action?.toLowerCase() !== 'get') {
      return this.sendJson(res, entry, { success: f.no, error: f.yes, error_message: 'Неизвестное действие' })
    }
    this.sendJson(res, entry, { success: f.yes, info: fieldDictionary(this.dataset.fieldRenames), error_message: '', error: f.no })
  }

  private applyFault(fault: Fault, req: IncomingMessage, res: ServerResponse, entry: SimRequest): void {
    switch (fault.kind) {
      case 'http':
        return this.send(res, entry, fault.status, HTML_HEADERS, gatewayPage(fault.status))
      case 'html200':
        return this.send(res, entry, 200, HTML_HEADERS, MAINTENANCE_PAGE)
      case 'code':
        return this.sendError(res, entry, fault.code)
      case 'reset':
        req.socket.destroy()
        return
      case 'hang': {
        // Real time on purpose: it is the client's own (real) request timeout that must fire.
        const timer = setTimeout(() => {
          this.hangs.delete(timer)
          req.socket.destroy()
        }, fault.ms)
        this.hangs.add(timer)
        res.on('close', () => {
          clearTimeout(timer)
          this.hangs.delete(timer)
        })
        return
      }
      case 'truncate':
        return // consumed only by ready-export answers
    }
  }

  private takeFault(path: string, accepts: (f: Fault) => boolean): Fault | undefined {
    const index = this.faults.findIndex((f) => {
      if (!accepts(f)) return false
      if (!f.path) return true
      f.path.lastIndex = 0
      return f.path.test(path)
    })
    return index < 0 ? undefined : this.faults.splice(index, 1)[0]
  }

  /** Counts one request against the rolling window; false when the window was already full. */
  private countRequest(): boolean {
    const now = this.shared.clock.now()
    while (this.hitsStart < this.hits.length && this.hits[this.hitsStart] <= now - this.shared.budget.windowMs) this.hitsStart++
    if (this.hitsStart > 1024 && this.hitsStart * 2 > this.hits.length) {
      this.hits = this.hits.slice(this.hitsStart)
      this.hitsStart = 0
    }
    const before = this.hits.length - this.hitsStart
    this.hits.push(now)
    this.stats.maxRequestsInWindow = Math.max(this.stats.maxRequestsInWindow, before + 1)
    return before < this.shared.budget.requests
  }

  /** Exports forming at `now`; the single slot is free when this is 0. */
  private formingAt(now: number): number {
    this.forming = this.forming.filter((f) => f.to > now)
    return this.forming.filter((f) => f.from <= now).length
  }

  private flags() {
    const style = this.flagStyle === 'mixed' ? MIXED_STYLES[this.answers % MIXED_STYLES.length] : this.flagStyle
    this.answers++
    return FLAG_VALUES[style]
  }

  private sendError(res: ServerResponse, entry: SimRequest, code: number, message = MESSAGES[code]): void {
    const f = this.flags()
    entry.errorCode = code
    this.sendJson(res, entry, { success: f.no, error: f.yes, error_code: code, error_message: message })
  }

  private sendNotFound(res: ServerResponse, entry: SimRequest): void {
    const f = this.flags()
    this.sendJson(res, entry, { success: f.no, error: f.yes, error_message: OBJECT_NOT_FOUND })
  }

  private sendJson(res: ServerResponse, entry: SimRequest, body: object): void {
    this.send(res, entry, 200, JSON_HEADERS, phpJson(body))
  }

  private send(res: ServerResponse, entry: SimRequest, status: number, headers: http.OutgoingHttpHeaders, body: string): void {
    entry.status = status
    res.writeHead(status, { ...headers, 'content-length': Buffer.byteLength(body) })
    res.end(body)
  }
}

const defaultReadyAfterMs: Shared['readyAfterMs'] = ({ rows }) => Math.min(3000, 200 + rows * 2)

/** Starts one loopback GetCourse server per account. */
export async function startGetcourseSimulator(opts: GetcourseSimOptions): Promise<GetcourseSim> {
  const budget = opts.budget ?? { requests: 100, windowSeconds: 7200 }
  if (!(budget.requests >= 1 && budget.windowSeconds > 0)) throw new Error('Expected budget.requests ≥ 1 and budget.windowSeconds > 0')
  let exportId = opts.firstExportId ?? 30_804_057
  const shared: Shared = {
    clock: opts.clock ?? systemClock,
    budget: { requests: budget.requests, windowMs: budget.windowSeconds * 1000 },
    readyAfterMs: opts.readyAfterMs ?? defaultReadyAfterMs,
    requests: [],
    // Export ids are global on GetCourse, so an account sees gaps between its own ids.
    nextExportId: () => {
      const id = exportId
      exportId += 1 + (id % 3)
      return id
    },
  }
  const accounts = new Map<string, SimAccount>()
  for (const account of opts.accounts) {
    if (accounts.has(account.account)) throw new Error(`Duplicate simulated account "${account.account}"`)
    accounts.set(account.account, new SimAccount(account, shared, opts.flagStyle ?? 'mixed'))
  }
  const all = [...accounts.values()]
  const results = await Promise.allSettled(all.map((a) => a.listen()))
  const failed = results.find((r) => r.status === 'rejected')
  if (failed) {
    await Promise.all(all.map((a) => a.close().catch(() => undefined)))
    throw (failed as PromiseRejectedResult).reason
  }

  const get = (name: string) => {
    const account = accounts.get(name)
    if (!account) throw new Error(`Unknown simulated account "${name}"`)
    return account
  }
  return {
    urlFor: (name) => get(name).url,
    requests: shared.requests,
    injectFault: (name, fault) => get(name).injectFault(fault),
    dataset: (name) => get(name).dataset,
    occupyExportSlot: (name, ms) => get(name).occupyExportSlot(ms),
    spendBudget: (name, requests) => get(name).spendBudget(requests),
    stats: (name) => ({ ...get(name).stats }),
    close: async () => {
      await Promise.all(all.map((a) => a.close()))
    },
  }
}
