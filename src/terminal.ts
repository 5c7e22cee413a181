import { Writable } from 'node:stream'

/** What LiveTerminal needs of a terminal stream (process.stderr, or a fake one in tests). */
export interface TerminalStream {
  write(text: string): unknown
  readonly isTTY?: boolean
  readonly columns?: number
}

// ANSI: cursor to the start of the line n lines up; erase from the cursor to the end of the screen.
const up = (n: number) => `\x1b[${n}F`
const ERASE_BELOW = '\x1b[J'
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g

/**
 * A terminal with a live block at its bottom: status lines (one per active stream) redrawn in
 * place, and text written through it (log lines) printed above the block instead of through it.
 * Every change is a single write: erase the block, print the text, draw the block again. A block
 * line is cut to the terminal width, so that no line wraps and the block's height stays known.
 */
export class LiveTerminal extends Writable {
  private lines: string[] = []
  private drawn = 0

  constructor(readonly out: TerminalStream) {
    super({ decodeStrings: false })
  }

  private exitHook = false

  /** Replaces the live block (an empty list removes it). */
  setLines(lines: readonly string[]): void {
    if (lines.length && !this.exitHook) {
      // A forced exit (second Ctrl-C) must not leave stale status lines on the screen.
      this.exitHook = true
      process.once('exit', () => this.setLines([]))
    }
    this.lines = [...lines]
    this.out.write(this.erase() + this.draw())
  }

  /** Prints `text` above the live block. */
  print(text: string): void {
    if (!text) return
    this.out.write(this.erase() + (text.endsWith('\n') ? text : `${text}\n`) + this.draw())
  }

  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.print(chunk.toString())
    done()
  }

  private erase(): string {
    const text = this.drawn ? up(this.drawn) + ERASE_BELOW : ''
    this.drawn = 0
    return text
  }

  private draw(): string {
    const width = Math.max(20, (this.out.columns || 100) - 1) // a pty without a size reports 0
    this.drawn = this.lines.length
    return this.lines.map((l) => `${clip(l, width)}\n`).join('')
  }
}

/** Cuts a line to `width` visible characters (ANSI colour codes do not count), with an ellipsis. */
export function clip(line: string, width: number): string {
  const plain = line.replace(ANSI, '')
  if (plain.length <= width) return line
  return `${plain.slice(0, width - 1)}…`
}

let shared: LiveTerminal | undefined
/** The process' stderr as a live terminal when it is a TTY outside CI (same object for the logger and the progress lines), else undefined. */
export function stderrTerminal(): LiveTerminal | undefined {
  if (!process.stderr.isTTY || process.env.TERM === 'dumb' || process.env.CI) return undefined
  shared ??= new LiveTerminal(process.stderr)
  return shared
}
