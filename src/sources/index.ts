import type { SourceModule } from '../contract.js'
import type { GetcourseAccountConfig } from './getcourse/config.js'
import { getcourseSource } from './getcourse/index.js'
import type { GetcourseTables } from './getcourse/tables.js'
import type { KwigaCabinetConfig } from './kwiga/config.js'
import { kwigaSource } from './kwiga/index.js'
import type { KwigaTables } from './kwiga/tables.js'

/**
 * Every source the CLI, the config and the scheduler know: the one place a source is registered.
 * Adding one = its folder (an `index.ts` exporting a `SourceModule`) + a line here and in the two
 * declarations below (README "Architecture").
 */
const registry: SourceModule[] = [getcourseSource, kwigaSource]
export const allSources: readonly SourceModule[] = registry

/**
 * Adds a source for the rest of this process (tests register a fake one to run it end to end).
 * Production sources are the list above; a name already taken is refused.
 */
export function registerSource(source: SourceModule): void {
  if (registry.some((s) => s.name === source.name)) throw new Error(`A source named "${source.name}" is already registered`)
  registry.push(source)
}

// The warehouse's tables (the etl bookkeeping, db/schema.ts, and each source's) and the config's
// sections (one per source, a list of its accounts): composed here only.
declare module '../contract.js' {
  interface SourceTables extends GetcourseTables, KwigaTables {}
  interface SourceSections {
    readonly getcourse: readonly GetcourseAccountConfig[]
    readonly kwiga: readonly KwigaCabinetConfig[]
  }
}

export type { Database } from '../db/schema.js'
