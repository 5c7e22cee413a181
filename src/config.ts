import { readFileSync, existsSync } from 'node:fs'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { ConfigError } from './errors.js'
import { registerSecret } from './log.js'

export const DEFAULT_CONFIG_PATH = './etl.config.yaml'

function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz })
    return true
  } catch {
    return false
  }
}

const name = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, 'expected letters, digits, "_" or "-" (max 63)')
const timezone = z.string().refine(isValidTimeZone, 'expected an IANA time zone such as Europe/Moscow')
const baseUrl = z
  .string()
  .url('expected an absolute URL')
  .refine((u) => {
    const url = new URL(u)
    if (url.protocol === 'https:') return true
    return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
  }, 'expected https:// (http:// is allowed only for localhost)')
  .transform((u) => u.replace(/\/+$/, ''))

const getcourseAccount = z
  .object({
    /** Our name for the account; stored in every row as `account`. */
    name,
    /** Subdomain: https://{account}.{domain}/ */
    account: z.string().regex(/^[a-z0-9][a-z0-9-]*$/i, 'expected a GetCourse subdomain such as "acme"'),
    domain: z.enum(['getcourse.ru', 'getcourse.io']).default('getcourse.ru'),
    /** Custom domain of the school, when the account forces a redirect to it. */
    baseUrl: baseUrl.optional(),
    key: z.string().min(8, 'expected the account API key (set it through ${VAR})'),
    timezone: timezone.default('Europe/Moscow'),
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

const kwigaCabinet = z
  .object({
    /** Stored in every row as `cabinet`. */
    name,
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

const unique = <T extends { name: string }>(items: T[]) => new Set(items.map((i) => i.name)).size === items.length

const configSchema = z
  .object({
    /** Postgres connection string; absent → embedded Postgres (PGlite) in `dataDir/warehouse`. */
    database: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// connection string')
      .optional(),
    /** Where the embedded database, export archive and scratch files live. */
    dataDir: z.string().default('./.data'),
    /** Keep every downloaded GetCourse export as gzip under dataDir/exports. */
    archiveExports: z.boolean().default(true),
    /** IANA zone used by the scheduler and by `--excel` dumps of tables without an account zone. */
    timezone: timezone.default('Europe/Moscow'),
    /** Folder of scheduler job files (`*.yaml`). */
    jobsDir: z.string().default('./jobs'),
    /** Seconds `schedule` waits for running jobs on SIGTERM before exiting anyway. */
    shutdownSeconds: z.number().min(1).default(60),
    /**
     * How many accounts / cabinets sync at once. Accounts spend most of their time waiting (GetCourse
     * readiness, KWIGA rate limits), so this is far above the core count; the database pool bounds
     * the write load. Measured: 60 accounts took 3.6× the slowest account at 8, 2.1× at 60.
     */
    concurrency: z.number().int().min(1).max(256).default(32),
    /** Rows per load transaction. */
    batchSize: z.number().int().min(1).max(100_000).default(5000),
    /**
     * Timeouts of every GetCourse and KWIGA request. Not one for the whole response: a big export
     * downloads for as long as data keeps coming, and a server that goes silent is noticed soon.
     */
    http: z
      .object({
        /** Per attempt, until the response headers arrive (connect + first byte); retried with backoff. */
        headersTimeoutSeconds: z.number().min(1).max(3600).default(120),
        /** Longest silence between two chunks of a body before the download fails. */
        idleTimeoutSeconds: z.number().min(1).max(3600).default(120),
      })
      .strict()
      .default({ headersTimeoutSeconds: 120, idleTimeoutSeconds: 120 }),
    getcourse: z.array(getcourseAccount).default([]).refine(unique, 'expected unique getcourse[].name values'),
    kwiga: z.array(kwigaCabinet).default([]).refine(unique, 'expected unique kwiga[].name values'),
  })
  .strict()

export type Config = Readonly<z.output<typeof configSchema>> & { readonly path: string | null }
export type GetcourseAccountConfig = Config['getcourse'][number]
export type KwigaCabinetConfig = Config['kwiga'][number]

const ENV_REFERENCE = /\$\{([A-Z_][A-Z0-9_]*)(?::-([^}]*))?\}/gi

/** `getcourse[0].key`: how config messages name a field. */
function fieldPath(path: readonly PropertyKey[]): string {
  return path.length
    ? path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('')
        .replace(/^\./, '')
    : '(root)'
}

/**
 * Replace `${VAR}` (and `${VAR:-default}`) with environment values in the string values of an already
 * parsed config; a missing variable is an error naming it and the field. Substituting after parsing keeps
 * a value whole: whatever it holds (` #`, a newline, `key: value`) stays one string and adds no structure.
 * Keys are never substituted; numbers and booleans are left alone, so a substituted value is always a string.
 */
export function interpolateEnv(value: unknown, env: NodeJS.ProcessEnv): unknown {
  const missing: string[] = []
  const walk = (v: unknown, path: PropertyKey[]): unknown => {
    if (typeof v === 'string') {
      return v.replace(ENV_REFERENCE, (_m, name: string, def: string | undefined) => {
        const set = env[name]
        if (set !== undefined && set !== '') return set
        if (def !== undefined) return def
        missing.push(`${name} (${fieldPath(path)})`)
        return ''
      })
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...path, i]))
    // fromEntries defines own properties, so a `__proto__` key stays a key (and is refused by the schema).
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, [...path, k])]))
    return v
  }
  const out = walk(value, [])
  if (missing.length) throw new ConfigError(`Config refers to unset environment variable(s): ${[...new Set(missing)].join(', ')}`)
  return out
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `\`${fieldPath(i.path)}\`: ${i.message}`).join('; ')
}

