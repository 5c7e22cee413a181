import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config.js'
import type { KwigaCabinetConfig } from '../../src/sources/kwiga/config.js'
import { EtlError } from '../../src/errors.js'
import { httpTimeouts } from '../../src/http.js'
import { startKwigaSimulator, type KwigaSim } from '../../src/simulators/kwiga/server.js'
import { KwigaClient, type KwigaClientOptions } from '../../src/sources/kwiga/client.js'
import { fetchPages } from '../../src/sources/kwiga/pages.js'
import { quietLog } from '../support/database.js'

/** Issue #15 items 1 and 11 for KWIGA pages: a page body read whole is capped and a stalled one retried. */
const TOKEN = 'tok-caps-9a1c2e3f4b'
const HASH = 'hash-caps-6d7e8f'
let sim: KwigaSim
let cabinet: KwigaCabinetConfig

beforeAll(async () => {
  sim = await startKwigaSimulator({
    cabinets: [{ token: TOKEN, cabinetHash: HASH, contacts: 30, seed: 5 }],
    rateLimit: { requests: 10_000, windowSeconds: 60 },
  })
  cabinet = parseConfig({ kwiga: [{ name: 'caps', token: TOKEN, cabinetHash: HASH, baseUrl: sim.url }] }).kwiga[0]!
})
afterAll(async () => {
  await sim?.close()
})

const client = (extra: Partial<KwigaClientOptions> = {}) =>
  new KwigaClient({ cabinet, clock: systemClock, log: quietLog, http: httpTimeouts({ headersTimeoutSeconds: 1, idleTimeoutSeconds: 1 }), ...extra })

async function crawl(c: KwigaClient): Promise<number> {
  let items = 0
  for await (const page of fetchPages(c, { path: '/contacts', pageSize: 10, sizeParam: 'limit' })) items += page.items.length
  return items
}

describe('KWIGA page bodies', () => {
  it('a 64 MB page fails at the cap with RESPONSE_INVALID, once (an oversized page is not asked for again)', async () => {
    const before = sim.requests.length
    sim.injectFault({ kind: 'huge', bytes: 64 * 1024 * 1024, path: /page=2/ })
    const started = Date.now()
    const err = await crawl(client({ maxAnswerBytes: 1024 * 1024 })).then(
      () => null,
      (e: unknown) => e as EtlError,
    )
    expect(err).toBeInstanceOf(EtlError)
    expect(err!.code).toBe('RESPONSE_INVALID')
    expect(err!.message).toMatch(/GET .*\/contacts\?page=2.* answered with a longer body, more than the 1 MB an answer read whole may have/)
    expect(err!.message).not.toContain(TOKEN)
    expect(sim.requests.slice(before).filter((r) => r.query.page === '2')).toHaveLength(1)
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('pages under the cap crawl as before', async () => {
    expect(await crawl(client({ maxAnswerBytes: 1024 * 1024 }))).toBe(30)
  })

  it('a page body that stalls is cut by the idle timeout and read again', async () => {
    const before = sim.requests.length
    sim.injectFault({ kind: 'stall', path: /page=2/ })
    const started = Date.now()
    expect(await crawl(client())).toBe(30)
    expect(sim.requests.slice(before).filter((r) => r.query.page === '2')).toHaveLength(2)
    // One idle timeout (1 s) plus the first backoff of the page retry (0.5–1 s).
    expect(Date.now() - started).toBeLessThan(4_000)
  })
})
