/**
 * A minimal terminal screen: replays what a program wrote to its terminal and returns the lines a
 * user would see. Understands what LiveTerminal and pino-pretty write: text, CR, LF, cursor up to
 * line start (`ESC[nF`, `ESC[nA`), erase below (`ESC[J`), erase line (`ESC[2K`); colours are dropped.
 */
export function screen(output: string): string[] {
  const lines: string[] = ['']
  let row = 0
  let col = 0
  const put = (ch: string) => {
    const line = (lines[row] ?? '').padEnd(col, ' ')
    lines[row] = line.slice(0, col) + ch + line.slice(col + 1)
    col++
  }
  for (let i = 0; i < output.length; i++) {
    const ch = output[i]!
    if (ch === '\x1b' && output[i + 1] === '[') {
      const m = /^\x1b\[([0-9;?]*)([A-Za-z])/.exec(output.slice(i))
      if (!m) continue
      i += m[0].length - 1
      const n = Number(m[1] || 1)
      if (m[2] === 'F' || m[2] === 'A') {
        row = Math.max(0, row - n)
        if (m[2] === 'F') col = 0
      } else if (m[2] === 'J') {
        lines[row] = (lines[row] ?? '').slice(0, col)
        lines.length = row + 1
      } else if (m[2] === 'K') {
        lines[row] = m[1] === '2' ? '' : (lines[row] ?? '').slice(0, col)
      }
      continue
    }
    if (ch === '\r') col = 0
    else if (ch === '\n') {
      row++
      col = 0
      if (lines.length <= row) lines.push('')
    } else put(ch)
  }
  while (lines.length && lines.at(-1) === '') lines.pop()
  return lines
}
