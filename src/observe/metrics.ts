import { Registry } from 'prom-client'
import type { SchedulerDeps } from '../schedule.js'

export interface Metrics {
  readonly contentType: string
  render(): Promise<string>
}

export function createMetrics(_deps: SchedulerDeps): Metrics {
  const registry = new Registry()
  return { contentType: registry.contentType, render: () => registry.metrics() }
}
