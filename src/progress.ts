import type { StreamKey } from './db/runs.js'
import type { Logger } from './log.js'
import type { Progress } from './contract.js'

interface Entry {
  key: StreamKey
  p: Progress & { rows: number }
  startedAt: number
}

/**
 * Live progress of a sync. On a terminal: one redrawn status line (stream, rows, phase, ETA);
 * otherwise a pino line per active stream every `intervalMs`.
 */
export class ProgressReporter {
  private readonly entries = new Map<string, Entry>()
  private timer: NodeJS.Timeout | undefined
  private lastDraw = 0

  constructor(
    private readonly log: Logger,
    private readonly tty = Boolean(process.stderr.isTTY),
    private readonly intervalMs = 30_000,
  ) {}

  start(): this {
    if (!this.tty) {
      this.timer = setInterval(() => this.logAll(), this.intervalMs)
      this.timer.unref()
    }
    return this
  }

  update = (key: StreamKey, p: Progress & { rows: number }): void => {
    const id = `${key.source}/${key.account}/${key.stream}`
    const e = this.entries.get(id)
    if (e) e.p = p
    else this.entries.set(id, { key, p, startedAt: Date.now() })
    if (this.tty && Date.now() - this.lastDraw > 200) this.draw(id)
  }

  private describe(id: string, e: Entry): string {
    const { p } = e
    let eta = ''
    if (p.total && p.done && p.done < p.total) {
      const rate = p.done / ((Date.now() - e.startedAt) / 1000)
      if (rate > 0) eta = ` ETA ${Math.ceil((p.total - p.done) / rate)}s`
    }
    const frac = p.total ? ` ${p.done ?? 0}/${p.total}` : ''
    return `${id}: ${p.rows} rows${p.phase ? ` · ${p.phase}` : ''}${frac}${eta}`
  }

  private draw(id: string): void {
    this.lastDraw = Date.now()
    const e = this.entries.get(id)!
    const line = this.describe(id, e).slice(0, (process.stderr.columns ?? 120) - 1)
    process.stderr.write(`\r\x1b[2K${line}`)
  }

  private logAll(): void {
    for (const [id, e] of this.entries) this.log.info({ stream: id, rows: e.p.rows, phase: e.p.phase, done: e.p.done, total: e.p.total }, 'progress')
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    if (this.tty && this.lastDraw) process.stderr.write('\r\x1b[2K')
  }
}
