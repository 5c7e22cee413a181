import { lastSuccessRequests } from '../../db/runs.js'
import type { KwigaCabinetConfig } from './config.js'
import { EtlError, errorMessage } from '../../errors.js'
import { httpTimeouts } from '../../http.js'
import type { AccessCheck, AccountPlan, OperatorFacts } from '../operator.js'
import { KwigaClient } from './client.js'

/** The table each stream fills first (its other tables are children of these rows). */
const TABLE: Record<string, string> = {
  timezones: 'kwiga.timezones',
  products: 'kwiga.products',
  offers: 'kwiga.offers',
  courses: 'kwiga.courses',
  coupons: 'kwiga.coupons',
  contact_lists: 'kwiga.contact_lists',
  contacts: 'kwiga.contacts',
  contact_products: 'kwiga.contact_products',
  course_users: 'kwiga.course_users',
}

/** KWIGA facts for `status --check`, `check` and `plan`. */
export const kwigaOperator: OperatorFacts = {
  streamTable(stream) {
    const table = TABLE[stream]
    return table ? { table, accountColumn: 'cabinet' } : null
  },

  /**
   * One `GET /timezones` per cabinet: the smallest list the API has, and it needs both the token and
   * the cabinet hash (§1). It costs 1 request of the token's 200 a minute (up to 6 when
   * the network makes it retry); KWIGA has no other budget.
   */
  async checkAccess(_db, config, deps) {
    const out: AccessCheck[] = []
    for (const cabinet of config.kwiga) out.push(await checkToken(cabinet, config, deps))
    return out
  },

  /**
   * KWIGA has no request budget and no way to count pages in advance: the estimate is what each
   * stream's last run of the same kind (full or incremental) asked for, at the cabinet's rate limit.
   */
  async plan(db, config, options, now) {
    const cabinets = config.kwiga.filter((c: KwigaCabinetConfig) => !options.accounts?.length || options.accounts.includes(c.name))
    const out: AccountPlan[] = []
    for (const cabinet of cabinets) {
      const last = await lastSuccessRequests(db, 'kwiga', cabinet.name)
      const streams = Object.keys(TABLE)
        .filter((s) => !options.streams?.length || options.streams.includes(s))
        .map((stream) => ({
          stream,
          exports: null,
          requests: last.get(stream) ?? null,
          note: last.has(stream) ? 'as many requests as its last successful run' : 'never ran: one request per page of everything',
        }))
      const known = streams.filter((s) => s.requests !== null)
      const requests = known.length ? known.reduce((n, s) => n + (s.requests ?? 0), 0) : null
      const perMinute = cabinet.rateLimit.requests / (cabinet.rateLimit.windowSeconds / 60)
      const finish = requests === null ? null : new Date(now + (requests / perMinute) * 60_000).toISOString()
      const notes = [`no request budget; rate limit ${cabinet.rateLimit.requests} requests / ${cabinet.rateLimit.windowSeconds} s`]
      if (known.length < streams.length) notes.push(`${streams.length - known.length} stream(s) never ran: their pages cannot be counted in advance`)
      out.push({ account: cabinet.name, streams, exports: null, requests, budgetWindows: null, windowSeconds: null, expectedFinish: finish, notes })
    }
    return out
  },
}

async function checkToken(
  cabinet: KwigaCabinetConfig,
  config: Parameters<NonNullable<OperatorFacts['checkAccess']>>[1],
  deps: Parameters<NonNullable<OperatorFacts['checkAccess']>>[2],
): Promise<AccessCheck> {
  let requests = 0
  const client = new KwigaClient({
    cabinet,
    clock: deps.clock,
    log: deps.log,
    signal: deps.signal,
    onRequest: () => requests++,
    maxRateLimitWaitMs: 60_000,
    attempts: 2,
    invalidBodyAttempts: 1,
    http: httpTimeouts(config.http),
  })
  const what = `GET ${cabinet.baseUrl}/timezones`
  try {
    const body = await client.get('/timezones')
    if (body === null) return { account: cabinet.name, ok: false, what, requests, detail: 'HTTP_STATUS: 404 on /timezones (is baseUrl the KWIGA API?)' }
    return { account: cabinet.name, ok: true, what, requests, detail: 'token and cabinet hash accepted' }
  } catch (err) {
    const code = err instanceof EtlError ? `${err.code}: ` : ''
    return { account: cabinet.name, ok: false, what, requests, detail: `${code}${errorMessage(err)}` }
  }
}
