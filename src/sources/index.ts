import { getcourseSource } from './getcourse/index.js'
import { kwigaSource } from './kwiga/index.js'
import type { SourceModule } from './types.js'

/** Every source the CLI and the scheduler know. */
export const allSources: readonly SourceModule[] = [getcourseSource, kwigaSource]
