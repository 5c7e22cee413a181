import type { Replica } from '../replicas/replica.js'
import type { SchedulerDeps } from '../schedule.js'

export async function renderStatusPage(_deps: SchedulerDeps, _replica: Replica | null): Promise<string> {
  return '<!doctype html><title>course-etl</title>'
}
