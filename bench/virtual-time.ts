/**
 * Shared pieces of the simulated-clock benches (getcourse-polling, kwiga, accounts): a VirtualClock
 * that also counts response bodies and warehouse queries as work in flight, seeded random draws,
 * quantiles.
 */
import { createHash } from 'node:crypto'
import { Kysely, PostgresDialect } from 'kysely'
import type pg from 'pg'
import { VirtualClock } from '../src/clock.js'
import type { Warehouse } from '../src/db/index.js'
import type { Database } from '../src/db/schema.js'

/**
 * `VirtualClock` whose `busy` also covers the body of an HTTP response. `http.ts` marks a request
 * busy until its headers arrive; the body (a GetCourse export, a KWIGA page) is read afterwards, and
 * with many actors the clock would jump to another actor's wake-up while one is still reading.
 * Here a Response keeps the clock still until its body was read to the end or cancelled.
 */
export class BenchClock extends VirtualClock {
  /**
   * `holdBodies`: off by default, `BENCH_BODY_HOLD=1` turns it on. The export reader now parses the
   * re-chunked bodies fine, and in the accounts bench (60 actors) it changed nothing: with it off or
   * on, no export's `loaded_at` is later than its `ready_at`, i.e. the clock never moved while a body
   * was read. It stays off so the other benches keep their figures comparable.
   */
  constructor(
    start?: number,
    private readonly holdBodies = process.env.BENCH_BODY_HOLD === '1',
  ) {
    super(start)
  }

  override busy<T>(work: Promise<T>): Promise<T> {
    return super.busy(work.then((r) => this.holdBody(r)))
  }

  private holdBody<T>(r: T): T {
    if (!(r instanceof Response) || !r.body || !this.holdBodies) return r
    let done!: () => void
    void super.busy(new Promise<void>((resolve) => (done = resolve)))
    // Chunks are copied: the fetch body may hand out views of a buffer it reuses.
    const pass = new TransformStream<Uint8Array, Uint8Array>({ transform: (chunk, c) => c.enqueue(chunk.slice()) })
    r.body.pipeTo(pass.writable).then(done, done)
    return new Response(pass.readable, { status: r.status, statusText: r.statusText, headers: r.headers }) as T
  }
}

/**
 * The warehouse seen through the clock: every query and transaction is work in flight, so the
 * virtual clock does not jump to another account's wake-up while one account is writing (real
 * milliseconds of Postgres would otherwise turn into seconds or minutes of virtual time). Queries
 * never wait on the clock, so this cannot stall it.
 */
export function clockedWarehouse(wh: Warehouse, clock: VirtualClock): Warehouse {
  const pool = wh.pool
  if (!pool) throw new Error('the simulated-clock benches need a server warehouse')
  const wrapClient = (client: pg.PoolClient): pg.PoolClient =>
    new Proxy(client, {
      get(target, prop) {
        if (prop === 'query') {
          return (...args: unknown[]) => {
            const r = (target.query as (...a: unknown[]) => unknown)(...args)
            return r && typeof (r as Promise<unknown>).then === 'function' ? clock.busy(r as Promise<unknown>) : r
          }
        }
        const v = Reflect.get(target, prop, target) as unknown
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      },
    })
  const busyPool = { connect: async () => wrapClient(await clock.busy(pool.connect())), end: async () => {} }
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: busyPool as unknown as pg.Pool }) })
  return {
    db,
    kind: wh.kind,
    label: wh.label,
    pool,
    execScript: (text, before) => clock.busy(wh.execScript(text, before)),
    withTransaction: (fn) => clock.busy(wh.withTransaction(fn)),
    close: async () => {
      await db.destroy()
    },
  }
}

/** A uniform draw in (0, 1) fixed by `key`. */
export function uniform(key: string): number {
  const h = createHash('sha256').update(key).digest()
  return (h.readUInt32BE(0) + 0.5) / 2 ** 32
}

/** A standard normal draw fixed by `key` (Box–Muller over two keyed uniforms). */
export function normal(key: string): number {
  return Math.sqrt(-2 * Math.log(uniform(`${key}#a`))) * Math.cos(2 * Math.PI * uniform(`${key}#b`))
}

export function quantile(xs: readonly number[], q: number): number {
  if (!xs.length) return NaN
  const s = [...xs].sort((a, b) => a - b)
  const pos = (s.length - 1) * q
  const lo = Math.floor(pos)
  const hi = Math.ceil(pos)
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo)
}

export const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length

export const minutes = (ms: number) => `${(ms / 60_000).toFixed(1)} min`
