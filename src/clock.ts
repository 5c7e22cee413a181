/**
 * Time source for everything that waits (polling, rate limits, budgets). Production uses the system
 * clock; benchmarks and tests use a VirtualClock so hours of GetCourse polling finish in milliseconds.
 */
import type { Clock } from './contract.js'

export type { Clock }

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError')
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal))
      const onAbort = () => {
        clearTimeout(timer)
        reject(abortError(signal!))
      }
      const timer = setTimeout(
        () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
        Math.max(0, ms),
      )
      signal?.addEventListener('abort', onAbort, { once: true })
    }),
  busy: (work) => work,
}

interface Timer {
  at: number
  seq: number
  resolve: () => void
}

/**
 * Discrete-event clock: when nothing is in flight and every actor is asleep, time jumps to the
 * earliest wake-up. Sleeps of concurrent actors therefore overlap exactly as they would in real time.
 */
export class VirtualClock implements Clock {
  private current: number
  private timers: Timer[] = []
  private seq = 0
  private inFlight = 0
  private scheduled = false

  constructor(start = Date.UTC(2026, 0, 1)) {
    this.current = Math.floor(start)
  }

  now(): number {
    return this.current
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal))
      const onAbort = () => {
        this.timers = this.timers.filter((t) => t !== timer)
        reject(abortError(signal!))
      }
      const timer: Timer = {
        // Whole milliseconds, like Date.now() and setTimeout: a fractional now() would be truncated
        // wherever a time is stored (Date, timestamptz), so stored intervals would differ from measured ones.
        at: this.current + Math.max(0, Math.ceil(ms)),
        seq: this.seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort)
          resolve()
        },
      }
      this.timers.push(timer)
      signal?.addEventListener('abort', onAbort, { once: true })
      this.schedule()
    })
  }

  async busy<T>(work: Promise<T>): Promise<T> {
    this.inFlight++
    try {
      return await work
    } finally {
      this.inFlight--
      this.schedule()
    }
  }

  private schedule(): void {
    if (this.scheduled) return
    this.scheduled = true
    // Let microtasks and pending I/O callbacks settle for a few turns before deciding we are idle.
    let turns = 0
    const tick = () => {
      if (this.inFlight > 0 || this.timers.length === 0) {
        this.scheduled = false
        return
      }
      if (++turns < 4) return void setImmediate(tick)
      this.scheduled = false
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq)
      const next = this.timers.shift()!
      if (next.at > this.current) this.current = next.at
      next.resolve()
      this.schedule()
    }
    setImmediate(tick)
  }
}
