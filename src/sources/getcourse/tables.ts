/** Kysely types of the `getcourse.*` tables (migrations/0002_getcourse.sql). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface GetcourseTables {}
