import { timingSafeEqual } from 'node:crypto'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { EtlError, errorMessage } from '../errors.js'
import type { Replica } from '../replicas/replica.js'
import type { SchedulerDeps } from '../schedule.js'
import { createMetrics } from './metrics.js'
import { renderStatusPage } from './page.js'

export interface ObserveServerOptions extends SchedulerDeps {
  replica: Replica | null
  host: string
  port: number
  /** When set, every path but /healthz asks for it (`Authorization: Bearer …` or `?token=…`). */
  token?: string
}

export interface ObserveServer {
  /** `http://HOST:PORT` actually bound (port 0 picks one). */
  readonly url: string
  close(): Promise<void>
}

function tokenMatches(given: string | null | undefined, token: string): boolean {
  if (!given) return false
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

/**
 * `schedule --http HOST:PORT`: `/metrics` (Prometheus text), `/healthz` (200 / 503, plain text) and the
 * status page at `/`. Read-only: only GET and HEAD are answered.
 */
export async function startObserveServer(o: ObserveServerOptions): Promise<ObserveServer> {
  const metrics = createMetrics(o)
  const server = http.createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost')
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('read-only: GET or HEAD\n')
        return
      }
      if (url.pathname === '/healthz') {
        const ok = o.replica ? o.replica.healthy : true
        res
          .writeHead(ok ? 200 : 503, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
          .end(ok ? 'ok\n' : 'unhealthy: lost the database session\n')
        return
      }
      if (o.token) {
        const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1]
        if (!tokenMatches(bearer, o.token) && !tokenMatches(url.searchParams.get('token'), o.token)) {
          res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end('token required\n')
          return
        }
      }
      if (url.pathname === '/metrics') {
        const body = await metrics.render()
        res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body)
        return
      }
      if (url.pathname === '/') {
        const html = await renderStatusPage(o, o.replica)
        res
          .writeHead(200, {
            'content-type': 'text/html; charset=utf-8',
            'cache-control': 'no-store',
            'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
          })
          .end(req.method === 'HEAD' ? undefined : html)
        return
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: /, /metrics or /healthz\n')
    })().catch((err) => {
      o.log.warn({ err, path: req.url?.split('?')[0] }, `status server: ${errorMessage(err)}`)
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' })
      res.end('internal error (see the scheduler log)\n')
    })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(new EtlError('USAGE', `cannot serve on ${o.host}:${o.port}: ${err.code ?? err.message}`, { cause: err })),
    )
    server.listen(o.port, o.host, () => resolve())
  })
  const addr = server.address() as AddressInfo
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address
  o.log.info({ url: `http://${host}:${addr.port}` }, 'serving /metrics, /healthz and the status page')
  return {
    url: `http://${host}:${addr.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}
