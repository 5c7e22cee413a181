import type { Clock } from '../../clock.js'
import type { KwigaCabinetConfig } from './config.js'
import { EtlError, HttpError } from '../../errors.js'
import {
  BodyTooLargeError,
  DEFAULT_HTTP_TIMEOUTS,
  MAX_ANSWER_BYTES,
  backoffDelay,
  readExcerpt,
  readJson,
  request,
  retryAfterMs,
  type HttpTimeouts,
} from '../../http.js'
import { redact, type Logger } from '../../log.js'
import { limiterFor, type RateLimiter, type Slot } from './limiter.js'
import { isItem, type Item } from './values.js'
import { kwigaRateLimited } from '../../observe/counters.js'

/** Query parameters in order; repeated keys allowed (`with[]=offers`). */
export type Query = readonly (readonly [string, string | number])[]

export interface KwigaClientOptions {
  cabinet: KwigaCabinetConfig
  clock: Clock
  log: Logger
  signal?: AbortSignal
  /** Called once per HTTP attempt (the runner's `countRequests`). */
  onRequest?: () => void
  /** Longest total wait on 429s for one call before the stream fails. @default 15 min */
  maxRateLimitWaitMs?: number
  /** Attempts for an answer whose body is not usable JSON (truncated, HTML with 200). @default 4 */
  invalidBodyAttempts?: number
  /** Attempts for network errors and 5xx (http.ts backoff with jitter). @default 6 */
  attempts?: number
  limiter?: RateLimiter
  /** The config's `http` block (`httpTimeouts(config.http)`). @default DEFAULT_HTTP_TIMEOUTS */
  http?: HttpTimeouts
  /** Largest page body read; a larger one fails the page without being retried. @default MAX_ANSWER_BYTES */
  maxAnswerBytes?: number
}

export const DEFAULT_MAX_RATE_LIMIT_WAIT_MS = 15 * 60_000

/**
 * HTTP for one cabinet: auth headers, the token's shared limiter, 429 handling and body checks.
 * `get` resolves with the parsed JSON object, or null for a 404 (a deleted entity, skipped).
 */
export class KwigaClient {
  readonly limiter: RateLimiter
  private readonly headers: Record<string, string>

  constructor(private readonly options: KwigaClientOptions) {
    const { cabinet, clock } = options
    this.limiter = options.limiter ?? limiterFor(cabinet.token, cabinet.rateLimit, clock)
    this.headers = {
      Token: cabinet.token,
      'Cabinet-Hash': cabinet.cabinetHash,
      Accept: 'application/json',
      'X-Language': 'en',
    }
  }

  url(path: string, query: Query = []): string {
    const params = new URLSearchParams()
    for (const [k, v] of query) params.append(k, String(v))
    const qs = params.toString()
    return `${this.options.cabinet.baseUrl}${path}${qs ? `?${qs}` : ''}`
  }

  /**
   * GET a JSON object whose `data` is a list (`expect: 'list'`) or an object. A body that does not
   * parse or lacks `data` is retried a few times, then fails: never half a page taken as a page.
   */
  async get(path: string, query: Query = [], expect: 'list' | 'object' = 'list'): Promise<Item | null> {
    const url = this.url(path, query)
    const attempts = this.options.invalidBodyAttempts ?? 4
    for (let attempt = 1; ; attempt++) {
      try {
        const body = await this.getOnce(url)
        if (body !== null) checkShape(body, expect, url)
        return body
      } catch (err) {
        // An oversized page would be just as oversized next time: only damaged bodies are asked for again.
        if (!(err instanceof HttpError && err.code === 'RESPONSE_INVALID') || err instanceof BodyTooLargeError || attempt >= attempts) throw err
        const delay = backoffDelay(attempt, 1_000, 30_000)
        this.options.log.warn({ url: redact(url), attempt, delayMs: delay, err }, 'unusable response body, retrying the page')
        await this.options.clock.sleep(delay, this.options.signal)
      }
    }
  }

