import { EtlError } from '../errors.js'

/**
 * Errors that mean "the database cannot be reached or will not let us in", as opposed to a statement
 * that failed: socket errors of the driver (Node's `code`) and Postgres' connection-exception and
 * authorization classes (SQLSTATE 08…, 28…, 3D000 no such database, 57P01–57P03 shutting down / starting).
 */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE'])

export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 4) return false
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || /^(08|28)[0-9A-Z]{3}$/.test(code) || ['3D000', '57P01', '57P02', '57P03'].includes(code)))
    return true
  // Node reports a refused dual-stack connect (localhost → ::1 and 127.0.0.1) as an AggregateError.
  const inner = (err as { errors?: unknown }).errors
  if (Array.isArray(inner) && inner.some((e) => isDatabaseUnavailable(e, depth + 1))) return true
  return isDatabaseUnavailable((err as { cause?: unknown }).cause, depth + 1)
}

/** `DB_UNAVAILABLE` naming the warehouse (its label carries no credentials) and the driver's reason. */
export function databaseUnavailable(label: string, err: unknown): EtlError {
  const reason = err instanceof Error ? err.message || (err as { code?: string }).code || err.name : String(err)
  return new EtlError('DB_UNAVAILABLE', `Cannot reach the warehouse ${label}: ${reason}`, { cause: err })
}
