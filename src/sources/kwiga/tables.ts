/** Kysely types of the `kwiga.*` tables (migrations/0003_kwiga.sql). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface KwigaTables {}
