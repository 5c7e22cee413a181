import { randomUUID } from 'node:crypto'
import { z } from 'zod'
import type { ListingOps } from '../../db/listings.js'
import type { TableWrite } from '../../db/upsert.js'
import { errorMessage } from '../../errors.js'
import { rejected, type Batch, type Normalized, type RejectInput, type StreamContext } from '../../contract.js'
import type { KwigaClient, Query } from './client.js'
import { fetchPages, type Page } from './pages.js'
import { recordKeyOf } from './normalize.js'
import { id } from './values.js'

/** One paginated list to read; plain JSON so a plan can be saved in the stream state. */
export const crawlStepSchema = z.object({
  /** Names the step in logs and progress (`contacts created`, `course 12`). */
  label: z.string(),
  path: z.string(),
  query: z.array(z.tuple([z.string(), z.union([z.string(), z.number()])])),
  pageSize: z.number().int().positive(),
  sizeParam: z.enum(['per_page', 'limit']).optional(),
  idPath: z.array(z.string()).optional(),
})
export type CrawlStep = z.infer<typeof crawlStepSchema>

/**
 * A crawl in progress: the steps fixed when the run started (with their filters), where it stands,
 * and the watermark candidate gathered so far. Saved with every page, so a killed run resumes at the
 * page it reached with the same filters; the watermark itself moves only when the plan completes.
 */
export function crawlPlanSchema<C extends z.ZodType>(candidate: C) {
  return z.object({
    steps: z.array(crawlStepSchema),
    step: z.number().int().min(0),
    page: z.number().int().min(1),
    candidate,
    full: z.boolean(),
    /** A full plan's listing id (README "Deletions"); each step lists its own scope under `${listing}/${step}`. */
    listing: z.string().optional(),
    /** Steps that could not be read whole (a 404): they complete no listing. */
    broken: z.array(z.number()).optional(),
  })
}

export interface CrawlPlan<C> {
  steps: CrawlStep[]
  step: number
  page: number
  candidate: C
  full: boolean
  listing?: string
  broken?: number[]
}

/** What a step of a full plan lists completely: a table and the scope (column → value) of its rows. */
export interface Listed {
  table: string
  /** The table's key: the scope's columns, then the one column that tells rows apart within it. */
  key: readonly string[]
  scope: Record<string, unknown>
}

/** What one page contributes to its batch. */
export interface PageLoad<C> {
  writes: TableWrite[]
  rejects: RejectInput[]
  candidate: C
  /** Items of the listed table that were rejected: their id (last key column) when readable, else null. */
  missed?: (string | null)[]
  /** The page could not be read (404): the step's listing is not complete. */
  broken?: boolean
}

/** A crawling stream's state: its own fields, plus the plan of a crawl in progress. */
export type CrawlState<C> = { plan?: CrawlPlan<C> }

export interface CrawlOptions<C, S extends CrawlState<C>> {
  ctx: StreamContext<S>
  client: KwigaClient
  plan: CrawlPlan<C>
  /** Stream state kept beside the plan on every page (watermarks of the previous run). */
  saved: Omit<S, 'plan'>
  load(step: CrawlStep, page: Page, candidate: C): Promise<PageLoad<C>> | PageLoad<C>
  /** The state once every step completed (advanced watermark, no plan). */
  finish(candidate: C): S
  /** What each step lists completely when the plan is full; its rows then mark the absent ones deleted. */
  listed?(step: CrawlStep): Listed[]
}

