import type { KwigaCabinetConfig } from './config.js'
import { EtlError } from '../../errors.js'
import { httpTimeouts } from '../../http.js'
import type { Batch, SourceModule, Stream, StreamContext } from '../../contract.js'
import { KwigaClient } from './client.js'
import { kwigaCabinetSchema, type KwigaConfig } from './config.js'
import { kwigaOperator } from './operator.js'
import { contactProductsStream } from './contact-products.js'
import { contactsStream } from './contacts.js'
import { courseUsersStream } from './course-users.js'
import { contactListsStream, couponsStream, coursesStream, offersStream, productsStream, timezonesStream } from './dimensions.js'
import { DEFAULT_KWIGA_OPTIONS, type KwigaSourceOptions, type KwigaStreamDef, type ResolvedKwigaOptions } from './stream-context.js'

export type { KwigaSourceOptions } from './stream-context.js'

/** Run order within one cabinet: dimensions first; course_users reads the course ids `courses` stored. */
export const KWIGA_STREAMS = ['timezones', 'products', 'offers', 'courses', 'coupons', 'contact_lists', 'contacts', 'contact_products', 'course_users'] as const

export type KwigaStreamName = (typeof KWIGA_STREAMS)[number]

// Each stream has its own state type (checked by its schema when the runner loads it).
const RUNS: Record<KwigaStreamName, (cabinet: string) => KwigaStreamDef<any>> = {
  timezones: timezonesStream,
  products: productsStream,
  offers: offersStream,
  courses: coursesStream,
  coupons: couponsStream,
  contact_lists: contactListsStream,
  contacts: contactsStream,
  contact_products: contactProductsStream,
  course_users: courseUsersStream,
}

/** The KWIGA source with its tunables; `kwigaSource` uses the defaults. */
export function createKwigaSource(overrides: KwigaSourceOptions = {}): SourceModule<KwigaCabinetConfig, KwigaConfig> {
  const options: ResolvedKwigaOptions = { ...DEFAULT_KWIGA_OPTIONS, ...overrides }
  return {
    name: 'kwiga',
    title: 'KWIGA',
    streamNames: KWIGA_STREAMS,
    accountSchema: kwigaCabinetSchema,
    secrets: (cabinet) => [cabinet.token, cabinet.cabinetHash],
    accountColumn: 'cabinet',
    // The API tells no cabinet's zone (docs/kwiga.md); the platform and its schools keep Kyiv time.
    accountZone: () => 'Europe/Kyiv',
    operator: kwigaOperator,
    streams(config, selection) {
      if (selection.source === 'kwiga') {
        const unknown = (selection.streams ?? []).filter((s) => !(KWIGA_STREAMS as readonly string[]).includes(s))
        if (unknown.length) throw new EtlError('USAGE', `Unknown kwiga stream(s) ${unknown.join(', ')}; expected: ${KWIGA_STREAMS.join(', ')}`)
      }
      const cabinets = config.kwiga.filter((c) => !selection.accounts?.length || selection.accounts.includes(c.name))
      const names = KWIGA_STREAMS.filter((s) => !selection.streams?.length || selection.streams.includes(s))
      return cabinets.flatMap((cabinet) => names.map((name) => kwigaStream(cabinet, name, options)))
    },
  }
}

export const kwigaSource = createKwigaSource()

function kwigaStream<S>(cabinet: KwigaCabinetConfig, name: KwigaStreamName, options: ResolvedKwigaOptions): Stream<S> {
  const def: KwigaStreamDef<S> = RUNS[name](cabinet.name)
  return {
    source: 'kwiga',
    account: cabinet.name,
    name,
    stateSchema: def.state,
    run(ctx: StreamContext<S>): AsyncIterable<Batch<S>> {
      const client = new KwigaClient({
        cabinet,
        clock: ctx.clock,
        log: ctx.log,
        signal: ctx.signal,
        onRequest: () => ctx.countRequests(1),
        maxRateLimitWaitMs: options.maxRateLimitWaitMs,
        http: httpTimeouts(ctx.config.http),
      })
      const full = (watermark: unknown, lastFullAt: string | null) =>
        Boolean(ctx.options.full) || watermark == null || lastFullAt === null || ctx.clock.now() - Date.parse(lastFullAt) >= options.fullRefreshMs
      return def.run({ ctx, client, cabinet, options, full })
    },
  }
}
