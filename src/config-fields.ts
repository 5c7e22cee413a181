import { z } from 'zod'

/**
 * Field checks shared by the config's own settings and the sources' account schemas (each source
 * describes its section in its own folder; see `SourceModule.accountSchema`).
 */

function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz })
    return true
  } catch {
    return false
  }
}

/** Our name for an account; stored in every row. */
export const accountName = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/i, 'expected letters, digits, "_" or "-" (max 63)')

export const timeZone = z.string().refine(isValidTimeZone, 'expected an IANA time zone such as Europe/Moscow')

/** https:// (http:// for localhost only), without trailing slashes. */
export const baseUrl = z
  .string()
  .url('expected an absolute URL')
  .refine((u) => {
    const url = new URL(u)
    if (url.protocol === 'https:') return true
    return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname)
  }, 'expected https:// (http:// is allowed only for localhost)')
  .transform((u) => u.replace(/\/+$/, ''))
