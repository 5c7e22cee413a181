import type { Clock } from '../../clock.js'
import type { GetcourseAccountConfig } from './config.js'
import type { Db } from '../../db/index.js'
import { DeferredError, EtlError, HttpError } from '../../errors.js'
import { DEFAULT_HTTP_TIMEOUTS, MAX_ANSWER_BYTES, readExcerpt, readText, request, type HttpTimeouts } from '../../http.js'
import type { Logger } from '../../log.js'
import type { ExportStream } from './columns.js'
import { describeError, envelopeError, errorKind, type ApiError, type Envelope } from './envelope.js'
import { markWindowSpent, recordAnswer, reserveRequest, type RequestInfo } from './ledger.js'
import { LocalTime } from './local-time.js'

export interface ClientDeps {
  db: Db
  clock: Clock
  log: Logger
  signal: AbortSignal
  /** Reports each request sent to the run (`etl.runs.requests`). */
  countRequest(): void
  /** A request that would break the budget waits this long at most, else the stream is deferred. */
  budgetWaitMs: number
  /** The config's `http` block (`httpTimeouts(config.http)`). @default DEFAULT_HTTP_TIMEOUTS */
  http?: HttpTimeouts
  /** Cap of an answer read whole (start, fields, groups, error answers); the export body is streamed uncapped. @default MAX_ANSWER_BYTES */
  maxAnswerBytes?: number
}

export type StartResult = { kind: 'started'; exportId: string; requests: number } | { kind: 'busy'; requests: number }

/** A poll answer: the response with its body unread (a ready export streams), or the error it carried. */
export type CheckResult = { kind: 'body'; response: Response; requestId: string } | { kind: 'error'; error: ApiError }

const PATHS: Record<ExportStream, (groupId?: number | string) => string> = {
  users: () => '/pl/api/account/users',
  group_members: (groupId) => `/pl/api/account/groups/${groupId}/users`,
  deals: () => '/pl/api/account/deals',
  payments: () => '/pl/api/account/payments',
}

/** How many 903 answers in a row we accept before giving up (each one blocks the account first). */
const MAX_RATE_LIMITED = 3

/**
 * HTTP calls to one GetCourse account. The key travels in a POST form body, never in a URL
 * (reference §1.3: POST works for the key; filters stay in the query string). Every attempt —
 * retries included — is first written to the budget ledger.
 */
export class GetcourseClient {
  private readonly time: LocalTime

  constructor(
    readonly account: GetcourseAccountConfig,
    private readonly deps: ClientDeps,
  ) {
    this.time = new LocalTime(account.timezone)
  }

  /** Additional-fields dictionary (reference §5.2). */
  async fields(): Promise<unknown[]> {
    const body = await this.callJson('/pl/api/account/fields', { kind: 'fields' }, { action: 'get' })
    return Array.isArray(body.info) ? body.info : []
  }

  /** Group list, answered directly (reference §5.1). */
  async groups(): Promise<unknown[]> {
    const body = await this.callJson('/pl/api/account/groups', { kind: 'groups' })
    return Array.isArray(body.info) ? body.info : []
  }

  /** Starts an export. 905 (another export forming, account-wide) comes back as `busy`: nothing was started. */
  async startExport(stream: ExportStream, filters: Record<string, string>, groupId?: number | string): Promise<StartResult> {
    const query = new URLSearchParams(filters).toString()
    let requests = 0
    const url = `${this.account.url}${PATHS[stream](groupId)}?${query}`
    const { body, requestId, attempts } = await this.send(url, { kind: 'start', stream })
    requests += attempts
    const error = envelopeError(body)
    if (error && errorKind(error) === 'busy') return { kind: 'busy', requests }
    if (error) this.fail(error, `starting a ${stream} export`)
    const info = body.info as { export_id?: unknown } | undefined
    const exportId = String(info?.export_id ?? '')
    if (!/^\d+$/.test(exportId))
      throw new EtlError('RESPONSE_INVALID', `GetCourse account "${this.account.name}" started a ${stream} export without an export_id`)
    await recordAnswer(this.deps.db, requestId, { exportId })
    return { kind: 'started', exportId, requests }
  }

  /**
   * Asks for an export. A ready export's body is returned unread so it can be streamed; small error
   * answers (909 not ready, 910 no file, not found) are parsed here.
   */
  async checkExport(exportId: string, stream: string): Promise<CheckResult> {
    const url = `${this.account.url}/pl/api/account/exports/${exportId}`
    const info: RequestInfo = { kind: 'poll', stream, exportId }
    for (let limited = 0; ; limited++) {
      const { response, requestId } = await this.post(url, info)
      if (!isSmallBody(response)) return { kind: 'body', response, requestId }
      const text = await this.readAnswer(response, url)
      const body = parseEnvelope(text, url, response.status)
      const error = envelopeError(body)
      if (!error) return { kind: 'body', response: new Response(text, { status: response.status, headers: response.headers }), requestId }
      await recordAnswer(this.deps.db, requestId, { errorCode: error.code })
      if (errorKind(error) === 'rate_limited' && limited < MAX_RATE_LIMITED) {
        await this.rateLimited()
        continue
      }
      if (errorKind(error) === 'auth') this.fail(error, `checking export ${exportId}`)
      return { kind: 'error', error }
    }
  }

