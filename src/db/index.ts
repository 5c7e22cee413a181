import { mkdirSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { Kysely, PostgresDialect } from 'kysely'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import pg from 'pg'
import { from as copyFrom } from 'pg-copy-streams'
import type { Logger } from '../log.js'
import { PGliteDialect } from './pglite-dialect.js'
import type { Db } from '../contract.js'
import { templateFor, unpackTemplate } from './pglite-template.js'
import type { Database } from './schema.js'

// bigint (int8) and numeric stay strings (no precision loss); counts are cast to int in SQL.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v)

export type { Db }

/** shared_buffers of the embedded database (PGlite's default is 128 MB). */
export const EMBEDDED_SHARED_BUFFERS = '16MB'

/** Streams COPY text into `COPY … FROM STDIN` on the transaction's own connection (server only). */
export type CopyIn = (copySql: string, chunks: Iterable<string | Uint8Array> | AsyncIterable<string | Uint8Array>) => Promise<void>

export interface Warehouse {
  readonly db: Db
  readonly kind: 'server' | 'embedded'
  /** Human description without credentials, e.g. `postgres://127.0.0.1:5432/test` or `embedded:.data/warehouse`. */
  readonly label: string
  /** Run a multi-statement SQL script in one transaction (migrations). */
  execScript(sql: string, before?: (q: (text: string, params?: unknown[]) => Promise<unknown[]>) => Promise<boolean>): Promise<void>
  /**
   * Run `fn` in one transaction. On a server `copy` is available: the batch loader uses it to COPY
   * rows into a staging table on the same connection (several times faster than parameters).
   */
  withTransaction<T>(fn: (tx: Db, copy?: CopyIn) => Promise<T>): Promise<T>
  /** The pg pool when on a server (COPY, advisory locks on a dedicated session). */
  readonly pool?: pg.Pool
  readonly pglite?: PGlite
  close(): Promise<void>
}

export interface OpenWarehouseOptions {
  /** postgres:// URL; absent → embedded PGlite under `dataDir/warehouse`. */
  database?: string
  dataDir?: string
  /** Embedded only: keep the database in memory (tests). */
  memory?: boolean
  log: Logger
  pool?: pg.PoolConfig
  /**
   * Embedded only: let V8 recompile PGlite's hot WebAssembly with its optimizing compiler, for
   * commands that load (sync, load-file, schedule, the demo). Otherwise the baseline code alone:
   * 40–90 MB less per process (finding 14). @default false
   */
  optimizeWasm?: boolean
}

export function describeUrl(url: string): string {
  try {
    const u = new URL(url)
    return `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`
  } catch {
    return 'postgres://(unparseable url)'
  }
}

/**
 * A transaction on one checked-out client, seen through a Kysely bound to that client, so that COPY
 * (pg-copy-streams needs the raw client) and ordinary queries share the transaction.
 */
async function serverTransaction<T>(pool: pg.Pool, log: Logger, fn: (tx: Db, copy?: CopyIn) => Promise<T>): Promise<T> {
  const client = await pool.connect()
  const bound = { query: client.query.bind(client), release: () => {} } as unknown as pg.PoolClient
  const single = { connect: async () => bound, end: async () => {} }
  const tx = new Kysely<Database>({ dialect: new PostgresDialect({ pool: single }) })
  const copy: CopyIn = async (copySql, chunks) => {
    await pipeline(Readable.from(chunks), client.query(copyFrom(copySql)))
  }
  let broken: Error | undefined
  try {
    await client.query('begin')
    const result = await fn(tx, copy)
    await client.query('commit')
    return result
  } catch (err) {
    await client.query('rollback').catch((e: Error) => {
      broken = e
      log.debug({ err: e }, 'rollback failed; discarding the connection')
    })
    throw err
  } finally {
    client.release(broken)
  }
}

/**
 * `close()` for both kinds: Kysely's driver starts lazily and its `destroy()` does nothing when no
 * Kysely query ran (`migrate` only uses `pool.connect()` / `execScript`), which left the pg pool open
 * and the process waiting for its 30 s idle timeout (issue 20). So the pool / PGlite is ended here
 * directly, after Kysely, whatever Kysely did; repeated or concurrent calls share the first one.
 */
function closeOnce(db: Db, end: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined
  return () => {
    closing ??= (async () => {
      try {
        await db.destroy()
      } finally {
        await end()
      }
    })()
    return closing
  }
}

export async function openWarehouse(options: OpenWarehouseOptions): Promise<Warehouse> {
  const { log } = options
  if (options.database) {
    const pool = new pg.Pool({
      connectionString: options.database,
      application_name: 'course-etl',
      max: 10,
      // Streams queue for a connection when many accounts load at once; waiting is normal, not an error.
      connectionTimeoutMillis: 120_000,
      idleTimeoutMillis: 30_000,
      ...options.pool,
    })
    pool.on('error', (err) => log.warn({ err }, 'idle postgres client error'))
    // pg emits 'error' on a checked-out client whose session dies (server restart, pg_terminate_backend);
    // unheard, that is an uncaught exception that kills the process. The query in flight rejects anyway.
    pool.on('connect', (client) => client.on('error', (err) => log.debug({ err }, 'postgres session lost')))
    const db = new Kysely<Database>({
      dialect: new PostgresDialect({ pool }),
      log: (e) => {
        if (e.level === 'error') log.debug({ err: e.error, sql: e.query.sql.slice(0, 500), ms: e.queryDurationMillis }, 'query failed')
      },
    })
    return {
      db,
      kind: 'server',
      withTransaction: (fn) => serverTransaction(pool, log, fn),
      label: describeUrl(options.database),
      pool,
      async execScript(text, before) {
        const client = await pool.connect()
        try {
          await client.query('begin')
          const q = async (t: string, p?: unknown[]) => (await client.query(t, p)).rows
          if (before && !(await before(q))) {
            await client.query('rollback')
            return
          }
          await client.query(text)
          await client.query('commit')
        } catch (err) {
          await client.query('rollback').catch(() => {})
          throw err
        } finally {
          client.release()
        }
      },
      // Kysely's destroy may already have ended the pool; pg throws on a second `end()`.
      close: closeOnce(db, async () => {
        if (!pool.ending) await pool.end()
      }),
    }
  }

  let dataDir = 'memory://'
  if (!options.memory) {
    dataDir = path.resolve(options.dataDir ?? './.data', 'warehouse')
    mkdirSync(dataDir, { recursive: true })
  }
  // Same value types as the server driver: int8 stays a string (no precision loss), like pg above.
  // A fresh data directory starts from the shipped template instead of initdb (pglite-template.ts).
  // shared_buffers: PGlite's default of 128 MB lives in the WebAssembly heap and only grows the
  // process; the OS page cache holds the files anyway (README "Embedded warehouse: memory").
  // On disk the template is unpacked into the directory first (far less memory than loadDataDir).
  await unpackTemplate(dataDir, log)
  wasmTiering(options.optimizeWasm ?? false)
  const pglite = new PGlite(dataDir, {
    parsers: { 20: (v: string) => v },
    loadDataDir: dataDir === 'memory://' ? templateFor(dataDir, log) : undefined,
    postgresqlconf: [`shared_buffers=${EMBEDDED_SHARED_BUFFERS}`],
  })
  await pglite.waitReady
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) })
  return {
    db,
    kind: 'embedded',
    withTransaction: (fn) => db.transaction().execute((trx) => fn(trx)),
    label: options.memory ? 'embedded:memory' : `embedded:${path.relative(process.cwd(), dataDir) || dataDir}`,
    pglite,
    async execScript(text, before) {
      // Goes through Kysely's connection so it queues behind any open transaction.
      await db.connection().execute(async (conn) => {
        const q = async (t: string, p?: unknown[]) => (await pglite.query(t, p)).rows
        void conn
        await pglite.exec('begin')
        try {
          if (before && !(await before(q))) {
            await pglite.exec('rollback')
            return
          }
          await pglite.exec(text)
          await pglite.exec('commit')
        } catch (err) {
          await pglite.exec('rollback').catch(() => {})
          throw err
        }
      })
    },
    close: closeOnce(db, async () => {
      if (!pglite.closed) await pglite.close()
    }),
  }
}

/**
 * PGlite's Postgres is one large WebAssembly module. V8 compiles it with its baseline compiler
 * (Liftoff), then recompiles the hot functions with TurboFan on background threads: that second
 * copy of the code and the compiler's own memory cost 40–90 MB of RSS in every embedded process.
 * Commands that read (dump, status, runs, …) run as fast on Liftoff's code alone; a sync spends
 * long enough in Postgres for the optimized code to pay off (the demo: 7 % faster, 50–70 MB more;
 * bench/RESULTS.md, finding 14). Set before the module is compiled.
 */
function wasmTiering(optimize: boolean): void {
  try {
    setFlagsFromString(optimize ? '--no-liftoff-only' : '--liftoff-only')
  } catch {
    // A runtime without the flag keeps its default tiering.
  }
}
