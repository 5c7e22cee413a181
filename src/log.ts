import { createRequire } from 'node:module'
import { pino, type Logger } from 'pino'
import { stderrTerminal } from './terminal.js'

export type { Logger }

/** Values that must never reach a log line; registered by config loading (keys, tokens). */
const secrets = new Set<string>()

export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) secrets.add(value)
}

/** Replace every registered secret (and `key=` / token query parameters) in a string. */
export function redact(text: string): string {
  let out = text
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join('[REDACTED]')
  return out.replace(/([?&](?:key|token|access_token|api_key)=)[^&#\s"']*/gi, '$1[REDACTED]')
}

/** Stack traces belong to debug level: a logger created at `debug` or `trace` turns them on. */
let withStacks = false
export const stacksLogged = () => withStacks

function redactDeep(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return redact(value)
  if (depth > 6 || value === null || typeof value !== 'object') return value
  if (value instanceof Error) {
    return {
      type: value.name,
      message: redact(value.message),
      code: (value as { code?: unknown }).code,
      stack: withStacks && value.stack ? redact(value.stack) : undefined,
      cause: value.cause ? redactDeep(value.cause, depth + 1) : undefined,
    }
  }
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    out[k] = /^(key|token|cabinetHash|cabinet_hash|authorization|password)$/i.test(k) ? '[REDACTED]' : redactDeep(v, depth + 1)
  }
  return out
}

export interface LogOptions {
  level?: string
  /** Pretty output for humans; defaults to whether stderr is a TTY. */
  pretty?: boolean
  /** Destination stream (tests capture logs to assert no secret leaks). */
  destination?: NodeJS.WritableStream
}

/** Root logger. JSON to stderr by default, pretty on a terminal; every field passes through redaction. */
export function createLogger(options: LogOptions = {}): Logger {
  const level = options.level ?? process.env.LOG_LEVEL ?? 'info'
  withStacks = level === 'debug' || level === 'trace'
  const pretty = options.pretty ?? Boolean(process.stderr.isTTY)
  const hooks = {
    logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
      method.apply(this, args.map((a) => redactDeep(a)) as unknown[])
    },
  }
  const base = { level, hooks, base: undefined, serializers: { err: (e: unknown) => redactDeep(e) } }
  if (options.destination) return pino(base, options.destination as pino.DestinationStream)
  const prettyOptions = { translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' }
  // On a terminal, lines go through the live terminal so that they print above the progress lines.
  const terminal = pretty ? stderrTerminal() : undefined
  if (terminal) {
    // pino-pretty (~9 MB) loads only for a terminal; logs to a pipe or file stay JSON.
    const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty')
    const format = prettyFactory({ ...prettyOptions, colorize: true })
    return pino(base, { write: (line: string) => terminal.print(format(line)) })
  }
  if (pretty) return pino({ ...base, transport: { target: 'pino-pretty', options: { destination: 2, ...prettyOptions } } })
  return pino(base, pino.destination(2))
}
