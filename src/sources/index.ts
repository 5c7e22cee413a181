import type { GetcourseTables } from './getcourse/tables.js'
import { getcourseSource } from './getcourse/index.js'
import type { KwigaTables } from './kwiga/tables.js'
import { kwigaSource } from './kwiga/index.js'
import type { SourceModule } from './types.js'

/** Every source the CLI and the scheduler know. */
export const allSources: readonly SourceModule[] = [getcourseSource, kwigaSource]

// The warehouse's tables: the etl bookkeeping (db/schema.ts) and each source's, composed here only.
declare module '../contract.js' {
  interface SourceTables extends GetcourseTables, KwigaTables {}
}

export type { Database } from '../db/schema.js'
