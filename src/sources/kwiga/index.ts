import type { SourceModule } from '../types.js'

/** kwiga source: streams are defined in this folder. */
export const kwigaSource: SourceModule = {
  name: 'kwiga',
  streamNames: [],
  streams: () => [],
}
