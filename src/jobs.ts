import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { validate } from 'node-cron'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { ConfigError } from './errors.js'
import type { SyncOptions } from './contract.js'
import { allSources } from './sources/index.js'

const jobSchema = z
  .object({
    /** Unique job name; also the key of the cross-process lock. */
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/i, 'expected letters, digits, "_" or "-"'),
    description: z.string().optional(),
    /** node-cron expression (5 or 6 fields). */
    cron: z.string().refine((c) => validate(c), 'expected a valid cron expression such as "0 3 * * *"'),
    /** IANA zone the cron expression is read in; default: config `timezone`. */
    timezone: z.string().optional(),
    /** One registered source (sources/index.ts); absent: all of them. */
    source: z
      .string()
      .superRefine((s, ctx) => {
        if (!allSources.some((m) => m.name === s))
          ctx.addIssue({ code: 'custom', message: `expected one of ${allSources.map((m) => `"${m.name}"`).join('|')}` })
      })
      .optional(),
    accounts: z.array(z.string()).optional(),
    streams: z.array(z.string()).optional(),
    /** `full` re-reads everything; `incremental` (default) continues from the saved cursors. */
    mode: z.enum(['incremental', 'full']).default('incremental'),
  })
  .strict()

export type Job = z.output<typeof jobSchema> & { file: string }

export function jobSyncOptions(job: Job): SyncOptions {
  return { source: job.source, accounts: job.accounts, streams: job.streams, full: job.mode === 'full' }
}

/** Every `*.yaml` / `*.yml` / `*.json` file in the jobs folder is one job. */
export function loadJobs(dir: string): Job[] {
  let files: string[]
  try {
    files = readdirSync(dir)
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .sort()
  } catch (err) {
    throw new ConfigError(`Cannot read jobs folder ${dir}: ${(err as Error).message}`, { cause: err })
  }
  const jobs = files.map((f) => {
    const file = path.join(dir, f)
    const result = jobSchema.safeParse(parseYaml(readFileSync(file, 'utf8')))
    if (!result.success) {
      throw new ConfigError(`Invalid job ${file}: ${result.error.issues.map((i) => `\`${i.path.join('.') || '(root)'}\`: ${i.message}`).join('; ')}`)
    }
    return { ...result.data, file }
  })
  const names = jobs.map((j) => j.name)
  const dup = names.find((n, i) => names.indexOf(n) !== i)
  if (dup) throw new ConfigError(`Two jobs are named "${dup}" in ${dir}`)
  return jobs
}
