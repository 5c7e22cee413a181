import { createHash } from 'node:crypto'
import type { Clock } from '../../clock.js'

export interface RateLimit {
  requests: number
  windowSeconds: number
}

/** One request's place in the window; `doneAt` is set when its answer arrives. */
export interface Slot {
  sentAt: number
  doneAt: number | null
}

/**
 * Sliding-window limiter for one KWIGA token (200 requests / minute per token, reference §1).
 *
 * A request occupies the window from when it is sent until `window` after its answer arrived (the
 * server counts it somewhere in between), so the budget holds whatever the latency. Every answer's
 * `X-RateLimit-Limit`/`-Remaining` tells how much of the server's count is not ours: another process
 * on the same token shrinks our share until its requests age out. A 429 pauses the token for all.
 */
export class RateLimiter {
  private slots: Slot[] = []
  private others = 0
  private othersSeenAt = Number.NEGATIVE_INFINITY
  private serverLimit = Number.POSITIVE_INFINITY
  private pausedUntil = 0
  /** Requests sent through this limiter (for reports). */
  sent = 0

  constructor(
    private readonly limit: RateLimit,
    private readonly clock: Clock,
  ) {}

  private get windowMs(): number {
    return this.limit.windowSeconds * 1000
  }

  /** Wait for a free place in the window and take it. */
  async acquire(signal?: AbortSignal): Promise<Slot> {
    for (;;) {
      const wait = this.waitMs()
      if (wait <= 0) {
        const slot: Slot = { sentAt: this.clock.now(), doneAt: null }
        this.slots.push(slot)
        this.sent++
        return slot
      }
      await this.clock.sleep(wait, signal)
    }
  }

  /** The request of `slot` got its answer (or failed): it ages out `window` from now. */
  release(slot: Slot): void {
    if (slot.doneAt === null) slot.doneAt = this.clock.now()
  }

  /** Read the rate-limit headers of an answer. */
  observe(headers: Headers): void {
    const now = this.clock.now()
    const limit = Number(headers.get('x-ratelimit-limit'))
    if (headers.has('x-ratelimit-limit') && Number.isFinite(limit) && limit > 0) this.serverLimit = limit
    const remaining = Number(headers.get('x-ratelimit-remaining'))
    if (headers.has('x-ratelimit-remaining') && Number.isFinite(remaining)) {
      const used = Math.min(this.serverLimit, this.limit.requests) - remaining
      this.others = Math.max(0, used - this.inWindow(now).length)
      this.othersSeenAt = now
      const reset = Number(headers.get('x-ratelimit-reset'))
      if (remaining <= 0 && headers.has('x-ratelimit-reset') && Number.isFinite(reset)) this.pauseUntil(reset * 1000)
    }
  }

  /** Nobody on this token sends before `at` (after a 429). */
  pauseUntil(at: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, at)
  }

  /** Milliseconds until a request may be sent; 0 means now. */
  waitMs(): number {
    const now = this.clock.now()
    if (this.pausedUntil > now) return this.pausedUntil - now
    const times = this.inWindow(now)
    const cap = this.capacity(now)
    if (times.length < cap) return 0
    // The (n - cap + 1) oldest entries must age out first.
    times.sort((a, b) => a - b)
    return Math.max(1, times[times.length - cap] + this.windowMs - now + 1)
  }

  /** Requests we may have in the window now: our budget minus what others spent (at least 1, a probe). */
  private capacity(now: number): number {
    const budget = Math.min(this.limit.requests, this.serverLimit)
    const others = now - this.othersSeenAt < this.windowMs ? this.others : 0
    return Math.max(1, budget - others)
  }

  /** Times (answer time, or now while in flight) of our requests still inside the window; prunes the rest. */
  private inWindow(now: number): number[] {
    const from = now - this.windowMs
    this.slots = this.slots.filter((s) => s.doneAt === null || s.doneAt > from)
    return this.slots.map((s) => s.doneAt ?? now)
  }
}

const limiters = new WeakMap<Clock, Map<string, RateLimiter>>()

/**
 * The limiter of a token: every cabinet configured with the same token shares it (the API counts
 * per token). Keyed by clock too, so tests with their own virtual clocks never share one.
 */
export function limiterFor(token: string, limit: RateLimit, clock: Clock): RateLimiter {
  let byToken = limiters.get(clock)
  if (!byToken) limiters.set(clock, (byToken = new Map()))
  const key = createHash('sha256').update(token).digest('hex')
  let limiter = byToken.get(key)
  if (!limiter) byToken.set(key, (limiter = new RateLimiter(limit, clock)))
  return limiter
}
