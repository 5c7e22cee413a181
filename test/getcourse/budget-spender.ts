/**
 * A tiny "second host" for ledger-clock.test.ts: one process that spends the GetCourse request budget of
 * one account through the ledger, on its own process clock (run under `faketime` to skew it), and prints
 * how many requests the ledger let it send. Not a test file: the test spawns it with `node --import tsx`.
 *
 * argv: <database url> <config JSON of one getcourse entry> <attempts>
 */
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { parseConfig } from '../../src/config.js'
import type { Database } from '../../src/db/schema.js'
import { reserveRequest } from '../../src/sources/getcourse/ledger.js'

const [url, entry, attempts] = process.argv.slice(2)
const account = parseConfig({ getcourse: [JSON.parse(entry!)] }).getcourse[0]!
const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: url, max: 1 }) }) })
let spent = 0
/** How long the ledger said to wait at the first refusal, on this process's clock. */
let waitMs: number | null = null
try {
  for (let i = 0; i < Number(attempts); i++) {
    // Date.now() is what the system clock hands the ledger in production (client.ts: clock.now()).
    const r = await reserveRequest(db, account, { kind: 'poll', stream: 'users' }, Date.now())
    if (!r.ok) {
      waitMs = r.until - Date.now()
      break
    }
    spent++
  }
  process.stdout.write(`${JSON.stringify({ spent, waitMs, processNow: new Date().toISOString() })}\n`)
} finally {
  await db.destroy()
}