/** Validate an already-parsed config object. Pure: used by tests and by `loadConfig`. */
export function parseConfig(raw: unknown, source: string | null = null): Config {
  const result = configSchema.safeParse(raw ?? {})
  if (!result.success) throw new ConfigError(`Invalid config${source ? ` in ${source}` : ''}: ${formatIssues(result.error)}`)
  const cfg = result.data
  // A relative dataDir written in the file means "next to the config file", whatever folder the command
  // runs from. Without the field it stays ./.data of the working directory (the Docker image's volume).
  const written = raw !== null && typeof raw === 'object' && 'dataDir' in raw
  if (source && written && !path.isAbsolute(cfg.dataDir)) cfg.dataDir = path.resolve(path.dirname(source), cfg.dataDir)
  for (const a of cfg.getcourse) registerSecret(a.key)
  for (const c of cfg.kwiga) {
    registerSecret(c.token)
    registerSecret(c.cabinetHash)
  }
  return deepFreeze({ ...cfg, path: source }) as Config
}

export interface LoadConfigOptions {
  /** `--config`; else ETL_CONFIG; else ./etl.config.yaml. */
  path?: string
  env?: NodeJS.ProcessEnv
  /** When the default path does not exist, run with an empty config (embedded database, no accounts). */
  allowMissingDefault?: boolean
}

/** Read the YAML/JSON config file once at start-up into a frozen, validated object. */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env
  const explicit = options.path || env.ETL_CONFIG || undefined
  const file = path.resolve(explicit ?? DEFAULT_CONFIG_PATH)
  if (!existsSync(file)) {
    if (!explicit && (options.allowMissingDefault ?? true)) return parseConfig({ database: env.DATABASE_URL || undefined })
    throw new ConfigError(`Config file not found: ${file}`)
  }
  let raw: unknown
  try {
    raw = parseYaml(readFileSync(file, 'utf8'))
  } catch (err) {
    throw new ConfigError(`Cannot parse config ${file}: ${(err as Error).message}`, { cause: err })
  }
  return parseConfig(interpolateEnv(raw, env), file)
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const v of Object.values(value)) deepFreeze(v)
  }
  return value
}
