/**
 * Fixed-window limiter per API token, like Laravel's `throttle` middleware: a window opens at the first
 * request after the previous one expired and lasts `windowMs`. Rejected requests are not counted against
 * the limit (Laravel checks `tooManyAttempts` before `hit`).
 */
export interface RateDecision {
  allowed: boolean
  limit: number
  remaining: number
  /** Seconds until the window resets (≥ 1). */
  retryAfter: number
  /** UNIX seconds at which the window resets. */
  resetAt: number
}

interface Window {
  start: number
  /** Accepted requests plus `spend()` units: what the limit is checked against. */
  used: number
  /** `used` plus rejected requests: what `maxRequestsInWindow` reports. */
  arrived: number
}

export class FixedWindowRateLimiter {
  private readonly windows = new Map<string, Window>()
  private readonly totals = new Map<string, { maxRequestsInWindow: number; rejected429: number }>()

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  /** Admits and counts one request, or rejects it. */
  acquire(token: string, now: number): RateDecision {
    const w = this.window(token, now)
    const allowed = w.used < this.limit
    if (allowed) w.used++
    else this.total(token).rejected429++
    w.arrived++
    this.noteMax(token, w)
    return this.decision(w, allowed, now)
  }

  /** Another consumer of the same token spends `n` requests of the current window. */
  spend(token: string, n: number, now: number): void {
    const w = this.window(token, now)
    w.used += n
    w.arrived += n
    this.noteMax(token, w)
  }

  stats(token: string): { maxRequestsInWindow: number; rejected429: number } {
    return { ...this.total(token) }
  }

  private decision(w: Window, allowed: boolean, now: number): RateDecision {
    const end = w.start + this.windowMs
    return {
      allowed,
      limit: this.limit,
      remaining: Math.max(0, this.limit - w.used),
      retryAfter: Math.max(1, Math.ceil((end - now) / 1000)),
      resetAt: Math.ceil(end / 1000),
    }
  }

  private window(token: string, now: number): Window {
    let w = this.windows.get(token)
    if (!w || now >= w.start + this.windowMs) {
      w = { start: now, used: 0, arrived: 0 }
      this.windows.set(token, w)
    }
    return w
  }

  private total(token: string) {
    let t = this.totals.get(token)
    if (!t) {
      t = { maxRequestsInWindow: 0, rejected429: 0 }
      this.totals.set(token, t)
    }
    return t
  }

  private noteMax(token: string, w: Window): void {
    const t = this.total(token)
    if (w.arrived > t.maxRequestsInWindow) t.maxRequestsInWindow = w.arrived
  }
}
