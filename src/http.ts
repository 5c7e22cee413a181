import type { Clock } from './clock.js'
import { EtlError, HttpError, errorMessage } from './errors.js'
import { redact, type Logger } from './log.js'

/**
 * Two timeouts instead of one for the whole response: a download of any length succeeds while data
 * keeps flowing, and a server that stops sending is noticed within `idleMs` whatever the body size.
 */
export interface HttpTimeouts {
  /** Per attempt, from sending the request until the response headers arrive (connect + first byte). */
  headersMs: number
  /** Longest silence between two chunks of the body while the reader waits for one. */
  idleMs: number
}

/** The config defaults (`http.headersTimeoutSeconds: 120`, `http.idleTimeoutSeconds: 120`). */
export const DEFAULT_HTTP_TIMEOUTS: Readonly<HttpTimeouts> = { headersMs: 120_000, idleMs: 120_000 }

/** The config's `http` block in milliseconds. */
export function httpTimeouts(http: { headersTimeoutSeconds: number; idleTimeoutSeconds: number }): HttpTimeouts {
  return { headersMs: http.headersTimeoutSeconds * 1000, idleMs: http.idleTimeoutSeconds * 1000 }
}

/**
 * Largest answer read whole into memory (a KWIGA page, a GetCourse start / fields / groups answer).
 * Real ones are far below 1 MB; the cap only stops a broken or hostile server from filling the heap.
 * GetCourse export downloads are streamed and never capped.
 */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024

export interface RequestOptions {
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  /** Form body (application/x-www-form-urlencoded); keeps secrets such as GetCourse `key` out of URLs. */
  form?: Record<string, string>
  /** @default DEFAULT_HTTP_TIMEOUTS */
  timeouts?: HttpTimeouts
  /** Attempts in all (1 = no retry). @default 4 */
  attempts?: number
  /** Base of the exponential backoff. @default 1_000 */
  backoffMs?: number
  /** Cap of a single wait (also caps Retry-After). @default 120_000 */
  maxWaitMs?: number
  /** Retry on HTTP 429 (a source with its own limiter may want to handle it). @default true */
  retry429?: boolean
  /** Called before each attempt (e.g. to spend a rate-limit token or write a budget ledger row). */
  beforeAttempt?: (attempt: number) => Promise<void>
  signal?: AbortSignal
  clock: Clock
  log?: Logger
}

const RETRY_STATUS = new Set([408, 425, 429, 500, 502, 503, 504])

/** Exponential backoff with full jitter: a random wait in [base·2^(n-1)/2, base·2^(n-1)]. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** (attempt - 1))
  return Math.round(ceiling / 2 + Math.random() * (ceiling / 2))
}

/** Retry-After as seconds or an HTTP date; milliseconds or undefined. */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (!value) return undefined
  const secs = Number(value)
  if (Number.isFinite(secs)) return Math.max(0, secs * 1000)
  const at = Date.parse(value)
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined
}

/** The first characters of an error body for a message; the rest is not downloaded. */
export async function readExcerpt(res: Response, chars = 300): Promise<string> {
  try {
    return redact((await readPrefix(res, chars * 4)).slice(0, chars))
  } catch {
    return ''
  }
}

/**
 * fetch with a headers timeout on every attempt and an idle timeout while the body is read, retries
 * (network errors, timeouts, 408/429/5xx) with backoff and jitter, Retry-After, no redirects (a
 * redirect would carry credentials to another host), and errors whose URL and body excerpt are
 * redacted. Resolves with a 2xx/4xx Response whose body is not read yet, so large bodies can be
 * streamed; reading it fails with HTTP_TIMEOUT when the server goes silent for `timeouts.idleMs`.
 */