/** Run a plan page by page: one Batch per page, then one closing Batch with the final state. */
export async function* runCrawl<C, S extends CrawlState<C>>(options: CrawlOptions<C, S>): AsyncGenerator<Batch<S>> {
  const { ctx, client, saved } = options
  const plan = { ...options.plan }
  if (plan.full && options.listed && !plan.listing) plan.listing = randomUUID()
  while (plan.step < plan.steps.length) {
    const step = plan.steps[plan.step]!
    const listed = plan.listing && options.listed ? options.listed(step) : []
    const listingId = `${plan.listing}/${plan.step}`
    for await (const page of fetchPages(client, {
      path: step.path,
      query: step.query as Query,
      pageSize: step.pageSize,
      sizeParam: step.sizeParam,
      idPath: step.idPath,
      startPage: plan.page,
    })) {
      ctx.progress({ phase: `${step.label} pages`, done: page.number, total: page.lastPage ?? undefined })
      const load = await options.load(step, page, plan.candidate)
      plan.candidate = load.candidate
      if (load.broken || page.notFound) plan.broken = [...(plan.broken ?? []), plan.step]
      const stepDone = page.next === null
      const whole = stepDone && !plan.broken?.includes(plan.step)
      if (stepDone) {
        plan.step++
        plan.page = 1
      } else {
        plan.page = page.next!
      }
      const done = plan.step >= plan.steps.length
      const tables = new Set(listed.map((l) => l.table))
      yield {
        writes: listed.length ? load.writes.map((w) => (tables.has(w.table) ? { ...w, listing: listingId } : w)) : load.writes,
        rejects: load.rejects,
        listings: listed.length ? listingOps(listingId, listed, load.missed ?? [], whole) : undefined,
        read: page.items.length,
        fields: [{ scope: step.path.replace(/\/\d+(?=\/|$)/g, '/:id'), names: itemFields(page.items) }],
        state: done ? options.finish(plan.candidate) : ({ ...saved, plan: { ...plan } } as S),
      }
    }
  }
  if (!plan.steps.length) yield { writes: [], read: 0, state: options.finish(plan.candidate) }
}

/**
 * Seen keys of rejected items and the completion of each listed scope when its step was read whole.
 * An item without a usable id was never stored under one (KWIGA ids do not change), so it cannot
 * be a stored row: it is quarantined, and it does not hold the listing back.
 */
function listingOps(listing: string, listed: readonly Listed[], missed: readonly (string | null)[], whole: boolean): ListingOps {
  const first = listed[0]!
  const seen = missed.map((m) => (m === null ? null : id(m))).filter((m): m is string => m !== null)
  return {
    seen: seen.length
      ? [{ listing, table: first.table, key: first.key, keys: seen.map((id) => [...first.key.slice(0, -1).map((c) => first.scope[c]), id]) }]
      : [],
    complete: whole ? listed.map((l) => ({ listing, table: l.table, key: l.key, scope: l.scope })) : [],
  }
}

/**
 * One item through a KWIGA normalizer, answered as every normalizer answers (`Normalized`): its
 * row(s), or the item as a reject. Nested helpers give a record up by throwing `RejectError` deep
 * inside it; this is the only place that turns such a throw into a reject (and, so that no item is
 * ever lost, any other error a normalizer throws on a hostile item).
 */
export function normalizeItem<R>(item: unknown, normalize: (item: unknown) => R): Normalized<R> {
  try {
    return { ok: true, row: normalize(item) }
  } catch (err) {
    return rejected(errorMessage(err), item, recordKeyOf(item))
  }
}

/**
 * Normalize each item; an item that cannot be read becomes a reject and the rest go on. `missed`
 * collects the ids of the rejected items (null when unreadable), for the step's listing.
 */
export function normalizeEach<R>(
  items: readonly unknown[],
  rejects: RejectInput[],
  normalize: (item: unknown) => R,
  missed?: (string | null)[],
  keyOf: (item: unknown) => string | null = recordKeyOf,
): R[] {
  const out: R[] = []
  for (const item of items) {
    const result = normalizeItem(item, normalize)
    if (result.ok) out.push(result.row)
    else {
      rejects.push(result)
      missed?.push(keyOf(item))
    }
  }
  return out
}

/**
 * A child-set write: rows replace the stored set of each parent in `parents` (removals show). `mark`:
 * removed children get `deleted_at` instead of being deleted (tables under the deletion convention).
 */
export function replaceWrite(
  table: string,
  key: readonly string[],
  rows: Record<string, unknown>[],
  parentColumns: readonly string[],
  parents: unknown[][],
  mode: 'delete' | 'mark' = 'delete',
): TableWrite {
  return { table, key, rows, replace: { columns: parentColumns, keys: parents, mode } }
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

/** Top-level field names of a page's items (a field new to an endpoint is a schema change). */
export function itemFields(items: readonly unknown[]): string[] {
  const names = new Set<string>()
  for (const item of items) if (item && typeof item === 'object' && !Array.isArray(item)) for (const k of Object.keys(item)) names.add(k)
  return [...names]
}
