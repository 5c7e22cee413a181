import type { SourceModule } from '../types.js'

/** getcourse source: streams are defined in this folder. */
export const getcourseSource: SourceModule = {
  name: 'getcourse',
  streamNames: [],
  streams: () => [],
}
