import type { Clock } from './clock.js'
import { EtlError, HttpError } from './errors.js'
import { redact, type Logger } from './log.js'

export interface RequestOptions {
  method?: 'GET' | 'POST'
  headers?: Record<string, string>
  /** Form body (application/x-www-form-urlencoded); keeps secrets such as GetCourse `key` out of URLs. */
  form?: Record<string, string>
  /** Per-attempt timeout until response headers arrive. @default 60_000 */
  timeoutMs?: number
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

async function excerpt(res: Response): Promise<string> {
  try {
    return redact((await res.text()).slice(0, 300))
  } catch {
    return ''
  }
}

/**
 * fetch with a timeout on every attempt, retries (network errors, timeouts, 408/429/5xx) with
 * backoff and jitter, Retry-After, no redirects (a redirect would carry credentials to another
 * host), and errors whose URL and body excerpt are redacted. Resolves with a 2xx/4xx Response whose
 * body is not read yet, so large bodies can be streamed.
 */
export async function request(url: string, options: RequestOptions): Promise<Response> {
  const method = options.method ?? (options.form ? 'POST' : 'GET')
  const attempts = options.attempts ?? 4
  const safeUrl = redact(url)
  const { clock } = options
  let lastError: unknown
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (options.signal?.aborted) throw new EtlError('ABORTED', 'request aborted', { cause: options.signal.reason })
    await options.beforeAttempt?.(attempt)
    const timeout = AbortSignal.timeout(options.timeoutMs ?? 60_000)
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
    let wait: number | undefined
    try {
      const res = await clock.busy(
        fetch(url, {
          method,
          headers: { 'user-agent': 'course-etl', ...(options.form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}), ...options.headers },
          body: options.form ? new URLSearchParams(options.form).toString() : undefined,
          redirect: 'manual',
          signal,
        }),
      )
      if (res.status >= 300 && res.status < 400) {
        await res.body?.cancel()
        throw new HttpError('HTTP_REDIRECT', `${method} ${safeUrl} answered with a redirect (${res.status}) to ${redact(res.headers.get('location') ?? '?')}; configure the address it redirects to (baseUrl)`, method, safeUrl, res.status)
      }
      const retryable = RETRY_STATUS.has(res.status) && !(res.status === 429 && options.retry429 === false)
      if (!retryable) return res
      const body = await excerpt(res)
      lastError = new HttpError('HTTP_STATUS', `${method} ${safeUrl} failed with status ${res.status}`, method, safeUrl, res.status, body)
      wait = retryAfterMs(res.headers.get('retry-after'), clock.now())
    } catch (err) {
      if (err instanceof HttpError) throw err
      if (options.signal?.aborted) throw new EtlError('ABORTED', 'request aborted', { cause: err })
      const timedOut = timeout.aborted
      lastError = new HttpError(
        timedOut ? 'HTTP_TIMEOUT' : 'HTTP_NETWORK',
        timedOut ? `${method} ${safeUrl} timed out after ${options.timeoutMs ?? 60_000} ms` : `${method} ${safeUrl} failed: ${redact((err as Error).message)}${(err as { cause?: { code?: string } }).cause?.code ? ` (${(err as { cause: { code: string } }).cause.code})` : ''}`,
        method,
        safeUrl,
        undefined,
        undefined,
      )
    }
    if (attempt < attempts) {
      const delay = Math.min(options.maxWaitMs ?? 120_000, wait ?? backoffDelay(attempt, options.backoffMs ?? 1_000, options.maxWaitMs ?? 120_000))
      options.log?.warn({ url: safeUrl, attempt, delayMs: delay, err: lastError }, 'request failed, retrying')
      await clock.sleep(delay, options.signal)
    }
  }
  throw lastError
}

/** Read a whole JSON body; a body that is not JSON (HTML error page, truncated) is RESPONSE_INVALID. */
export async function readJson<T = unknown>(res: Response, method: string, url: string): Promise<T> {
  const text = await res.text()
  try {
    return JSON.parse(text) as T
  } catch (err) {
    throw new HttpError('RESPONSE_INVALID', `${method} ${redact(url)} returned a body that is not JSON (status ${res.status}): ${redact(text.slice(0, 120))}`, method, redact(url), res.status, redact(text.slice(0, 300)), { cause: err })
  }
}
