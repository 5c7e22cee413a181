/**
 * KWIGA public API simulator: a real HTTP server on loopback serving deterministic cabinets with the
 * quirks of the real API (docs/kwiga.md). Used by tests, the demo and the benchmarks.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { systemClock, type Clock } from '../../clock.js'
import { SimDataset, type SimCabinetOptions } from './data.js'
import { Params, ValidationError, flattenBody, type RawParams } from './params.js'
import { FixedWindowRateLimiter, type RateDecision } from './rate-limiter.js'
import type { Lang } from './render.js'
import { ROUTES, type ApiResponse, type Route } from './routes.js'

export type { SimCabinetOptions } from './data.js'
export { SimDataset } from './data.js'

export interface KwigaSimOptions {
  cabinets: SimCabinetOptions[]
  /** Per token, fixed window. @default { requests: 200, windowSeconds: 60 } */
  rateLimit?: { requests: number; windowSeconds: number }
  /** Drives every time decision (rate-limit window, `requests[].at`, mutator timestamps, "now" of the dataset). @default systemClock */
  clock?: Clock
  /** Real (not virtual) delay added before every answer, in ms. @default 0 */
  latencyMs?: number
}

export interface SimRequest {
  /** Masked: first 3 characters + '…'. */
  token: string
  method: string
  /** Path without the query string. */
  path: string
  /** Effective parameters (query string, plus the JSON body of the POST `/query` aliases); secrets masked. */
  query: Record<string, string | string[]>
  /** 0 while unanswered, and for a `reset` fault. */
  status: number
  at: number
}

/** Consumed by the next request whose path (with or without its query string) matches `path`. */
export type Fault =
  | { kind: 'http'; status: 500 | 502 | 503; path?: RegExp }
  | { kind: 'reset'; path?: RegExp }
  | { kind: 'hang'; path?: RegExp; ms: number }
  | { kind: 'truncate'; path?: RegExp }
  | { kind: 'html200'; path?: RegExp }
  | { kind: '429'; path?: RegExp; retryAfter?: number }
  | { kind: 'shift'; path?: RegExp }
  /** The normal answer padded to about `bytes` bytes, streamed without Content-Length (only counting catches it). */
  | { kind: 'huge'; path?: RegExp; bytes: number }
  /** Headers and half the body, then silence with the connection open (the client's idle timeout must end it). */
  | { kind: 'stall'; path?: RegExp }

export interface KwigaSim {
  /** `http://127.0.0.1:PORT` */
  url: string
  requests: SimRequest[]
  injectFault(fault: Fault): void
  dataset(cabinetHash: string): SimDataset
  /** Another consumer on the same token spends n requests of the current window. */
  spend(token: string, n: number): void
  stats(token: string): { maxRequestsInWindow: number; rejected429: number }
  /** Most requests that were open at once (received, not yet answered), over every token. */
  maxInFlight(): number
  close(): Promise<void>
}

interface Reply {
  status: number
  headers: Record<string, string>
  body: string | Buffer
}

const JSON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache, private' }
const LANGS: readonly Lang[] = ['en', 'uk', 'ru']
const MAX_BODY = 1 << 20

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
}

export function maskSecret(secret: string): string {
  return secret ? `${secret.slice(0, 3)}…` : ''
}