export async function request(url: string, options: RequestOptions): Promise<Response> {
  const method = options.method ?? (options.form ? 'POST' : 'GET')
  const attempts = options.attempts ?? 4
  const timeouts = options.timeouts ?? DEFAULT_HTTP_TIMEOUTS
  const safeUrl = redact(url)
  const { clock } = options
  let lastError: unknown
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (options.signal?.aborted) throw new EtlError('ABORTED', 'request aborted', { cause: options.signal.reason })
    await options.beforeAttempt?.(attempt)
    const exchange = new Exchange(options.signal, timeouts.headersMs)
    let wait: number | undefined
    try {
      const fetched = await clock.busy(
        fetch(url, {
          method,
          headers: { 'user-agent': 'course-etl', ...(options.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...options.headers },
          body: options.form ? new URLSearchParams(options.form).toString() : undefined,
          redirect: 'manual',
          signal: exchange.signal,
        }),
      )
      const res = guardBody(fetched, exchange, { method, url: safeUrl, idleMs: timeouts.idleMs })
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel()
        throw new HttpError(
          'HTTP_REDIRECT',
          `${method} ${safeUrl} answered with a redirect (${res.status}) to ${redact(res.headers.get('location') ?? '?')}; configure the address it redirects to (baseUrl)`,
          method,
          safeUrl,
          res.status,
        )
      }
      const retryable = RETRY_STATUS.has(res.status) && !(res.status === 429 && options.retry429 === false)
      if (!retryable) return res
      const body = await readExcerpt(res)
      lastError = new HttpError('HTTP_STATUS', `${method} ${safeUrl} failed with status ${res.status}`, method, safeUrl, res.status, body)
      wait = retryAfterMs(res.headers.get('retry-after'), clock.now())
    } catch (err) {
      exchange.dispose()
      if (err instanceof HttpError) throw err
      if (options.signal?.aborted) throw new EtlError('ABORTED', 'request aborted', { cause: err })
      lastError = exchange.headersTimedOut
        ? new HttpError(
            'HTTP_TIMEOUT',
            `${method} ${safeUrl} sent no response headers within ${seconds(timeouts.headersMs)} (http.headersTimeoutSeconds)`,
            method,
            safeUrl,
          )
        : new HttpError(
            'HTTP_NETWORK',
            `${method} ${safeUrl} failed: ${redact((err as Error).message)}${networkCode(err) ? ` (${networkCode(err)})` : ''}`,
            method,
            safeUrl,
          )
    }
    if (attempt < attempts) {
      const delay = Math.min(options.maxWaitMs ?? 120_000, wait ?? backoffDelay(attempt, options.backoffMs ?? 1_000, options.maxWaitMs ?? 120_000))
      // One line per attempt; the error object (and its stack, at debug level) only when debugging.
      const code = lastError instanceof EtlError ? lastError.code : undefined
      options.log?.warn(
        { url: safeUrl, attempt, of: attempts, delayMs: delay, code },
        `request failed (${errorMessage(lastError)}), attempt ${attempt} of ${attempts}, retrying`,
      )
      options.log?.debug({ err: lastError }, 'request failure detail')
      await clock.sleep(delay, options.signal)
    }
  }
  throw lastError
}

/**
 * The abort wiring of one attempt. Plain timers and one AbortController, strongly held by this object
 * (and by the guarded body while it is read): `AbortSignal.timeout` inside `AbortSignal.any` is only
 * weakly held, so whether it fired depended on garbage collection.
 */
class Exchange {
  private readonly controller = new AbortController()
  private headersTimer: NodeJS.Timeout | undefined
  headersTimedOut = false
  private readonly onOuterAbort = () => this.controller.abort(this.outer!.reason)

  constructor(
    private readonly outer: AbortSignal | undefined,
    headersMs: number,
  ) {
    outer?.addEventListener('abort', this.onOuterAbort, { once: true })
    this.headersTimer = setTimeout(() => {
      this.headersTimedOut = true
      this.controller.abort(new DOMException('no response headers in time', 'TimeoutError'))
    }, headersMs)
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  get outerAborted(): boolean {
    return this.outer?.aborted ?? false
  }

  headersArrived(): void {
    clearTimeout(this.headersTimer)
  }

  /** Stops the download (the socket is released) with `reason` as the body's error. */
  abort(reason: unknown): void {
    this.controller.abort(reason)
  }

  /** The exchange is over (body read, cancelled or failed): no timer or listener may outlive it. */
  dispose(): void {
    clearTimeout(this.headersTimer)
    // The caller's signal often lives as long as a run or the scheduler: leave no listener on it.
    this.outer?.removeEventListener('abort', this.onOuterAbort)
  }
}

/**
 * The response with its body behind an idle timeout. The timer runs only while the reader waits
 * for a chunk, so a consumer that is slow (the database load of an export) never trips it; the
 * server's silence does.
 */
function guardBody(res: Response, exchange: Exchange, at: { method: string; url: string; idleMs: number }): Response {
  exchange.headersArrived()
  if (!res.body) {
    exchange.dispose()
    return res
  }
  const reader = res.body.getReader()
  let bytes = 0
  let stalled: HttpError | null = null
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const timer = setTimeout(() => {
          stalled = new HttpError(
            'HTTP_TIMEOUT',
            `${at.method} ${at.url}: the body stalled, no data for ${seconds(at.idleMs)} (http.idleTimeoutSeconds) after ${formatBytes(bytes)}`,
            at.method,
            at.url,
            res.status,
          )
          exchange.abort(stalled)
        }, at.idleMs)
        try {
          const { done, value } = await reader.read()
          if (done) {
            exchange.dispose()
            controller.close()
            return
          }
          bytes += value.byteLength
          controller.enqueue(value)
        } catch (err) {
          exchange.dispose()
          controller.error(stalled ?? (exchange.outerAborted ? new EtlError('ABORTED', 'request aborted', { cause: err }) : err))
        } finally {
          clearTimeout(timer)
        }
      },
      async cancel(reason) {
        exchange.dispose()
        await reader.cancel(reason)
      },
    },
    // No read-ahead: a chunk is pulled only when the consumer asks, so the idle timer measures the server.
    { highWaterMark: 0 },
  )
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers })
}

