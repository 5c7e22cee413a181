import type { ColumnType, Generated as KyselyGenerated } from 'kysely'

/** Column types of the `kwiga.*` table interfaces (tables.ts). */

/** kysely's Generated<ColumnType<S, I, U>> selects as the ColumnType object itself; this one unwraps it. */
export type Generated<T> = [T] extends [ColumnType<infer S, infer I, infer U>] ? ColumnType<S, I | undefined, U> : KyselyGenerated<T>
export type Timestamp = ColumnType<Date, Date | string, Date | string>
/** jsonb: rows reach Postgres through `upsertRows`, which serializes objects itself. */
export type Json = ColumnType<unknown, unknown, unknown>
/** bigint arrives from `pg` as a string; ids are written as decimal strings. */
export type Int8 = ColumnType<string, number | string | bigint, number | string | bigint>
export type Int8List = ColumnType<string[], (number | string)[], (number | string)[]>
/** numeric arrives as a string (no precision loss). */
export type Numeric = ColumnType<string, number | string, number | string>
