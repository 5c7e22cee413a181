import { readFileSync, existsSync } from 'node:fs'
import path from 'node:path'
import { parse as parseYaml } from 'yaml'
import { z } from 'zod'
import { timeZone } from './config-fields.js'
import type { SourceAccount, SourceModule, SourceSections } from './contract.js'
import { ConfigError } from './errors.js'
import { registerSecret } from './log.js'
import { allSources } from './sources/index.js'

export const DEFAULT_CONFIG_PATH = './etl.config.yaml'

const LOOPBACK = ['127.0.0.1', 'localhost', '::1', '[::1]']
/** Not `http:` (that key holds the HTTP client timeouts): the server the scheduler serves, issue 19. */
export const serverSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535),
    /** Required when `host` is not loopback: asked for as `Authorization: Bearer …` or `?token=…` (not by /healthz). */
    token: z.string().min(16, 'expected a token of at least 16 characters (set it through ${VAR})').optional(),
  })
  .strict()
  .refine((s) => s.token !== undefined || LOOPBACK.includes(s.host), 'expected server.token when server.host is not loopback')
const replicasSchema = z
  .object({
    /** A replica silent this long (or whose session is gone) is dead; its accounts are taken over. */
    leaseSeconds: z.number().min(2).max(3600).default(30),
    heartbeatSeconds: z.number().min(0.2).max(600).default(5),
    /** How often a replica looks for queued account jobs and for dead replicas. */
    pollSeconds: z.number().min(0.1).max(600).default(2),
  })
  .strict()
  .refine((r) => r.heartbeatSeconds * 2 <= r.leaseSeconds, 'expected replicas.heartbeatSeconds at most half of replicas.leaseSeconds')
  .default({ leaseSeconds: 30, heartbeatSeconds: 5, pollSeconds: 2 })

const unique = <T extends { name: string }>(items: T[]) => new Set(items.map((i) => i.name)).size === items.length

/** The config's own settings; each source adds its section (a list of accounts, see `sourceSections`). */
const settings = {
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
  timezone: timeZone.default('Europe/Moscow'),
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
  /** `schedule`'s metrics / health / status server (src/observe); `--http HOST:PORT` overrides it. Absent: no server. */
  server: serverSchema.optional(),
  /** Scheduler replicas sharing one database (src/replicas): lease and timers. */
  replicas: replicasSchema,
}

/** Each source's section: `name: [account, …]`, every account checked by the source's own schema. */
function sourceSections(sources: readonly SourceModule[]) {
  const sections: Record<string, z.ZodType> = {}
  for (const m of sources) {
    if (!m.accountSchema) continue
    sections[m.name] = z.array(m.accountSchema).default([]).refine(unique, `expected unique ${m.name}[].name values`)
  }
  return sections
}

// Built when first needed (and again if a source was registered since): the sources describe their sections.
let schemaFor: { sources: number; schema: z.ZodType } | undefined
function configSchema() {
  if (schemaFor?.sources !== allSources.length) {
    schemaFor = { sources: allSources.length, schema: z.object({ ...settings, ...sourceSections(allSources) }).strict() }
  }
  return schemaFor.schema
}

const settingsSchema = z.object(settings)

export type Config = Readonly<z.output<typeof settingsSchema>> & Readonly<SourceSections> & { readonly path: string | null }

/** The accounts configured for `source` (its section; none when it has no section). */
export function sourceAccounts(config: Config, source: SourceModule): readonly SourceAccount[] {
  const section = (config as unknown as Record<string, unknown>)[source.name]
  return Array.isArray(section) ? (section as SourceAccount[]) : []
}

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
  const result = configSchema().safeParse(raw ?? {})
  if (!result.success) throw new ConfigError(`Invalid config${source ? ` in ${source}` : ''}: ${formatIssues(result.error)}`)
  const cfg = result.data as { dataDir: string }
  // A relative dataDir written in the file means "next to the config file", whatever folder the command
  // runs from. Without the field it stays ./.data of the working directory (the Docker image's volume).
  const written = raw !== null && typeof raw === 'object' && 'dataDir' in raw
  if (source && written && !path.isAbsolute(cfg.dataDir)) cfg.dataDir = path.resolve(path.dirname(source), cfg.dataDir)
  const config = deepFreeze({ ...(cfg as object), path: source }) as Config
  for (const m of allSources) for (const a of sourceAccounts(config, m)) for (const secret of m.secrets?.(a) ?? []) registerSecret(secret)
  if (config.server?.token) registerSecret(config.server.token)
  return config
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