/** An answer larger than the cap for bodies read whole; not worth retrying. */
export class BodyTooLargeError extends HttpError {
  override name = 'BodyTooLargeError'
}

export interface ReadLimit {
  method: string
  url: string
  /** @default MAX_ANSWER_BYTES */
  maxBytes?: number
}

/**
 * Reads a whole body as UTF-8 text, at most `maxBytes` of it: a larger body (announced by
 * Content-Length or found while reading) is cancelled at the cap and fails with RESPONSE_INVALID,
 * so memory never holds more than the cap whatever the server sends.
 */
export async function readText(res: Response, limit: ReadLimit): Promise<string> {
  const maxBytes = limit.maxBytes ?? MAX_ANSWER_BYTES
  const safeUrl = redact(limit.url)
  const tooLarge = (what: string) =>
    new BodyTooLargeError(
      'RESPONSE_INVALID',
      `${limit.method} ${safeUrl} ${what}, more than the ${formatBytes(maxBytes)} an answer read whole may have; not read further`,
      limit.method,
      safeUrl,
      res.status,
    )
  const announced = Number(res.headers.get('content-length') ?? NaN)
  if (Number.isFinite(announced) && announced > maxBytes) {
    await res.body?.cancel().catch(() => {})
    throw tooLarge(`announced a body of ${formatBytes(announced)}`)
  }
  if (!res.body) return ''
  const chunks: Uint8Array[] = []
  let bytes = 0
  const reader = res.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    bytes += value.byteLength
    if (bytes > maxBytes) {
      await reader.cancel().catch(() => {})
      throw tooLarge('answered with a longer body')
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks, bytes).toString('utf8')
}

/** About the first `maxBytes` of a body as text (for error excerpts); the rest is cancelled. */
async function readPrefix(res: Response, maxBytes: number): Promise<string> {
  if (!res.body) return ''
  const chunks: Uint8Array[] = []
  let bytes = 0
  const reader = res.body.getReader()
  while (bytes < maxBytes) {
    const { done, value } = await reader.read()
    if (done) return Buffer.concat(chunks, bytes).toString('utf8')
    chunks.push(value)
    bytes += value.byteLength
  }
  await reader.cancel().catch(() => {})
  return Buffer.concat(chunks, bytes).subarray(0, maxBytes).toString('utf8')
}

/** Read a whole JSON body (capped, see readText); a body that is not JSON (HTML error page, truncated) is RESPONSE_INVALID. */
export async function readJson<T = unknown>(res: Response, method: string, url: string, maxBytes?: number): Promise<T> {
  const text = await readText(res, { method, url, maxBytes })
  try {
    return JSON.parse(text) as T
  } catch (err) {
    throw new HttpError(
      'RESPONSE_INVALID',
      `${method} ${redact(url)} returned a body that is not JSON (status ${res.status}): ${redact(text.slice(0, 120))}`,
      method,
      redact(url),
      res.status,
      redact(text.slice(0, 300)),
      { cause: err },
    )
  }
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`
}

function formatBytes(bytes: number): string {
  const mb = bytes / (1024 * 1024)
  if (mb < 1) return `${bytes} bytes`
  return `${mb < 10 ? Math.round(mb * 10) / 10 : Math.round(mb)} MB`
}

/** The socket error under fetch's "fetch failed" (`ECONNREFUSED`), also inside a dual-stack AggregateError. */
function networkCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown; errors?: { code?: unknown }[] } }).cause
  const code = cause?.code ?? cause?.errors?.find((e) => typeof e?.code === 'string')?.code
  return typeof code === 'string' ? code : undefined
}
