import { z } from 'zod'
import { accountName, baseUrl, timeZone } from '../../config-fields.js'
import type { RunSettings } from '../../contract.js'

/** One entry of the config section `getcourse` (README "Configuration"). */
export const getcourseAccountSchema = z
  .object({
    /** Our name for the account; stored in every row as `account`. */
    name: accountName,
    /** Subdomain: https://{account}.{domain}/ */
    account: z.string().regex(/^[a-z0-9][a-z0-9-]*$/i, 'expected a GetCourse subdomain such as "acme"'),
    domain: z.enum(['getcourse.ru', 'getcourse.io']).default('getcourse.ru'),
    /** Custom domain of the school, when the account forces a redirect to it. */
    baseUrl: baseUrl.optional(),
    key: z.string().min(8, 'expected the account API key (set it through ${VAR})'),
    timezone: timeZone.default('Europe/Moscow'),
    budget: z
      .object({
        requests: z.number().int().min(1).default(100),
        windowSeconds: z.number().int().min(1).default(7200),
        reserve: z.number().int().min(0).default(10),
      })
      .strict()
      .default({ requests: 100, windowSeconds: 7200, reserve: 10 })
      .refine((b) => b.reserve < b.requests, 'expected budget.reserve to be smaller than budget.requests'),
    poll: z
      .object({
        firstCheckSeconds: z.number().min(0).default(30),
        maxIntervalSeconds: z.number().min(1).default(600),
        timeoutSeconds: z.number().min(1).default(21600),
        /** A pending export older than this is given up (marked failed) and its window exported again. */
        maxPendingSeconds: z.number().min(1).default(86400),
      })
      .strict()
      .default({ firstCheckSeconds: 30, maxIntervalSeconds: 600, timeoutSeconds: 21600, maxPendingSeconds: 86400 }),
  })
  .strict()
  .transform((a) => ({ ...a, url: a.baseUrl ?? `https://${a.account}.${a.domain}` }))

export type GetcourseAccountConfig = z.output<typeof getcourseAccountSchema>

/** What the GetCourse source reads of the config: the shared settings and its own section. */
export interface GetcourseConfig extends RunSettings {
  readonly getcourse: readonly GetcourseAccountConfig[]
}
