import { Readable } from 'node:stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { systemClock } from '../../src/clock.js'
import { parseConfig } from '../../src/config.js'
import type { GetcourseAccountConfig } from '../../src/sources/getcourse/config.js'
import { EtlError } from '../../src/errors.js'
import { httpTimeouts, type HttpTimeouts } from '../../src/http.js'
import { startGetcourseSimulator, type GetcourseSim } from '../../src/simulators/getcourse/server.js'
import { GetcourseClient, type ClientDeps } from '../../src/sources/getcourse/client.js'
import { readExport } from '../../src/sources/getcourse/export-reader.js'
import { createTestWarehouse, quietLog, type TestWarehouse } from '../support/database.js'

/**
 * Issue #15 items 1 and 11 through the real GetCourse client over loopback HTTP: an export body that
 * keeps trickling for far longer than both timeouts downloads; one that stalls fails within the idle
 * timeout; a direct answer larger than the cap fails without being read whole.
 */
const KEY = 'gc-limits-key-4d8e1f0a'
// Test scale: 1 s for both timeouts (the config's minimum), bodies trickling for 5 s.
const TIMEOUTS: HttpTimeouts = httpTimeouts(parseConfig({ http: { headersTimeoutSeconds: 1, idleTimeoutSeconds: 1 } }).http)

let sim: GetcourseSim
let wh: TestWarehouse
let account: GetcourseAccountConfig

beforeAll(async () => {
  sim = await startGetcourseSimulator({
    accounts: [{ account: 'slow', key: KEY, users: 400, groups: 2 }],
    readyAfterMs: () => 0,
    budget: { requests: 1000, windowSeconds: 7200 },
  })
  wh = await createTestWarehouse()
  account = parseConfig({
    getcourse: [{ name: 'slow', account: 'slow', key: KEY, baseUrl: sim.urlFor('slow'), budget: { requests: 1000, windowSeconds: 7200, reserve: 10 } }],
  }).getcourse[0]!
})

afterAll(async () => {
  await sim?.close()
  await wh?.dispose()
})

function client(extra: Partial<ClientDeps> = {}): GetcourseClient {
  return new GetcourseClient(account, {
    db: wh.db,
    clock: systemClock,
    log: quietLog,
    signal: new AbortController().signal,
    countRequest: () => {},
    budgetWaitMs: 0,
    http: TIMEOUTS,
    ...extra,
  })
}

/** Starts a users export and returns its id (ready at once in this simulator). */
async function readyExport(c: GetcourseClient): Promise<string> {
  const started = await c.startExport('users', { 'created_at[from]': '2000-01-01' })
  if (started.kind !== 'started') throw new Error('export slot busy')
  return started.exportId
}

/** Downloads an export the way the export stream does: the body streamed through the export reader. */
async function download(c: GetcourseClient, exportId: string): Promise<{ rows: number; bytes: number }> {
  const result = await c.checkExport(exportId, 'users')
  if (result.kind !== 'body') throw new Error(`export ${exportId}: ${result.error.message}`)
  let bytes = 0
  const body = Readable.fromWeb(result.response.body as never).on('data', (chunk: Buffer) => (bytes += chunk.length))
  let rows = 0
  for await (const event of readExport(body, { batchSize: 50, label: `export ${exportId}` })) rows += event.rows.length
  return { rows, bytes }
}

describe('GetCourse export download timeouts', () => {
  it('an export body trickling for 5 s (5× the 1 s headers and idle timeouts) loads whole', async () => {
    const c = client()
    const exportId = await readyExport(c)
    const whole = await download(c, exportId)
    expect(whole.rows).toBe(400)
    // ~100 ticks of 50 ms: the body flows for ~5 s, never silent for a whole second.
    sim.injectFault('slow', { kind: 'slow', bytesPerTick: Math.ceil(whole.bytes / 100), tickMs: 50 })
    const started = Date.now()
    const slow = await download(c, exportId)
    const took = Date.now() - started
    expect(slow).toEqual(whole)
    expect(took).toBeGreaterThan(4_500)
  })

  it('an export body that stalls fails within the idle timeout, naming it, the bytes and the rows received', async () => {
    const c = client()
    const exportId = await readyExport(c)
    const { bytes } = await download(c, exportId)
    const stallAfter = Math.floor(bytes / 2)
    sim.injectFault('slow', { kind: 'slow', bytesPerTick: Math.ceil(bytes / 20), tickMs: 50, stallAfterBytes: stallAfter })
    const started = Date.now()
    const err = await download(c, exportId).then(
      () => null,
      (e: unknown) => e as EtlError,
    )
    const took = Date.now() - started
    expect(err).toBeInstanceOf(EtlError)
    // The export reader's code for a body that did not arrive whole; the cause is the idle timeout.
    expect(err!.code).toBe('RESPONSE_INVALID')
    expect(err!.message).toMatch(
      new RegExp(`export ${exportId}: .* after \\d+ rows \\(.*the body stalled, no data for 1 s \\(http\\.idleTimeoutSeconds\\) after ${stallAfter} bytes\\)`),
    )
    expect((err!.cause as EtlError).code).toBe('HTTP_TIMEOUT')
    expect(err!.message).not.toContain(KEY)
    // ~0.5 s of trickle before the stall, then the 1 s idle timeout.
    expect(took).toBeLessThan(2_500)
  })
})

describe('GetCourse answers read whole are capped', () => {
  const CAP = 1024 * 1024

  it('a 64 MB groups answer fails at the cap instead of being read into memory', async () => {
    sim.injectFault('slow', { kind: 'huge', bytes: 64 * 1024 * 1024, path: /\/groups$/ })
    const started = Date.now()
    const err = await client({ maxAnswerBytes: CAP })
      .groups()
      .then(
        () => null,
        (e: unknown) => e as EtlError,
      )
    expect(err).toBeInstanceOf(EtlError)
    expect(err!.code).toBe('RESPONSE_INVALID')
    expect(err!.message).toMatch(/POST .*\/pl\/api\/account\/groups answered with a longer body, more than the 1 MB an answer read whole may have/)
    expect(Date.now() - started).toBeLessThan(5_000)
  })

  it('a huge answer to an export start or a fields call fails the same way; small answers still work', async () => {
    const c = client({ maxAnswerBytes: CAP })
    sim.injectFault('slow', { kind: 'huge', bytes: 8 * 1024 * 1024, path: /\/users$/ })
    await expect(c.startExport('users', { 'created_at[from]': '2000-01-01' })).rejects.toMatchObject({ code: 'RESPONSE_INVALID' })
    sim.injectFault('slow', { kind: 'huge', bytes: 8 * 1024 * 1024, path: /\/fields$/ })
    await expect(c.fields()).rejects.toMatchObject({ code: 'RESPONSE_INVALID' })
    expect((await c.groups()).length).toBe(2)
  })

  it('the export download itself is not capped', async () => {
    const c = client({ maxAnswerBytes: 10_000 })
    const exportId = await readyExport(c)
    const { rows, bytes } = await download(c, exportId)
    expect(rows).toBe(400)
    expect(bytes).toBeGreaterThan(10_000)
  })
})
