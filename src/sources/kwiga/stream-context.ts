import type { ZodType } from 'zod'
import type { KwigaCabinetConfig } from './config.js'
import type { Batch, StreamContext } from '../../contract.js'
import type { KwigaClient } from './client.js'
import type { CrawlPlan, CrawlState } from './crawl.js'

/** Tunables of the KWIGA source; every field has a default (`createKwigaSource`). */
export interface KwigaSourceOptions {
  /** Re-read window subtracted from every watermark. @default 1 day */
  overlapMs?: number
  /** Incremental streams re-read everything when their last full read is older. @default 7 days */
  fullRefreshMs?: number
  /** contact_products: contacts re-checked per run on top of the changed ones. @default 200 */
  sweepSize?: number
  /** contact_products: contacts per committed batch. @default 25 */
  contactsPerBatch?: number
  /** Total wait on 429s for one request before the stream fails. @default 15 min */
  maxRateLimitWaitMs?: number
  /** Page size asked for on contacts (the server may cap it; `meta.per_page` is read back). @default 100 */
  contactsPageSize?: number
}

export type ResolvedKwigaOptions = Required<KwigaSourceOptions>

export const DEFAULT_KWIGA_OPTIONS: ResolvedKwigaOptions = {
  overlapMs: 24 * 3600_000,
  fullRefreshMs: 7 * 24 * 3600_000,
  sweepSize: 200,
  contactsPerBatch: 25,
  maxRateLimitWaitMs: 15 * 60_000,
  contactsPageSize: 100,
}

/** What a stream's run function gets: the runner's context plus this cabinet's client. */
export interface StreamKit<S> {
  ctx: StreamContext<S>
  client: KwigaClient
  cabinet: KwigaCabinetConfig
  options: ResolvedKwigaOptions
  /** Whether an incremental stream reads everything this run (`--full`, no watermark, or due). */
  full(watermark: unknown, lastFullAt: string | null): boolean
}

/** A KWIGA stream: its state schema and what it does with its kit. */
export interface KwigaStreamDef<S> {
  state: ZodType<S>
  run(k: StreamKit<S>): AsyncIterable<Batch<S>>
}

/**
 * The plan saved by a run that did not finish (resumed at its page, with its filters), unless
 * `--full` asks for more than that plan covers; otherwise a fresh plan.
 */
export function resumablePlan<C>(ctx: StreamContext<CrawlState<C>>, fresh: () => CrawlPlan<C>): CrawlPlan<C> {
  const saved = ctx.state?.plan
  if (saved && (!ctx.options.full || saved.full)) {
    ctx.log.info({ step: saved.step, page: saved.page }, 'resuming the crawl where the last run stopped')
    return saved
  }
  return fresh()
}
