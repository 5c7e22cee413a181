import { z } from 'zod'
import { accountName, baseUrl } from '../../config-fields.js'
import type { RunSettings } from '../../contract.js'

/** One entry of the config section `kwiga` (README "Configuration"). */
export const kwigaCabinetSchema = z
  .object({
    /** Stored in every row as `cabinet`. */
    name: accountName,
    token: z.string().min(8, 'expected the KWIGA API token (set it through ${VAR})'),
    cabinetHash: z.string().min(4, 'expected the cabinet hash (set it through ${VAR})'),
    baseUrl: baseUrl.default('https://api.kwiga.com'),
    rateLimit: z
      .object({
        requests: z.number().int().min(1).default(200),
        windowSeconds: z.number().min(1).default(60),
      })
      .strict()
      .default({ requests: 200, windowSeconds: 60 }),
  })
  .strict()

export type KwigaCabinetConfig = z.output<typeof kwigaCabinetSchema>

/** What the KWIGA source reads of the config: the shared settings and its own section. */
export interface KwigaConfig extends RunSettings {
  readonly kwiga: readonly KwigaCabinetConfig[]
}
