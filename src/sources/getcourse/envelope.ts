import { isTruthyFlag } from './values.js'

/**
 * GetCourse answers errors with HTTP 200 and `success:false` (reference §3.3, §6.11). Flags may be
 * booleans, "true"/"false" or 0/1; `error_code` may be a number or a string; match on the code,
 * never on the (localised) message.
 */
export interface Envelope {
  success?: unknown
  error?: unknown
  error_code?: unknown
  error_message?: unknown
  info?: unknown
}

export interface ApiError {
  code: number | null
  message: string
}

/** The error an envelope carries, or null when it is a success. */
export function envelopeError(body: Envelope): ApiError | null {
  const code = body.error_code === undefined || body.error_code === null || body.error_code === '' ? null : Number(body.error_code)
  if (isTruthyFlag(body.success) && code === null) return null
  const message = typeof body.error_message === 'string' && body.error_message ? body.error_message : typeof body.error === 'string' ? body.error : ''
  return { code: Number.isFinite(code) ? code : null, message }
}

/** What an error code means for us (reference §3.3, §8 `classify`). */
export type ErrorKind = 'auth' | 'rate_limited' | 'busy' | 'not_ready' | 'no_file' | 'bad_request' | 'not_found' | 'unknown'

const KINDS: Record<number, ErrorKind> = {
  901: 'auth',
  904: 'auth',
  917: 'auth',
  903: 'rate_limited',
  905: 'busy',
  909: 'not_ready',
  910: 'no_file',
  908: 'bad_request',
  913: 'bad_request',
  914: 'bad_request',
  918: 'bad_request',
}

export function errorKind(error: ApiError): ErrorKind {
  if (error.code !== null) return KINDS[error.code] ?? 'unknown'
  // «Объект не найден» has no code (reference §3.2): an export id GetCourse no longer knows.
  if (/не найден|not found/i.test(error.message)) return 'not_found'
  return 'unknown'
}

export const describeError = (error: ApiError) => `${error.code ?? 'no code'} ${error.message || '(no message)'}`.trim()
