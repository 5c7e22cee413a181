import type { Insertable } from 'kysely'
import { RejectError } from '../../errors.js'
import { rejected, type Rejected } from '../../contract.js'
import type * as T from './tables.js'
import { id, isItem, text, type Item } from './values.js'

/** What every KWIGA normalizer shares: the row type of a table, keying an item, reporting a bad nested one. */

export type Row<K extends keyof T.KwigaTables> = Insertable<T.KwigaTables[K]>

/** The item as an object with a usable id, or a RejectError naming what is wrong. */
export function requireItem(value: unknown, what: string, idKey = 'id'): { item: Item; id: string } {
  if (!isItem(value)) throw new RejectError(`${what} is not an object`)
  const key = id(value[idKey])
  if (key === null) throw new RejectError(`${what} has no usable ${idKey}: ${JSON.stringify(value[idKey] ?? null)}`)
  return { item: value, id: key }
}

/** Best-effort id of a raw item, for `etl.rejects.record_key`. */
export function recordKeyOf(value: unknown): string | null {
  return isItem(value) ? text(value.id) : null
}

/** A nested record (an order of a contact, a payment of an order) given up while its parent loads. */
export function nestedReject(what: string, err: unknown, raw: unknown): Rejected {
  return rejected(`${what}: ${(err as Error).message}`, raw, recordKeyOf(raw))
}
