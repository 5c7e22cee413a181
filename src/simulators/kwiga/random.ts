/** Seeded PRNG (mulberry32) for dataset generation, plus a stateless hash for per-entity quirk decisions. */
export class Random {
  private state: number

  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9
  }

  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  /** Integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1))
  }

  chance(p: number): boolean {
    return this.next() < p
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]
  }

  /** k distinct elements, in random order (k is clamped to the array length). */
  sample<T>(items: readonly T[], k: number): T[] {
    const n = Math.min(k, items.length)
    if (n * 3 > items.length) {
      const copy = items.slice()
      for (let i = 0; i < n; i++) {
        const j = i + Math.floor(this.next() * (copy.length - i))
        ;[copy[i], copy[j]] = [copy[j], copy[i]]
      }
      return copy.slice(0, n)
    }
    const seen = new Set<number>()
    const out: T[] = []
    while (out.length < n) {
      const i = Math.floor(this.next() * items.length)
      if (seen.has(i)) continue
      seen.add(i)
      out.push(items[i])
    }
    return out
  }

  /** Random hex string of the given length. */
  hex(length: number): string {
    let s = ''
    while (s.length < length) s += Math.floor(this.next() * 16).toString(16)
    return s
  }

  /** Random string from an alphabet. */
  chars(length: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'): string {
    let s = ''
    for (let i = 0; i < length; i++) s += alphabet[Math.floor(this.next() * alphabet.length)]
    return s
  }

  uuid(): string {
    const h = this.hex(32)
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
  }
}

/** Deterministic value in [0, 1) from a few integers; stable across runs and mutations. */
export function hashUnit(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x85ebca6b, 0xc2b2ae35) ^ Math.imul(b + 0x27d4eb2f, 0x165667b1)
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) ^ Math.imul(c | 0, 0x297a2d39) ^ Math.floor(c / 4294967296)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return (h >>> 0) / 4294967296
}

/** 32-bit FNV-1a of a string, used to derive a default seed from a cabinet hash. */
export function hashString(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return h >>> 0
}
