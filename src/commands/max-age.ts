import { existsSync } from 'node:fs'
import { createTask } from 'node-cron'
import type { Config } from '../config.js'
import { loadJobs, type Job } from '../jobs.js'

/** Slack after the longest gap between two runs of a stream's jobs: a nightly job is stale after 26 h. */
export const MAX_AGE_SLACK_SECONDS = 2 * 3600
/** Without a job that runs a stream: a day plus the slack. */
export const DEFAULT_MAX_AGE_SECONDS = 24 * 3600 + MAX_AGE_SLACK_SECONDS

/** The longest gap between the job's next runs (a weekday job has a weekend gap), in seconds. */
function jobGapSeconds(job: Job, zone: string): number {
  const task = createTask(job.cron, () => {}, { timezone: job.timezone ?? zone })
  try {
    const runs = task.getNextRuns(8).map((d) => d.getTime())
    let gap = 0
    for (let i = 1; i < runs.length; i++) gap = Math.max(gap, runs[i]! - runs[i - 1]!)
    return gap / 1000
  } finally {
    void task.destroy()
  }
}

const covers = (job: Job, source: string, account: string, stream: string) =>
  (!job.source || job.source === source) && (!job.accounts?.length || job.accounts.includes(account)) && (!job.streams?.length || job.streams.includes(stream))

/**
 * `status --check`'s default `--max-age` per stream: the longest gap between runs of the most
 * frequent job that runs it, plus 2 h; 26 h when no job does (or there is no jobs folder).
 */
export function maxAgeFromJobs(config: Config): (source: string, account: string, stream: string) => number {
  let jobs: Job[] = []
  try {
    if (existsSync(config.jobsDir)) jobs = loadJobs(config.jobsDir)
  } catch {
    jobs = [] // an unreadable jobs folder is `schedule`'s error to report; the check uses the default
  }
  const gaps = new Map(jobs.map((j) => [j.name, jobGapSeconds(j, config.timezone)]))
  return (source, account, stream) => {
    const mine = jobs.filter((j) => covers(j, source, account, stream)).map((j) => gaps.get(j.name)!)
    return mine.length ? Math.min(...mine) + MAX_AGE_SLACK_SECONDS : DEFAULT_MAX_AGE_SECONDS
  }
}
