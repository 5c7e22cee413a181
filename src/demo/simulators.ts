import { systemClock, type Clock } from '../clock.js'
import { startGetcourseSimulator, type GetcourseSim } from '../simulators/getcourse/server.js'
import { startKwigaSimulator, type KwigaSim } from '../simulators/kwiga/server.js'

export interface DemoSizes {
  getcourse: { users: number; deals: number; payments: number; groups: number }
  kwiga: { contacts: number; courses: number; usersPerCourse: number }
}

/** Realistic for a small school, and still a sync of well under a minute. */
export const DEMO_SIZES: DemoSizes = {
  getcourse: { users: 5000, deals: 8000, payments: 5000, groups: 6 },
  kwiga: { contacts: 3000, courses: 5, usersPerCourse: 200 },
}

/** Names and fake credentials of the demo accounts; the keys reach the config through env (`${VAR:-default}`). */
export const DEMO_ACCOUNTS = {
  getcourse: { name: 'demo-school', keyEnv: 'DEMO_GETCOURSE_KEY', key: 'demo-getcourse-key-not-a-secret' },
  kwiga: {
    name: 'demo-cabinet',
    tokenEnv: 'DEMO_KWIGA_TOKEN',
    token: 'demo-kwiga-token-not-a-secret',
    hashEnv: 'DEMO_KWIGA_CABINET_HASH',
    hash: 'demo-cabinet-hash',
  },
} as const

/**
 * Limits the simulators enforce and the config declares: the same numbers on both sides, so the ETL
 * paces itself exactly as it would against the real services, only with roomier limits.
 * GetCourse really allows 100 requests / 2 h (a full history then takes hours); KWIGA 200 / min.
 */
export const DEMO_LIMITS = {
  getcourseBudget: { requests: 100, windowSeconds: 30, reserve: 10 },
  kwigaRateLimit: { requests: 10_000, windowSeconds: 60 },
  /** GetCourse exports become ready after 50–500 ms here (real accounts: seconds to many minutes). */
  getcourseReadyMs: (rows: number) => Math.min(500, 50 + Math.round(rows * 0.1)),
  getcoursePoll: { firstCheckSeconds: 0.1, maxIntervalSeconds: 1, timeoutSeconds: 120 },
} as const

export interface DemoSimulators {
  getcourseUrl: string
  kwigaUrl: string
  getcourse: GetcourseSim
  kwiga: KwigaSim
  close(): Promise<void>
}

/**
 * The simulators generate their history backwards from their clock's "now". Pinning that "now" to
 * the start of the current UTC day (then letting it run in real time, so readiness and rate windows
 * behave) makes the data identical across runs of the same day: a second demo run finds nothing new.
 */
export function anchoredClock(anchor: number): Clock {
  const started = Date.now()
  return { now: () => anchor + (Date.now() - started), sleep: systemClock.sleep, busy: systemClock.busy }
}

export function startOfUtcDay(ms = Date.now()): number {
  return Math.floor(ms / 86_400_000) * 86_400_000
}

export async function startDemoSimulators(sizes: DemoSizes, env: Record<string, string>, anchor = startOfUtcDay()): Promise<DemoSimulators> {
  const clock = anchoredClock(anchor)
  const { getcourse: gcAccount, kwiga: kwCabinet } = DEMO_ACCOUNTS
  const getcourse = await startGetcourseSimulator({
    accounts: [{ account: gcAccount.name, key: env[gcAccount.keyEnv]!, ...sizes.getcourse, currency: 'RUB', seed: 2026 }],
    budget: { requests: DEMO_LIMITS.getcourseBudget.requests, windowSeconds: DEMO_LIMITS.getcourseBudget.windowSeconds },
    readyAfterMs: ({ rows }) => DEMO_LIMITS.getcourseReadyMs(rows),
    clock,
    // Export ids must not repeat across demo runs: the warehouse remembers earlier exports. A run
    // issues about two ids per export, so 100 ids per millisecond of wall clock keep two runs apart
    // however soon the second starts (tenths of a second let a fast second run reuse the first's ids).
    firstExportId: Date.now() * 100,
  })
  let kwiga: KwigaSim
  try {
    kwiga = await startKwigaSimulator({
      cabinets: [{ token: env[kwCabinet.tokenEnv]!, cabinetHash: env[kwCabinet.hashEnv]!, ...sizes.kwiga, seed: 2026 }],
      rateLimit: DEMO_LIMITS.kwigaRateLimit,
      clock,
    })
  } catch (err) {
    await getcourse.close()
    throw err
  }
  return {
    getcourseUrl: getcourse.urlFor(gcAccount.name),
    kwigaUrl: kwiga.url,
    getcourse,
    kwiga,
    async close() {
      await Promise.allSettled([getcourse.close(), kwiga.close()])
    },
  }
}