  /** One logical call: retries 429 (Retry-After, then X-RateLimit-Reset, then 60 s) within the time bound. */
  private async getOnce(url: string): Promise<Item | null> {
    const { clock, log } = this.options
    const maxWait = this.options.maxRateLimitWaitMs ?? DEFAULT_MAX_RATE_LIMIT_WAIT_MS
    let waited = 0
    for (;;) {
      const res = await this.send(url)
      if (res.status === 429) {
        kwigaRateLimited.inc({ cabinet: this.options.cabinet.name })
        await res.body?.cancel()
        const delay = rateLimitDelay(res.headers, clock.now())
        if (waited + delay > maxWait) {
          throw new EtlError(
            'RATE_LIMITED',
            `GET ${redact(url)} is still rate limited (429) after waiting ${Math.round(waited / 1000)} s; the stream stops and resumes from its page next run`,
          )
        }
        waited += delay
        this.limiter.pauseUntil(clock.now() + delay)
        log.warn({ url: redact(url), delayMs: delay }, 'rate limited (429), waiting')
        await clock.sleep(delay, this.options.signal)
        continue
      }
      return this.readAnswer(res, url)
    }
  }

  /** One HTTP exchange through the limiter; network errors and 5xx are retried inside `request`. */
  private async send(url: string): Promise<Response> {
    let slot: Slot | undefined
    try {
      const res = await request(url, {
        headers: this.headers,
        clock: this.options.clock,
        log: this.options.log,
        signal: this.options.signal,
        attempts: this.options.attempts ?? 6,
        timeouts: this.options.http ?? DEFAULT_HTTP_TIMEOUTS,
        retry429: false,
        beforeAttempt: async () => {
          if (slot) this.limiter.release(slot)
          slot = await this.limiter.acquire(this.options.signal)
          this.options.onRequest?.()
        },
      })
      this.limiter.observe(res.headers)
      return res
    } finally {
      if (slot) this.limiter.release(slot)
    }
  }

  private async readAnswer(res: Response, url: string): Promise<Item | null> {
    const safeUrl = redact(url)
    if (res.status === 401 || res.status === 403) {
      await res.body?.cancel()
      const why = res.status === 401 ? 'the token was rejected (re-issued?)' : 'access forbidden (is the API enabled in the cabinet?)'
      throw new EtlError('AUTH_FAILED', `KWIGA cabinet "${this.options.cabinet.name}": ${why} (HTTP ${res.status} on GET ${safeUrl})`)
    }
    if (res.status === 404) {
      await res.body?.cancel()
      return null
    }
    if (res.status >= 400) {
      const body = await readExcerpt(res, 500)
      const hint = res.status === 422 ? ' (validation failed: bad filter or page size?)' : ''
      throw new HttpError('HTTP_STATUS', `GET ${safeUrl} failed with status ${res.status}${hint}: ${body}`, 'GET', safeUrl, res.status, body)
    }
    let body: unknown
    try {
      body = await readJson(res, 'GET', url, this.options.maxAnswerBytes ?? MAX_ANSWER_BYTES)
    } catch (err) {
      // The connection dropped or went silent (idle timeout) while the body was streaming: as
      // unusable as a truncated body, and asked for again the same way.
      if (err instanceof HttpError && err.code !== 'HTTP_TIMEOUT') throw err
      throw new HttpError(
        'RESPONSE_INVALID',
        `GET ${safeUrl}: the body could not be read: ${redact((err as Error).message)}`,
        'GET',
        safeUrl,
        res.status,
        undefined,
        { cause: err },
      )
    }
    if (!isItem(body)) throw new HttpError('RESPONSE_INVALID', `GET ${safeUrl} returned JSON that is not an object`, 'GET', safeUrl, res.status)
    return body
  }
}

function checkShape(body: Item, expect: 'list' | 'object', url: string): void {
  const ok = expect === 'list' ? Array.isArray(body.data) : isItem(body.data)
  if (!ok)
    throw new HttpError(
      'RESPONSE_INVALID',
      `GET ${redact(url)} returned JSON without a \`data\` ${expect === 'list' ? 'array' : 'object'}`,
      'GET',
      redact(url),
      200,
    )
}

/** Wait after a 429: `Retry-After`, else `X-RateLimit-Reset` (UNIX seconds), else 60 s (§1). */
export function rateLimitDelay(headers: Headers, now: number): number {
  const retryAfter = retryAfterMs(headers.get('retry-after'), now)
  if (retryAfter !== undefined) return Math.max(1_000, retryAfter)
  const reset = Number(headers.get('x-ratelimit-reset'))
  if (headers.has('x-ratelimit-reset') && Number.isFinite(reset) && reset * 1000 > now) return reset * 1000 - now
  return 60_000
}
