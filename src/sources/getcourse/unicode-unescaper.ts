/**
 * GetCourse writes JSON the way PHP's json_encode does: every non-ASCII character as `\uXXXX`
 * (reference §6.10), so a Russian export is mostly escapes. The streaming tokenizer handles each
 * escape with a TextEncoder call, which makes it ~3× slower than on raw UTF-8. This pre-pass
 * rewrites escapes of non-ASCII characters (and valid surrogate pairs) into their UTF-8 bytes,
 * chunk by chunk. ASCII escapes (`\"`, `\\`, controls) and lone surrogates are left as they are,
 * so the JSON means exactly the same. The output is never longer than the input.
 */
const BACKSLASH = 0x5c
const LETTER_U = 0x75

function hexDigit(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30
  if (b >= 0x61 && b <= 0x66) return b - 0x57
  if (b >= 0x41 && b <= 0x46) return b - 0x37
  return -1
}

/** The code unit of `\uXXXX` whose hex digits start at `at`, or -1. */
function hex4(buf: Uint8Array, at: number): number {
  const a = hexDigit(buf[at]!)
  const b = hexDigit(buf[at + 1]!)
  const c = hexDigit(buf[at + 2]!)
  const d = hexDigit(buf[at + 3]!)
  return a < 0 || b < 0 || c < 0 || d < 0 ? -1 : (a << 12) | (b << 8) | (c << 4) | d
}

function writeUtf8(out: Uint8Array, o: number, cp: number): number {
  if (cp < 0x800) {
    out[o] = 0xc0 | (cp >> 6)
    out[o + 1] = 0x80 | (cp & 0x3f)
    return o + 2
  }
  if (cp < 0x10000) {
    out[o] = 0xe0 | (cp >> 12)
    out[o + 1] = 0x80 | ((cp >> 6) & 0x3f)
    out[o + 2] = 0x80 | (cp & 0x3f)
    return o + 3
  }
  out[o] = 0xf0 | (cp >> 18)
  out[o + 1] = 0x80 | ((cp >> 12) & 0x3f)
  out[o + 2] = 0x80 | ((cp >> 6) & 0x3f)
  out[o + 3] = 0x80 | (cp & 0x3f)
  return o + 4
}

export class UnicodeUnescaper {
  /** Bytes of an escape cut by the chunk boundary, prepended to the next chunk. */
  private carry: Uint8Array | null = null

  push(chunk: Uint8Array): Uint8Array {
    let input = chunk
    if (this.carry) {
      input = Buffer.concat([this.carry, chunk])
      this.carry = null
    }
    let i = input.indexOf(BACKSLASH)
    if (i < 0) return input
    const out = Buffer.allocUnsafe(input.length)
    let o = 0
    let start = 0
    while (i >= 0) {
      o += Buffer.prototype.copy.call(input, out, o, start, i)
      start = i
      if (i + 1 >= input.length) break // a lone backslash at the end: keep it for the next chunk
      if (input[i + 1] !== LETTER_U) {
        start = i + 2 // `\"`, `\\`, `\n` …: copied with the next run
        o += Buffer.prototype.copy.call(input, out, o, i, Math.min(i + 2, input.length))
        i = input.indexOf(BACKSLASH, start)
        continue
      }
      if (i + 6 > input.length) break
      const code = hex4(input, i + 2)
      let length = 6
      let cp = -1
      if (code >= 0x80 && (code < 0xd800 || code > 0xdfff)) cp = code
      else if (code >= 0xd800 && code <= 0xdbff) {
        if (i + 12 > input.length) break
        const low = input[i + 6] === BACKSLASH && input[i + 7] === LETTER_U ? hex4(input, i + 8) : -1
        if (low >= 0xdc00 && low <= 0xdfff) {
          cp = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00)
          length = 12
        }
      }
      if (cp >= 0) o = writeUtf8(out, o, cp)
      else o += Buffer.prototype.copy.call(input, out, o, i, i + 6)
      start = i + length
      i = input.indexOf(BACKSLASH, start)
    }
    if (i >= 0) this.carry = input.slice(i)
    else o += Buffer.prototype.copy.call(input, out, o, start, input.length)
    return out.subarray(0, o)
  }

  /** What is left at the end of the stream (an incomplete escape: the tokenizer reports it). */
  end(): Uint8Array {
    const rest = this.carry ?? new Uint8Array(0)
    this.carry = null
    return rest
  }
}