export async function startKwigaSimulator(opts: KwigaSimOptions): Promise<KwigaSim> {
  const clock = opts.clock ?? systemClock
  const cabinets = new Map<string, { token: string; dataset: SimDataset }>()
  for (const c of opts.cabinets) {
    if (cabinets.has(c.cabinetHash)) throw new Error(`duplicate cabinet hash ${maskSecret(c.cabinetHash)}`)
    const { token, cabinetHash, ...sizes } = c
    cabinets.set(cabinetHash, { token, dataset: new SimDataset(cabinetHash, sizes, () => clock.now()) })
  }
  const tokens = new Set(opts.cabinets.map((c) => c.token))
  const limit = opts.rateLimit ?? { requests: 200, windowSeconds: 60 }
  const limiter = new FixedWindowRateLimiter(limit.requests, limit.windowSeconds * 1000)
  const faults: Fault[] = []
  const requests: SimRequest[] = []
  const timers = new Set<NodeJS.Timeout>()

  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t)
        resolve()
      }, ms)
      timers.add(t)
    })

  function takeFault(path: string, fullPath: string): Fault | undefined {
    const i = faults.findIndex((f) => !f.path || f.path.test(path) || f.path.test(fullPath))
    return i < 0 ? undefined : faults.splice(i, 1)[0]
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname
    const rawQuery = queryRecord(url.searchParams)
    const token = header(req, 'token') ?? getFirst(rawQuery.token) ?? ''
    const cabinetHash = header(req, 'cabinet-hash') ?? getFirst(rawQuery.cabinet_hash) ?? ''
    const record: SimRequest = { token: maskSecret(token), method: req.method ?? 'GET', path, query: redact(rawQuery), status: 0, at: clock.now() }
    requests.push(record)
    const wantsJson = (req.headers.accept ?? '').includes('json')
    const send = (reply: Reply) => {
      record.status = reply.status
      if (res.destroyed) return
      res.writeHead(reply.status, { ...reply.headers, 'Content-Length': String(Buffer.byteLength(reply.body)) })
      res.end(reply.body)
    }
    if (opts.latencyMs && opts.latencyMs > 0) await delay(opts.latencyMs)

    const candidates = ROUTES.filter((r) => r.pattern.test(path))
    if (!candidates.length) return send(errorReply(404, `The route ${path.slice(1)} could not be found.`, wantsJson))
    const route = candidates.find((r) => r.method === req.method)
    if (!route) {
      const allowed = candidates.map((r) => r.method).join(', ')
      return send(
        withHeaders(
          errorReply(
            405,
            `The ${req.method} method is not supported for route ${path.slice(1)}. Supported methods: ${allowed}${allowed.includes('GET') ? ', HEAD' : ''}.`,
            wantsJson,
          ),
          { Allow: allowed },
        ),
      )
    }
    if (!token || !tokens.has(token)) return send(errorReply(401, 'Unauthenticated.', wantsJson))

    const decision = limiter.acquire(token, clock.now())
    if (!decision.allowed) return send(tooManyRequests(decision, decision.retryAfter, wantsJson))
    const rateHeaders = { 'X-RateLimit-Limit': String(decision.limit), 'X-RateLimit-Remaining': String(decision.remaining) }

    const cabinet = cabinets.get(cabinetHash)
    if (!cabinet || cabinet.token !== token) return send(withHeaders(errorReply(403, 'This action is unauthorized.', wantsJson), rateHeaders))

    const fault = takeFault(path, req.url ?? path)
    if (fault?.kind === 'reset') return void req.socket.destroy()
    if (fault?.kind === 'hang') await delay(fault.ms)
    if (fault?.kind === '429') {
      const retryAfter = fault.retryAfter ?? 1
      return send(tooManyRequests({ ...decision, remaining: 0, resetAt: Math.ceil(clock.now() / 1000) + retryAfter }, retryAfter, wantsJson))
    }
    if (fault?.kind === 'http') return send(withHeaders(serverError(fault.status, wantsJson), rateHeaders))
    if (fault?.kind === 'html200') return send({ status: 200, headers: { 'Content-Type': 'text/html; charset=UTF-8', ...rateHeaders }, body: MAINTENANCE_PAGE })

    let raw: RawParams = rawQuery
    if (route.bodyParams) {
      const body = await readBody(req)
      if (body === undefined) return send(withHeaders(errorReply(400, 'The request body is not valid JSON.', wantsJson), rateHeaders))
      raw = { ...rawQuery, ...flattenBody(body) }
      record.query = redact(raw)
    }
    const reply = withHeaders(run(route, raw, path, cabinet.dataset, languageOf(req), fault?.kind === 'shift', wantsJson), rateHeaders)
    if (fault?.kind === 'truncate') {
      const bytes = Buffer.from(reply.body)
      reply.body = bytes.subarray(0, Math.floor(bytes.length / 2))
    }
    if (fault?.kind === 'huge') {
      record.status = reply.status
      return sendPadded(res, reply, fault.bytes)
    }
    if (fault?.kind === 'stall') {
      record.status = reply.status
      const bytes = Buffer.from(reply.body)
      res.writeHead(reply.status, { ...reply.headers, 'Content-Length': String(bytes.length) })
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)))
      return
    }
    send(reply)
  }

  function run(route: Route, raw: RawParams, path: string, ds: SimDataset, lang: Lang, shift: boolean, wantsJson: boolean): Reply {
    const args = route.pattern.exec(path)!.slice(1)
    let response: ApiResponse
    try {
      response = route.handle({ ds, params: new Params(raw), args, render: { ds, lang, now: clock.now() }, shift })
    } catch (err) {
      if (err instanceof ValidationError) {
        return { status: 422, headers: JSON_HEADERS, body: JSON.stringify({ message: err.message, errors: { [err.field]: [err.message] } }) }
      }
      throw err
    }
    if (response.status >= 400) return errorReply(response.status, (response.body as { message: string }).message, wantsJson)
    return { status: response.status, headers: JSON_HEADERS, body: JSON.stringify(response.body) }
  }

  let inFlight = 0
  let maxInFlight = 0
  const server = createServer((req, res) => {
    maxInFlight = Math.max(maxInFlight, ++inFlight)
    res.once('close', () => inFlight--)
    handle(req, res).catch((err: unknown) => {
      if (res.headersSent || res.destroyed) return
      const body = JSON.stringify({ message: 'Server Error', simulator_error: err instanceof Error ? err.message : String(err) })
      res.writeHead(500, { ...JSON_HEADERS, 'Content-Length': String(Buffer.byteLength(body)) })
      res.end(body)
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    injectFault: (fault) => void faults.push(fault),
    dataset(hash) {
      const c = cabinets.get(hash)
      if (!c) throw new Error(`unknown cabinet ${maskSecret(hash)}`)
      return c.dataset
    },
    spend: (token, n) => limiter.spend(token, n, clock.now()),
    stats: (token) => limiter.stats(token),
    maxInFlight: () => maxInFlight,
    close() {
      for (const t of timers) clearTimeout(t)
      timers.clear()
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()))
        server.closeAllConnections()
      })
    },
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name]
  return Array.isArray(v) ? v[0] : v
}

