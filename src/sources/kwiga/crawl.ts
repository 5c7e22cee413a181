import type { TableWrite } from '../../db/upsert.js'
import { errorMessage } from '../../errors.js'
import type { Batch, RejectInput, StreamContext } from '../types.js'
import type { KwigaClient, Query } from './client.js'
import { fetchPages, type Page } from './pages.js'
import { recordKeyOf } from './normalize.js'

/** One paginated list to read; plain JSON so a plan can be saved in the stream state. */
export interface CrawlStep {
  /** Names the step in logs and progress (`contacts created`, `course 12`). */
  label: string
  path: string
  query: [string, string | number][]
  pageSize: number
  sizeParam?: 'per_page' | 'limit'
  idPath?: string[]
}

/**
 * A crawl in progress: the steps fixed when the run started (with their filters), where it stands,
 * and the watermark candidate gathered so far. Saved with every page, so a killed run resumes at the
 * page it reached with the same filters; the watermark itself moves only when the plan completes.
 */
export interface CrawlPlan<C> {
  steps: CrawlStep[]
  step: number
  page: number
  candidate: C
  full: boolean
}

/** What one page contributes to its batch. */
export interface PageLoad<C> {
  writes: TableWrite[]
  rejects: RejectInput[]
  candidate: C
}

export interface CrawlOptions<C> {
  ctx: StreamContext
  client: KwigaClient
  plan: CrawlPlan<C>
  /** Stream state kept beside the plan on every page (watermarks of the previous run). */
  saved: Record<string, unknown>
  load(step: CrawlStep, page: Page, candidate: C): Promise<PageLoad<C>> | PageLoad<C>
  /** The state once every step completed (advanced watermark, no plan). */
  finish(candidate: C): Record<string, unknown>
}

/** Run a plan page by page: one Batch per page, then one closing Batch with the final state. */
export async function* runCrawl<C>(options: CrawlOptions<C>): AsyncGenerator<Batch> {
  const { ctx, client, saved } = options
  const plan = { ...options.plan }
  while (plan.step < plan.steps.length) {
    const step = plan.steps[plan.step]!
    for await (const page of fetchPages(client, { path: step.path, query: step.query as Query, pageSize: step.pageSize, sizeParam: step.sizeParam, idPath: step.idPath, startPage: plan.page })) {
      ctx.progress({ phase: `${step.label} page ${page.number}${page.lastPage ? `/${page.lastPage}` : ''}` })
      const load = await options.load(step, page, plan.candidate)
      plan.candidate = load.candidate
      if (page.next === null) {
        plan.step++
        plan.page = 1
      } else {
        plan.page = page.next
      }
      const done = plan.step >= plan.steps.length
      yield {
        writes: load.writes,
        rejects: load.rejects,
        read: page.items.length,
        state: done ? options.finish(plan.candidate) : { ...saved, plan: { ...plan } },
      }
    }
  }
  if (!plan.steps.length) yield { writes: [], read: 0, state: options.finish(plan.candidate) }
}

/** Normalize each item; an item that throws becomes a reject and the rest go on. */
export function normalizeEach<R>(items: readonly unknown[], rejects: RejectInput[], normalize: (item: unknown) => R): R[] {
  const out: R[] = []
  for (const item of items) {
    try {
      out.push(normalize(item))
    } catch (err) {
      rejects.push({ reason: errorMessage(err), raw: item, recordKey: recordKeyOf(item) })
    }
  }
  return out
}

/** A child-set write: rows replace the stored set of each parent in `parents` (removals show). */
export function replaceWrite(table: string, key: readonly string[], rows: Record<string, unknown>[], parentColumns: readonly string[], parents: unknown[][]): TableWrite {
  return { table, key, rows, replace: { columns: parentColumns, keys: parents } }
}

/** Later of two ISO timestamps (either may be null). */
export function later(a: string | null | undefined, b: string | null | undefined): string | null {
  if (!a) return b ?? null
  if (!b) return a
  return a > b ? a : b
}

/** A filter datetime for KWIGA (`YYYY-MM-DD HH:mm:ss`, UTC): `iso` minus `overlapMs`. */
export function filterSince(iso: string, overlapMs: number): string {
  return new Date(Date.parse(iso) - overlapMs).toISOString().slice(0, 19).replace('T', ' ')
}
