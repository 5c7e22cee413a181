import type { StreamKey } from './db/runs.js'
import type { Logger } from './log.js'
import type { Progress } from './contract.js'
import { type LiveTerminal, stderrTerminal } from './terminal.js'

/** What the sync reports for a stream: the source's phase plus the rows read; `ended` once the stream is over. */
export type StreamProgress = Progress & { rows: number; ended?: boolean }

interface Entry {
  p: StreamProgress
  startedAt: number
  /** Where the current done/total count started (rate for the ETA), reset when the total changes. */
  base?: { done: number; at: number; total?: number }
}

export interface ProgressOptions {
  /**
   * The live terminal to draw on; undefined (not a TTY, `--json`, CI) logs a `progress` line per
   * active stream every `intervalMs` instead. @default stderrTerminal()
   */
  terminal?: LiveTerminal
  /** @default 30000 */
  intervalMs?: number
  /** Redraws at most this often on a terminal. @default 100 */
  redrawMs?: number
  now?: () => number
}

/**
 * Live progress of a sync. On a terminal: one line per active stream (rows, phase, done/total, ETA
 * where a total is known) redrawn in place at the bottom, log lines printed above it (they go
 * through the same LiveTerminal, see log.ts). Otherwise a pino line per active stream every `intervalMs`.
 */
export class ProgressReporter {
  private readonly entries = new Map<string, Entry>()
  private timer: NodeJS.Timeout | undefined
  private lastDraw = 0
  private readonly terminal: LiveTerminal | undefined
  private readonly intervalMs: number
  private readonly redrawMs: number
  private readonly now: () => number

  constructor(
    private readonly log: Logger,
    options: ProgressOptions = {},
  ) {
    this.terminal = 'terminal' in options ? options.terminal : stderrTerminal()
    this.intervalMs = options.intervalMs ?? 30_000
    this.redrawMs = options.redrawMs ?? 100
    this.now = options.now ?? Date.now
  }

  get live(): boolean {
    return this.terminal !== undefined
  }

  start(): this {
    // On a terminal the clock in each line (elapsed, ETA) moves even while no batch arrives.
    this.timer = this.terminal ? setInterval(() => this.draw(), 1000) : setInterval(() => this.logAll(), this.intervalMs)
    this.timer.unref()
    return this
  }

  update = (key: StreamKey, p: StreamProgress): void => {
    const id = `${key.source}/${key.account}/${key.stream}`
    const now = this.now()
    if (p.ended) {
      this.entries.delete(id)
      this.draw()
      return
    }
    const e = this.entries.get(id) ?? { p, startedAt: now }
    e.p = p
    if (p.done === undefined || p.total === undefined) e.base = undefined
    else if (!e.base || e.base.total !== p.total || p.done < e.base.done) e.base = { done: p.done, at: now, total: p.total }
    this.entries.set(id, e)
    if (this.terminal && now - this.lastDraw >= this.redrawMs) this.draw()
  }

  /** The live lines, one per active stream, in the order the streams started. */
  lines(): string[] {
    return [...this.entries].map(([id, e]) => describe(id, e, this.now()))
  }

  private draw(): void {
    if (!this.terminal) return
    this.lastDraw = this.now()
    this.terminal.setLines(this.lines())
  }

  private logAll(): void {
    for (const [id, e] of this.entries) this.log.info({ stream: id, rows: e.p.rows, phase: e.p.phase, done: e.p.done, total: e.p.total }, 'progress')
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.entries.clear()
    this.terminal?.setLines([])
  }
}

const count = (n: number) => n.toLocaleString('en-US')

/** `95` → `1m35s`; `4000` → `1h06m`. */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`
}

function describe(id: string, e: Entry, now: number): string {
  const { p } = e
  const parts = [`${id}: ${count(p.rows)} rows`]
  if (p.phase) parts.push(p.phase)
  if (p.done !== undefined) parts.push(p.total ? `${count(p.done)}/${count(p.total)}` : `${count(p.done)} done`)
  if (e.base && p.total && p.done !== undefined && p.done < p.total) {
    const rate = (p.done - e.base.done) / ((now - e.base.at) / 1000)
    if (rate > 0 && Number.isFinite(rate)) parts.push(`ETA ${duration((p.total - p.done) / rate)}`)
  }
  parts.push(duration((now - e.startedAt) / 1000))
  return parts.join(' · ')
}
