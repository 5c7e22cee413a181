/**
 * Every error the ETL raises on purpose is an EtlError with a stable `code`.
 * The runner decides from the code whether to retry, defer or fail; the README lists them.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'MIGRATION_FAILED'
  | 'HTTP_STATUS'
  | 'HTTP_NETWORK'
  | 'HTTP_TIMEOUT'
  | 'HTTP_REDIRECT'
  | 'RESPONSE_INVALID'
  | 'AUTH_FAILED'
  | 'BUDGET_EXHAUSTED'
  | 'EXPORT_BUSY'
  | 'EXPORT_FAILED'
  | 'EXPORT_TIMEOUT'
  | 'RATE_LIMITED'
  | 'NORMALIZE_INVALID'
  | 'DUMP_INVALID'
  | 'ABORTED'
  | 'USAGE'
  | 'DB_UNAVAILABLE'
  | 'CHECK_FAILED'
  | 'UNEXPECTED'

export class EtlError extends Error {
  override name = 'EtlError'
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions & { details?: Record<string, unknown> },
  ) {
    super(message, options)
    if (options?.details) this.details = options.details
  }
  details?: Record<string, unknown>
}

/** Configuration file missing, unreadable or invalid. Never retried. */
export class ConfigError extends EtlError {
  override name = 'ConfigError'
  constructor(message: string, options?: ErrorOptions) {
    super('CONFIG_INVALID', message, options)
  }
}

/** An HTTP answer we could not use. `url` is already redacted. */
export class HttpError extends EtlError {
  override name = 'HttpError'
  constructor(
    code: Extract<ErrorCode, 'HTTP_STATUS' | 'HTTP_NETWORK' | 'HTTP_TIMEOUT' | 'HTTP_REDIRECT' | 'RESPONSE_INVALID'>,
    message: string,
    readonly method: string,
    readonly url: string,
    readonly status?: number,
    readonly bodyExcerpt?: string,
    options?: ErrorOptions,
  ) {
    super(code, message, options)
  }
}

/**
 * The stream stopped on purpose and will resume in a later run (budget spent, export still forming,
 * account busy). Recorded as status `deferred`, not as a failure.
 */
export class DeferredError extends EtlError {
  override name = 'DeferredError'
  constructor(
    code: Extract<ErrorCode, 'BUDGET_EXHAUSTED' | 'EXPORT_BUSY' | 'EXPORT_TIMEOUT' | 'RATE_LIMITED'>,
    message: string,
    readonly resumeAt?: Date,
    options?: ErrorOptions,
  ) {
    super(code, message, options)
  }
}

/** A single input record could not be normalized; the record is quarantined, the stream goes on. */
export class RejectError extends EtlError {
  override name = 'RejectError'
  constructor(message: string, options?: ErrorOptions) {
    super('NORMALIZE_INVALID', message, options)
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message
  return String(err)
}