function getFirst(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v
}

function queryRecord(search: URLSearchParams): RawParams {
  const out: RawParams = {}
  for (const [k, v] of search) {
    const prev = out[k]
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  return out
}

function redact(q: RawParams): RawParams {
  const out: RawParams = { ...q }
  for (const key of ['token', 'cabinet_hash']) {
    const v = out[key]
    if (v !== undefined) out[key] = Array.isArray(v) ? v.map(maskSecret) : maskSecret(v)
  }
  return out
}

/** X-Language: labels exist for en, uk and ru; other documented locales fall back to English. */
function languageOf(req: IncomingMessage): Lang {
  const v = (header(req, 'x-language') ?? 'en').toLowerCase().slice(0, 2)
  return (LANGS as readonly string[]).includes(v) ? (v as Lang) : 'en'
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_BODY) return undefined
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (!text.trim()) return {}
  if ((req.headers['content-type'] ?? '').includes('application/x-www-form-urlencoded')) return queryRecord(new URLSearchParams(text))
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** `reply` with a `padding` string added to its JSON object, written in 64 KB pieces with backpressure. */
async function sendPadded(res: ServerResponse, reply: Reply, bytes: number): Promise<void> {
  const json = String(reply.body)
  const head = `${json.slice(0, json.lastIndexOf('}'))},"padding":"`
  res.writeHead(reply.status, reply.headers)
  res.write(head)
  const piece = 'x'.repeat(64 * 1024)
  for (let left = bytes - head.length - 2; left > 0; left -= piece.length) {
    if (res.destroyed) return
    if (!res.write(left >= piece.length ? piece : piece.slice(0, left))) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done)
          res.off('close', done)
          resolve()
        }
        res.on('drain', done)
        res.on('close', done)
      })
    }
  }
  if (!res.destroyed) res.end('"}')
}

function withHeaders(reply: Reply, headers: Record<string, string>): Reply {
  return { ...reply, headers: { ...reply.headers, ...headers } }
}

/**
 * Error bodies follow Laravel's JSON shape (`{message}`; 422 adds `errors`), which is what KWIGA runs on; the
 * reference documents codes but no body. Without `Accept: application/json` Laravel renders an HTML page.
 */
function errorReply(status: number, message: string, wantsJson: boolean): Reply {
  if (wantsJson) return { status, headers: JSON_HEADERS, body: JSON.stringify({ message }) }
  const title = REASONS[status] ?? 'Error'
  return {
    status,
    headers: { 'Content-Type': 'text/html; charset=UTF-8' },
    body: `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><div class="code">${status}</div><div class="message">${title}</div></body></html>`,
  }
}

function tooManyRequests(d: RateDecision, retryAfter: number, wantsJson: boolean): Reply {
  // §1: Retry-After and X-RateLimit-Reset are sent only with 429. The body text is what a public client matches on.
  return withHeaders(errorReply(429, 'Too Many Attempts. Rate limit exceeded.', wantsJson), {
    'X-RateLimit-Limit': String(d.limit),
    'X-RateLimit-Remaining': '0',
    'Retry-After': String(retryAfter),
    'X-RateLimit-Reset': String(d.resetAt),
  })
}

function serverError(status: 500 | 502 | 503, wantsJson: boolean): Reply {
  if (status === 502) {
    // A gateway in front of the application answers in HTML whatever the Accept header says.
    return {
      status,
      headers: { 'Content-Type': 'text/html' },
      body: '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n',
    }
  }
  return errorReply(status, status === 500 ? 'Server Error' : 'Service Unavailable', wantsJson)
}

const MAINTENANCE_PAGE =
  '<!DOCTYPE html>\n<html lang="uk"><head><meta charset="utf-8"><title>KWIGA</title></head><body><h1>Ведуться технічні роботи</h1><p>Сервіс тимчасово недоступний. Спробуйте пізніше.</p></body></html>'
