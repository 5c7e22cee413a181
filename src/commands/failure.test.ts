import { CommanderError } from 'commander'
import { describe, expect, it } from 'vitest'
import { emptyCounts } from '../db/runs.js'
import { ConfigError } from '../errors.js'
import { registerSecret } from '../log.js'
import type { StreamResult, SyncSummary } from '../sync.js'
import { describeFailure, syncFailure } from './failure.js'

const result = (stream: string, status: StreamResult['status'], errorCode?: string, message?: string): StreamResult => ({
  source: 'getcourse',
  account: 'школа',
  stream,
  runId: '1',
  status,
  counts: emptyCounts(),
  errorCode,
  message,
})
const summary = (results: StreamResult[]): SyncSummary => ({
  invocation: 'i',
  results,
  ok: results.every((r) => r.status === 'succeeded' || r.status === 'deferred'),
})

describe('the line a sync ends with', () => {
  it('names the first real failure with its own code, not a stream skipped because of it, and counts the rest', () => {
    const err = syncFailure(
      summary([
        result('fields', 'succeeded'),
        result('group_members', 'failed', 'HTTP_NETWORK', 'skipped: the groups stream failed in this run (HTTP_NETWORK); …'),
        result('users', 'failed', 'HTTP_NETWORK', 'POST https://acme.getcourse.ru/pl/api/account/users failed: fetch failed (ECONNREFUSED)'),
        result('deals', 'deferred', 'BUDGET_EXHAUSTED', 'budget exhausted, resumes at 05:00'),
        result('payments', 'failed', 'ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'),
        result('groups', 'failed', '23505', 'duplicate key value violates unique constraint "x"'),
      ]),
    )!
    expect(err.code).toBe('HTTP_NETWORK')
    expect(err.message).toBe(
      'getcourse/школа/users: POST https://acme.getcourse.ru/pl/api/account/users failed: fetch failed (ECONNREFUSED) (and 3 more stream(s) did not finish: getcourse/школа/group_members HTTP_NETWORK, getcourse/школа/payments DB_UNAVAILABLE, getcourse/школа/groups UNEXPECTED)',
    )
  })

  it('is none when every stream succeeded or was deferred on purpose; ABORTED when stopped', () => {
    expect(syncFailure(summary([result('users', 'succeeded'), result('deals', 'deferred', 'BUDGET_EXHAUSTED')]))).toBeNull()
    expect(syncFailure(summary([result('users', 'aborted', 'ABORTED', 'shutdown requested')]))!.code).toBe('ABORTED')
  })
})

describe('the last line of any failure', () => {
  it('is one line with our code, a database code, or UNEXPECTED; secrets redacted', () => {
    registerSecret('sekret-key-4242')
    expect(describeFailure(new ConfigError('Invalid config in /etc/etl.yaml:\n  `getcourse[0].key` sekret-key-4242'))).toMatchObject({
      exitCode: 1,
      line: 'course-etl: CONFIG_INVALID: Invalid config in /etc/etl.yaml: `getcourse[0].key` [REDACTED]',
    })
    const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' })
    expect(describeFailure(refused).line).toBe('course-etl: DB_UNAVAILABLE: connect ECONNREFUSED 10.0.0.5:5432')
    const password = Object.assign(new Error('password authentication failed for user "etl"'), { code: '28P01' })
    expect(describeFailure(password).line).toBe('course-etl: DB_UNAVAILABLE: password authentication failed for user "etl"')
    expect(describeFailure(new TypeError("Cannot read properties of undefined (reading 'x')")).line).toBe(
      "course-etl: UNEXPECTED: Cannot read properties of undefined (reading 'x')",
    )
  })

  it("turns commander's errors into USAGE lines, and its help and version into success", () => {
    expect(describeFailure(new CommanderError(1, 'commander.unknownOption', "error: unknown option '--ful'")).line).toBe(
      "course-etl: USAGE: unknown option '--ful'",
    )
    expect(describeFailure(new CommanderError(0, 'commander.helpDisplayed', '(outputHelp)')).exitCode).toBe(0)
    expect(describeFailure(new CommanderError(0, 'commander.version', '0.1.0')).exitCode).toBe(0)
    expect(describeFailure(new CommanderError(1, 'commander.help', '(outputHelp)')).line).toBe('course-etl: USAGE: no command given (see the list above)')
  })
})