  /** Throws the EtlError an API error stands for. */
  fail(error: ApiError, doing: string): never {
    const where = `GetCourse account "${this.account.name}" (${this.account.url})`
    switch (errorKind(error)) {
      case 'auth':
        throw new EtlError(
          'AUTH_FAILED',
          `${where} refused the request while ${doing}: ${describeError(error)}. Check the account's API key, domain (getcourse.ru / getcourse.io / baseUrl) and that its plan allows the Export API`,
        )
      case 'rate_limited':
        throw new EtlError('RATE_LIMITED', `${where} answered 903 (too many requests) while ${doing}`)
      case 'bad_request':
        throw new EtlError('EXPORT_FAILED', `${where} rejected the filters while ${doing}: ${describeError(error)}`)
      default:
        throw new EtlError('EXPORT_FAILED', `${where} failed while ${doing}: ${describeError(error)}`)
    }
  }

  /** A JSON call answered in one small body; 903 blocks the account and is retried through the budget wait. */
  private async callJson(path: string, info: RequestInfo, form: Record<string, string> = {}): Promise<Envelope> {
    const { body } = await this.send(`${this.account.url}${path}`, info, form)
    const error = envelopeError(body)
    if (error) this.fail(error, `calling ${path}`)
    return body
  }

  private async send(url: string, info: RequestInfo, form: Record<string, string> = {}): Promise<{ body: Envelope; requestId: string; attempts: number }> {
    let attempts = 0
    for (let limited = 0; ; limited++) {
      const { response, requestId, attempts: n } = await this.post(url, info, form)
      attempts += n
      const body = parseEnvelope(await this.readAnswer(response, url), url, response.status)
      const error = envelopeError(body)
      await recordAnswer(this.deps.db, requestId, { errorCode: error?.code ?? null })
      if (error && errorKind(error) === 'rate_limited' && limited < MAX_RATE_LIMITED) {
        await this.rateLimited()
        continue
      }
      return { body, requestId, attempts }
    }
  }

  private async post(url: string, info: RequestInfo, form: Record<string, string> = {}): Promise<{ response: Response; requestId: string; attempts: number }> {
    let requestId = ''
    let attempts = 0
    const response = await request(url, {
      method: 'POST',
      form: { ...form, key: this.account.key },
      clock: this.deps.clock,
      log: this.deps.log,
      signal: this.deps.signal,
      timeouts: this.deps.http ?? DEFAULT_HTTP_TIMEOUTS,
      beforeAttempt: async () => {
        requestId = await this.spend(info)
        attempts++
      },
    })
    if (response.status === 404) {
      const text = await readExcerpt(response, 200)
      // An unknown subdomain answers 404 `Wrong subdomain` (reference §1.2): the account is misconfigured.
      if (/wrong subdomain/i.test(text))
        throw new EtlError('AUTH_FAILED', `GetCourse has no account at ${this.account.url} (404 Wrong subdomain); check \`account\`/\`domain\`/\`baseUrl\``)
      throw new HttpError('HTTP_STATUS', `POST ${url} answered 404 (is ${this.account.url} a GetCourse account?)`, 'POST', url, 404, text)
    }
    if (response.status >= 400) {
      await response.body?.cancel()
      throw new HttpError('HTTP_STATUS', `POST ${url} failed with status ${response.status}`, 'POST', url, response.status)
    }
    return { response, requestId, attempts }
  }

  /** A direct answer, read whole but never more than the cap: a runaway body fails instead of filling memory. */
  private readAnswer(response: Response, url: string): Promise<string> {
    return readText(response, { method: 'POST', url, maxBytes: this.deps.maxAnswerBytes ?? MAX_ANSWER_BYTES })
  }

  /** Writes the request to the ledger, waiting for a free slot when one frees soon. */
  private async spend(info: RequestInfo): Promise<string> {
    const { db, clock, log, signal } = this.deps
    for (;;) {
      const now = clock.now()
      // Marked busy so a virtual clock cannot jump between booking the slot and sending the request.
      const reservation = await clock.busy(reserveRequest(db, this.account, info, now))
      if (reservation.ok) {
        this.deps.countRequest()
        return reservation.id
      }
      const wait = reservation.until - now
      if (wait > this.deps.budgetWaitMs) {
        const resumes = `${this.time.hourMinute(reservation.until)} (${this.account.timezone})`
        const why = reservation.blocked ? 'GetCourse reported the request budget spent (903)' : 'budget exhausted'
        throw new DeferredError('BUDGET_EXHAUSTED', `${why}, resumes at ${resumes}`, new Date(reservation.until))
      }
      log.info({ waitMs: wait, kind: info.kind }, 'request budget full, waiting for a slot')
      await clock.sleep(wait, signal)
    }
  }

  private async rateLimited(): Promise<void> {
    const until = await markWindowSpent(this.deps.db, this.account, this.deps.clock.now())
    this.deps.log.warn({ until }, 'GetCourse answered 903: the account budget is spent; every process backs off until the window clears')
  }
}

/** Error answers are small and sized; a body of unknown or large length is streamed and classified by the reader. */
function isSmallBody(response: Response): boolean {
  const length = Number(response.headers.get('content-length') ?? NaN)
  return Number.isFinite(length) && length < 4096
}

function parseEnvelope(text: string, url: string, status: number): Envelope {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch (err) {
    throw new HttpError(
      'RESPONSE_INVALID',
      `POST ${url} returned a body that is not JSON (status ${status}): ${text.slice(0, 120)}`,
      'POST',
      url,
      status,
      text.slice(0, 300),
      { cause: err },
    )
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new HttpError('RESPONSE_INVALID', `POST ${url} returned JSON that is not an object (status ${status})`, 'POST', url, status)
  }
  return body as Envelope
}
