import { getEventListeners } from 'node:events'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterEach, describe, expect, it } from 'vitest'
import { systemClock } from './clock.js'
import { EtlError } from './errors.js'
import { BodyTooLargeError, readJson, readText, request, type HttpTimeouts } from './http.js'

// A real collection mid-request: the timeouts must not depend on what the collector keeps.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const servers: http.Server[] = []
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void | Promise<void>): Promise<string> {
  const server = http.createServer((req, res) => void handler(req, res))
  servers.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/export?key=secret`
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
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

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const FAST: HttpTimeouts = { headersMs: 1_000, idleMs: 1_000 }
const get = (url: string, extra: { timeouts?: HttpTimeouts; signal?: AbortSignal } = {}) =>
  request(url, { clock: systemClock, attempts: 1, timeouts: FAST, ...extra })

/** Sends `pieces` pieces of `size` bytes every `everyMs`, then stops (and stays silent when `stall`). */
function trickle(pieces: number, size: number, everyMs: number, stall = false) {
  const state = { sent: 0, closedAt: 0 }
  const handler = async (_req: IncomingMessage, res: ServerResponse) => {
    res.on('close', () => (state.closedAt = Date.now()))
    res.writeHead(200, { 'content-type': 'application/json' })
    for (let i = 0; i < pieces && !res.destroyed; i++) {
      res.write('x'.repeat(size))
      state.sent += size
      await sleep(everyMs)
    }
    if (!stall && !res.destroyed) res.end()
  }
  return { state, handler }
}

async function failure(promise: Promise<unknown>): Promise<EtlError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(EtlError)
  return err as EtlError
}

describe('request timeouts', () => {
  it('a body that keeps flowing for 5× both timeouts downloads whole', async () => {
    const { handler } = trickle(25, 1000, 200)
    const url = await serve(handler)
    const started = Date.now()
    const res = await get(url)
    const reader = res.body!.getReader()
    let bytes = 0
    for (let reads = 0; ; reads++) {
      const { done, value } = await reader.read()
      if (done) break
      bytes += value.byteLength
      if (reads % 5 === 0) gc()
    }
    expect(bytes).toBe(25_000)
    expect(Date.now() - started).toBeGreaterThan(4_500)
  })

  it('a slow consumer never trips the idle timeout: only the server’s silence counts', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200)
      res.write('a'.repeat(100))
      setTimeout(() => res.end('b'.repeat(100)), 50)
    })
    const res = await get(url)
    const reader = res.body!.getReader()
    await reader.read()
    await sleep(2_500) // the database load of a batch, say
    let rest = 0
    for (let r = await reader.read(); !r.done; r = await reader.read()) rest += r.value.byteLength
    expect(rest).toBe(100)
  })

  it('a body that stalls fails within the idle timeout, naming it and the bytes received, and the socket is closed', async () => {
    const { state, handler } = trickle(3, 5000, 100, true)
    const url = await serve(handler)
    const res = await get(url)
    const text = res.text()
    await sleep(300)
    gc()
    const stalledAt = Date.now()
    const err = await failure(text)
    const waited = Date.now() - stalledAt
    expect(err.code).toBe('HTTP_TIMEOUT')
    expect(err.message).toMatch(/no data for 1 s \(http\.idleTimeoutSeconds\) after 15000 bytes/)
    expect(err.message).not.toContain('secret')
    expect(waited).toBeLessThan(1_500)
    await sleep(100)
    expect(state.closedAt).toBeGreaterThan(0)
  })

  it('no headers within the headers timeout is HTTP_TIMEOUT, retried like before', async () => {
    let calls = 0
    const url = await serve(() => void calls++) // never answers
    const started = Date.now()
    setTimeout(gc, 300)
    const err = await failure(request(url, { clock: systemClock, attempts: 2, backoffMs: 10, timeouts: { headersMs: 800, idleMs: 60_000 } }))
    expect(err.code).toBe('HTTP_TIMEOUT')
    expect(err.message).toMatch(/no response headers within 0\.8 s \(http\.headersTimeoutSeconds\)/)
    expect(calls).toBe(2)
    expect(Date.now() - started).toBeLessThan(2_500)
  })

  it('headers that arrive in time end the headers timeout: a body slower than it is fine', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200)
      res.write('{')
      setTimeout(() => res.end('}'), 700)
    })
    const res = await request(url, { clock: systemClock, attempts: 1, timeouts: { headersMs: 500, idleMs: 1_000 } })
    await sleep(300)
    expect(await res.text()).toBe('{}')
  })

  it('the caller’s signal aborts a body mid-read as ABORTED, and no listener is left on it', async () => {
    const { handler } = trickle(50, 10, 100)
    const url = await serve(handler)
    const outer = new AbortController()
    const res = await get(url, { signal: outer.signal })
    expect(getEventListeners(outer.signal, 'abort')).toHaveLength(1)
    setTimeout(() => outer.abort(new Error('shutdown')), 300)
    const err = await failure(res.text())
    expect(err.code).toBe('ABORTED')
    expect(getEventListeners(outer.signal, 'abort')).toHaveLength(0)
  })

  it('leaves no listener on the caller’s signal after a body is read, cancelled or stalled', async () => {
    const url = await serve((_req, res) => void res.end('{"ok":true}'))
    const stalled = trickle(1, 10, 10, true)
    const stallUrl = await serve(stalled.handler)
    const outer = new AbortController()
    for (let i = 0; i < 5; i++) await (await get(url, { signal: outer.signal })).text()
    await (await get(url, { signal: outer.signal })).body!.cancel()
    await failure((await get(stallUrl, { signal: outer.signal, timeouts: { headersMs: 1_000, idleMs: 200 } })).text())
    expect(getEventListeners(outer.signal, 'abort')).toHaveLength(0)
  })
})

describe('readText caps a body read whole', () => {
  /** Streams `bytes` without Content-Length, counting what was written until the client left. */
  function endless(bytes: number) {
    const state = { written: 0, closed: false }
    const handler = async (_req: IncomingMessage, res: ServerResponse) => {
      res.on('close', () => (state.closed = true))
      res.writeHead(200, { 'content-type': 'application/json' })
      const piece = Buffer.alloc(64 * 1024, 'x')
      while (state.written < bytes && !res.destroyed) {
        state.written += piece.length
        if (!res.write(piece)) await drainedOrClosed(res)
      }
      if (!res.destroyed) res.end()
    }
    return { state, handler }
  }

  it('stops at the cap with RESPONSE_INVALID, without downloading the rest', async () => {
    const { state, handler } = endless(300 * 1024 * 1024)
    const url = await serve(handler)
    const res = await get(url)
    const err = await failure(readText(res, { method: 'GET', url, maxBytes: 1024 * 1024 }))
    expect(err).toBeInstanceOf(BodyTooLargeError)
    expect(err.code).toBe('RESPONSE_INVALID')
    expect(err.message).toMatch(/answered with a longer body, more than the 1 MB an answer read whole may have/)
    expect(err.message).not.toContain('secret')
    await sleep(200)
    expect(state.closed).toBe(true)
    // Socket buffers hold a few MB at most; 300 MB were on offer.
    expect(state.written).toBeLessThan(16 * 1024 * 1024)
  })

  it('refuses an announced Content-Length above the cap before reading', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(5_000_000) })
      res.write('x'.repeat(1000))
    })
    const err = await failure(readJson(await get(url), 'GET', url, 100_000))
    expect(err.code).toBe('RESPONSE_INVALID')
    expect(err.message).toMatch(/announced a body of 4.8 MB, more than the 100000 bytes an answer read whole may have/)
  })

  it('reads an answer under the cap as before', async () => {
    const url = await serve((_req, res) => void res.end(JSON.stringify({ data: ['é', 'ж'.repeat(5000)] })))
    const body = await readJson<{ data: string[] }>(await get(url), 'GET', url, 11_000)
    expect(body.data[1]).toHaveLength(5000)
  })
})
