import { readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { type Clock, VirtualClock } from '../../clock.js'
import { generateExportFile } from './export-file.js'
import { type GetcourseSim, type GetcourseSimOptions, SIM_INVALID_FILTER_CODE, startGetcourseSimulator } from './server.js'

const KEY = 'secret-key-acme'

interface ManualClock extends Clock {
  advance(ms: number): void
}

function manualClock(start = Date.UTC(2026, 0, 15, 9)): ManualClock {
  let now = start
  return { now: () => now, sleep: async () => {}, busy: (work) => work, advance: (ms) => void (now += ms) }
}

let sim: GetcourseSim | undefined
afterEach(async () => {
  await sim?.close()
  sim = undefined
})

async function start(overrides: Partial<GetcourseSimOptions> = {}, account: Record<string, unknown> = {}) {
  const clock = manualClock()
  sim = await startGetcourseSimulator({
    accounts: [{ account: 'acme', key: KEY, seed: 7, ...account }],
    clock,
    flagStyle: 'boolean',
    ...overrides,
  })
  const base = sim.urlFor('acme')
  const get = async (path: string, params: Record<string, string> = {}, key: string | null = KEY) => {
    const query = new URLSearchParams(key === null ? params : { key, ...params })
    const res = await fetch(`${base}${path}?${query}`)
    return res.json() as Promise<any>
  }
  return { sim, clock, base, get }
}

/** Account-local calendar day of an instant, computed independently of the simulator. */
const localDay = (ms: number, timeZone: string) => new Intl.DateTimeFormat('en-CA', { timeZone }).format(ms)

describe('GetCourse export simulator', () => {
  it('starts an export, answers 909 until it is ready, then returns fields and items (again on a second fetch)', async () => {
    const { sim, clock, get } = await start()
    const started = await get('/pl/api/account/users', { 'created_at[from]': '2000-01-01' })
    expect(started).toEqual({ success: true, info: { export_id: expect.any(Number) } })
    const id = started.info.export_id

    expect(await get(`/pl/api/account/exports/${id}`)).toEqual({
      success: false,
      error: true,
      error_code: 909,
      error_message: 'Файл еще не создан',
    })
    clock.advance(3000)
    const ready = await get(`/pl/api/account/exports/${id}`)
    expect(ready.success).toBe(true)
    expect(Object.keys(ready.info)).toEqual(['fields', 'items'])
    const { fields, items } = ready.info as { fields: string[]; items: unknown[][] }
    expect(items).toHaveLength(sim.dataset('acme').users.length)
    expect(fields.slice(0, 3)).toEqual(['id', 'Email', 'Тип регистрации'])
    // Custom fields sit between `От партнера` and `Откуда пришел`, with a blank and a duplicate title.
    const custom = fields.slice(fields.indexOf('От партнера') + 1, fields.indexOf('Откуда пришел'))
    expect(custom).toEqual(expect.arrayContaining(['utm_source', ' ', 'gc_system_user_utm_source']))
    expect(fields.filter((f) => f === 'utm_source')).toHaveLength(2)
    expect(items.every((row) => row.length <= fields.length && row.every((c) => typeof c === 'string'))).toBe(true)
    expect(items.some((row) => row.length < fields.length)).toBe(true)
    expect(items[0][fields.indexOf('Создан')]).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/)

    expect(await get(`/pl/api/account/exports/${id}`)).toEqual(ready)
    expect(await get('/pl/api/account/exports/123')).toEqual({ success: false, error: true, error_message: 'Объект не найден' })
  })

  it('writes the body as PHP does (\\uXXXX, \\/) and streams it without a content-length', async () => {
    const { clock, base, get } = await start({}, { users: 3000 })
    const { info } = await get('/pl/api/account/users', { status: 'active' })
    clock.advance(10_000)
    const res = await fetch(`${base}/pl/api/account/exports/${info.export_id}?key=${KEY}`)
    expect(res.headers.get('content-length')).toBeNull()
    const text = await res.text()
    expect(text).toMatch(/^[\x00-\x7f]*$/)
    expect(text).toContain('\\u0418\\u043c\\u044f') // Имя
    expect(text).toContain('"https:\\/\\/')
    expect(JSON.parse(text).info.items.length).toBeGreaterThan(1000)
  })

  it('renders deals and payments with their own money formats, statuses and tag arrays', async () => {
    const { clock, get } = await start({}, { currency: 'BYN' })
    const fetchAll = async (stream: string) => {
      const { info } = await get(`/pl/api/account/${stream}`, { 'created_at[from]': '2000-01-01' })
      clock.advance(5000)
      return (await get(`/pl/api/account/exports/${info.export_id}`)).info as { fields: string[]; items: any[][] }
    }
    const deals = await fetchAll('deals')
    const col = (name: string) => deals.fields.indexOf(name)
    expect(deals.fields).toHaveLength(81)
    expect(deals.fields).toContain('Стоимость, BYN')
    expect(deals.fields.filter((f) => f === 'Сколько вам лет')).toHaveLength(2)
    expect(deals.items.every((r) => /^\d+\.\d{2}$/.test(r[col('Стоимость, BYN')]))).toBe(true)
    expect(new Set(deals.items.map((r) => r[col('Статус')]))).toContain('Завершен')
    expect(deals.items.every((r) => Array.isArray(r[col('Теги')]) && r[col('Теги')].length > 0)).toBe(true)
    expect(deals.items.some((r) => JSON.stringify(r[col('Теги')]) === '[""]')).toBe(true)
    expect(deals.items.every((r) => r[col('Статус изменен')] >= r[col('Дата создания')])).toBe(true)

    const payments = await fetchAll('payments')
    expect(payments.fields).toEqual([
      'Номер',
      'Пользователь',
      'Эл. почта',
      'Заказ',
      'Дата создания',
      'Тип',
      'Статус',
      'Сумма',
      'Комиссии',
      'Получено',
      'Код платежа',
      'Название',
    ])
    const sums = payments.items.map((r) => r[7] as string)
    expect(sums.every((s) => /^\d{1,3}([\u00a0 ]\d{3})*(,\d{2})?( BYN)?$/.test(s))).toBe(true)
    expect(sums.some((s) => s.includes('\u00a0'))).toBe(true)
    expect(sums.some((s) => s.endsWith(' BYN'))).toBe(true)
    const dealNumbers = new Set(deals.items.map((r) => r[col('Номер')]))
    expect(payments.items.every((r) => dealNumbers.has(r[3]))).toBe(true)
  })

  it('answers 905 while any export is forming, without starting anything', async () => {
    const { sim, clock, get } = await start({ readyAfterMs: () => 10_000 })
    const first = await get('/pl/api/account/deals', { status: 'payed' })
    expect(first.success).toBe(true)
    // The slot is checked before the filters: even a request with no filter gets 905.
    expect(await get('/pl/api/account/users')).toMatchObject({
      success: false,
      error_code: 905,
      error_message: 'Уже запущен один экспорт, попробуйте позднее',
    })
    clock.advance(10_000)
    expect((await get('/pl/api/account/users', { status: 'active' })).success).toBe(true)
    clock.advance(10_000)

    sim.occupyExportSlot('acme', 60_000)
    expect((await get('/pl/api/account/payments', { status: 'accepted' })).error_code).toBe(905)
    clock.advance(60_000)
    expect((await get('/pl/api/account/payments', { status: 'accepted' })).success).toBe(true)
    expect(sim.stats('acme')).toMatchObject({ exportsStarted: 3, maxConcurrentForming: 1 })
  })

  it('answers 903 once the rolling budget is spent, counting every call, and recovers as the window moves', async () => {
    const { sim, clock, get } = await start({ budget: { requests: 5, windowSeconds: 60 } })
    sim.spendBudget('acme', 2) // another integration of the school
    clock.advance(10_000)
    expect((await get('/pl/api/account/groups')).success).toBe(true)
    expect((await get('/pl/api/account/fields', { action: 'get' })).success).toBe(true)
    expect((await get('/pl/api/account/exports/1')).error_message).toBe('Объект не найден')
    expect(await get('/pl/api/account/groups')).toMatchObject({ success: false, error: true, error_code: 903 })

    clock.advance(50_000) // the two spent requests leave the window; the 903 itself still counts
    expect((await get('/pl/api/account/groups')).success).toBe(true)
    expect((await get('/pl/api/account/groups')).error_code).toBe(903)
    clock.advance(60_000)
    expect((await get('/pl/api/account/groups')).success).toBe(true)
    expect(sim.stats('acme').maxRequestsInWindow).toBe(6)
  })

  it('rejects missing and wrong keys, missing filters and bad filter values with the real codes', async () => {
    const { base, get } = await start()
    expect(await get('/pl/api/account/users', { status: 'active' }, null)).toMatchObject({
      error_code: 904,
      error_message: 'отсутсвует параметр key',
    })
    expect(await get('/pl/api/account/users', { status: 'active' }, 'wrong')).toMatchObject({
      error_code: 901,
      error_message: 'Неавторизованное API-обращение',
    })
    // Unknown parameters are not filters.
    expect(await get('/pl/api/account/users', { type: 'all' })).toMatchObject({
      error_code: 908,
      error_message: 'Должен быть передан хотя бы один фильтр',
    })
    expect((await get('/pl/api/account/deals', { status: 'paid' })).error_code).toBe(913)
    const badUserStatus = await get('/pl/api/account/users', { status: 'paid' })
    expect(badUserStatus.error_code).toBe(914)
    expect(badUserStatus.error_message).toContain('active,deactivated,banned,invited,in_base')
    expect((await get('/pl/api/account/payments', { status: 'payed' })).error_code).toBe(918)
    expect(await get('/pl/api/account/deals', { 'created_at[from]': '01.02.2025' })).toMatchObject({
      error_code: SIM_INVALID_FILTER_CODE,
      error_message: expect.stringContaining('created_at[from]'),
    })

    // The key and the fields action may come in a form body.
    const res = await fetch(`${base}/pl/api/account/fields`, {
      method: 'POST',
      body: new URLSearchParams({ key: KEY, action: 'get' }),
    })
    const fields = (await res.json()) as any
    expect(fields.success).toBe(true)
    expect(fields.info).toContainEqual(expect.objectContaining({ type: 'checkbox', title: '', context_type: 'user' }))
    expect(fields.info).toContainEqual(expect.objectContaining({ title: 'gc_system_user_utm_medium', context_type: 'user' }))
    expect(fields.info.some((f: any) => f.context_type === 'deal')).toBe(true)

    const notFound = await fetch(`${base}/pl/api/account/nothing?key=${KEY}`)
    expect(notFound.status).toBe(404)
    expect(notFound.headers.get('content-type')).toContain('text/html')
  })

  it('lists groups directly and exports group members with the two group columns, filtered by added_at', async () => {
    const { sim, clock, get } = await start({}, { groups: 4 })
    const groups = await get('/pl/api/account/groups')
    expect(groups.info).toHaveLength(4)
    expect(groups.info[3]).toEqual({ id: expect.any(Number), name: expect.any(String), last_added_at: null })
    expect(groups.info[0].last_added_at).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/)

    const group = sim.dataset('acme').groups[0]
    const { info } = await get(`/pl/api/account/groups/${group.id}/users`, { 'added_at[from]': '2025-06-01' })
    clock.advance(5000)
    const ready = (await get(`/pl/api/account/exports/${info.export_id}`)).info
    expect(ready.fields.slice(-2)).toEqual(['ID группы', 'Добавлен в группу'])
    const expected = group.members.filter((m) => localDay(m.addedAt, 'Europe/Moscow') >= '2025-06-01')
    expect(ready.items).toHaveLength(expected.length)
    expect(ready.items.every((r: string[]) => r.at(-2) === String(group.id) && r.at(-1)! >= '2025-06-01')).toBe(true)
  })

  it('filters by whole days in the account time zone, [to] inclusive', async () => {
    const timeZone = 'Asia/Vladivostok'
    const { sim, clock, get } = await start({}, { timezone: timeZone, users: 2000 })
    const { info } = await get('/pl/api/account/users', { 'created_at[from]': '2025-03-01', 'created_at[to]': '2025-03-31' })
    clock.advance(5000)
    const ready = (await get(`/pl/api/account/exports/${info.export_id}`)).info
    const expected = sim
      .dataset('acme')
      .users.filter((u) => localDay(u.createdAt, timeZone) >= '2025-03-01' && localDay(u.createdAt, timeZone) <= '2025-03-31')
      .map((u) => String(u.id))
    expect(expected.length).toBeGreaterThan(10)
    expect(ready.items.map((r: string[]) => r[0])).toEqual(expected)
  })

  it('sees data changed between syncs: new users, status changes, new payments', async () => {
    const { sim, clock, get } = await start()
    const today = localDay(clock.now(), 'Europe/Moscow')
    const exportRows = async (stream: string, params: Record<string, string>) => {
      const { info } = await get(`/pl/api/account/${stream}`, params)
      clock.advance(5000)
      return (await get(`/pl/api/account/exports/${info.export_id}`)).info.items as string[][]
    }
    const data = sim.dataset('acme')
    const user = data.addUser({ email: 'new.student@example.ru' })
    const deal = data.changeDealStatus(data.deals[0].id, 'cancelled')
    const payment = data.addPayment({ dealId: data.deals[1].id })

    const users = await exportRows('users', { 'created_at[from]': today })
    expect(users.map((r) => r[1])).toEqual(['new.student@example.ru'])
    expect(users[0][0]).toBe(String(user.id))
    const deals = await exportRows('deals', { 'status_changed_at[from]': today, 'status_changed_at[to]': today })
    expect(deals.map((r) => [r[0], r[9]])).toEqual([[String(deal.id), 'Отменен']])
    const payments = await exportRows('payments', { 'created_at[from]': today })
    expect(payments.map((r) => r[0])).toEqual([String(payment.id)])
  })

  it('consumes each injected fault once, on the next matching request, without spending budget', async () => {
    const { sim, clock, base, get } = await start({ budget: { requests: 100, windowSeconds: 7200 } })
    const { info } = await get('/pl/api/account/deals', { status: 'new' })
    clock.advance(5000)
    const exportPath = `/pl/api/account/exports/${info.export_id}`
    const url = `${base}${exportPath}?key=${KEY}`

    sim.injectFault('acme', { kind: 'http', status: 503, path: /\/exports\// })
    expect((await get('/pl/api/account/groups')).success).toBe(true) // path does not match
    expect((await fetch(url)).status).toBe(503)

    sim.injectFault('acme', { kind: 'html200' })
    const html = await fetch(url)
    expect(html.status).toBe(200)
    expect(await html.text()).toMatch(/^<!DOCTYPE html>/)

    sim.injectFault('acme', { kind: 'code', code: 910 })
    expect(await get(exportPath)).toMatchObject({ error_code: 910, error_message: 'Файл не создан, попробуйте другой фильтр' })

    sim.injectFault('acme', { kind: 'reset' })
    await expect(fetch(url)).rejects.toThrow()

    sim.injectFault('acme', { kind: 'hang', ms: 5_000 })
    await expect(fetch(url, { signal: AbortSignal.timeout(200) })).rejects.toThrow()

    sim.injectFault('acme', { kind: 'truncate' })
    expect((await get('/pl/api/account/groups')).success).toBe(true) // not a ready export: not consumed
    const cut = await (await fetch(url)).text()
    expect(() => JSON.parse(cut)).toThrow()
    expect(cut.startsWith('{"success":true,"info":{"fields":[')).toBe(true)

    const whole = await get(exportPath)
    expect(whole.success).toBe(true)
    const faulted = sim.requests.filter((r) => r.path === exportPath)
    expect(faulted.map((r) => r.status)).toEqual([503, 200, 200, 0, 0, 200, 200])
    // The start, two groups calls, the cut body and the final fetch; the preempting faults spent nothing.
    expect(sim.stats('acme').maxRequestsInWindow).toBe(5)
  })

  it('serves a ready export slowly, or stalls it mid-body with the connection open; a huge direct answer is valid JSON', async () => {
    const { sim, clock, base, get } = await start()
    const { info } = await get('/pl/api/account/users', { 'created_at[from]': '2000-01-01' })
    clock.advance(5000)
    const url = `${base}/pl/api/account/exports/${info.export_id}?key=${KEY}`
    const whole = await (await fetch(url)).text()

    sim.injectFault('acme', { kind: 'slow', bytesPerTick: Math.ceil(whole.length / 10), tickMs: 30 })
    expect((await get('/pl/api/account/groups')).success).toBe(true) // not a ready export: not consumed
    const started = Date.now()
    const res = await fetch(url)
    const pieces: number[] = []
    for await (const chunk of res.body!) pieces.push(chunk.length)
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
    expect(pieces.length).toBeGreaterThanOrEqual(5)
    expect(pieces.reduce((a, b) => a + b, 0)).toBe(whole.length)

    sim.injectFault('acme', { kind: 'slow', bytesPerTick: 100, tickMs: 1, stallAfterBytes: 250 })
    const stalled = await fetch(url, { signal: AbortSignal.timeout(500) })
    const received: number[] = []
    await expect(
      (async () => {
        for await (const chunk of stalled.body!) received.push(chunk.length)
      })(),
    ).rejects.toThrow()
    expect(received.reduce((a, b) => a + b, 0)).toBe(250)

    sim.injectFault('acme', { kind: 'huge', bytes: 3_000_000, path: /\/groups$/ })
    const huge = await fetch(`${base}/pl/api/account/groups?key=${KEY}`)
    expect(huge.headers.get('content-length')).toBeNull()
    const text = await huge.text()
    expect(text.length).toBe(3_000_000)
    expect(JSON.parse(text)).toMatchObject({ success: true, info: [] })
  })

  it('records requests without the key and can write envelope flags as strings or numbers', async () => {
    const { sim, get } = await start({ flagStyle: 'mixed' })
    const answers = []
    for (let i = 0; i < 7; i++) answers.push((await get('/pl/api/account/groups')).success)
    expect(answers).toEqual([true, true, true, 'true', true, true, 1])
    expect(sim.requests[0]).toMatchObject({ account: 'acme', method: 'GET', path: '/pl/api/account/groups', query: {}, status: 200 })
    expect(JSON.stringify(sim.requests)).not.toContain(KEY)

    const { get: getStrings } = await start({ flagStyle: 'string' })
    expect(await getStrings('/pl/api/account/users')).toMatchObject({ success: 'false', error: 'true', error_code: 908 })
  })
})

describe('GetCourse export simulator on a VirtualClock', () => {
  it('makes an export ready after readyAfterMs of virtual time, with no real waiting', async () => {
    const clock = new VirtualClock()
    sim = await startGetcourseSimulator({
      accounts: [{ account: 'acme', key: KEY }],
      clock,
      flagStyle: 'boolean',
      readyAfterMs: () => 10 * 60_000,
    })
    const call = async (path: string, params: Record<string, string>) =>
      clock.busy(fetch(`${sim!.urlFor('acme')}${path}?${new URLSearchParams({ key: KEY, ...params })}`).then((r) => r.json() as Promise<any>))
    const startedAt = clock.now()
    const { info } = await call('/pl/api/account/deals', { 'created_at[from]': '2025-01-01' })
    let answer = await call(`/pl/api/account/exports/${info.export_id}`, {})
    while (answer.error_code === 909) {
      await clock.sleep(60_000)
      answer = await call(`/pl/api/account/exports/${info.export_id}`, {})
    }
    expect(answer.success).toBe(true)
    expect(clock.now() - startedAt).toBe(10 * 60_000)
    expect(sim.requests.filter((r) => r.errorCode === 909)).toHaveLength(10)
  })
})

describe('generateExportFile', () => {
  it('streams a valid, deterministic ready-export envelope', async () => {
    const dir = tmpdir()
    const paths = [join(dir, `gc-users-${process.pid}-a.json`), join(dir, `gc-users-${process.pid}-b.json`)]
    const deals = join(dir, `gc-deals-${process.pid}.json`)
    try {
      const result = await generateExportFile(paths[0], { stream: 'users', rows: 500, seed: 3 })
      await generateExportFile(paths[1], { stream: 'users', rows: 500, seed: 3 })
      const text = await readFile(paths[0], 'utf8')
      expect(await readFile(paths[1], 'utf8')).toBe(text)
      const parsed = JSON.parse(text)
      expect(parsed.success).toBe(true)
      expect(parsed.info.items).toHaveLength(500)
      expect(parsed.info.fields).toEqual(result.fields)
      expect(result.fields.length).toBeGreaterThanOrEqual(30)
      expect(result.bytes).toBe(Buffer.byteLength(text))

      await generateExportFile(deals, { stream: 'deals', rows: 300, seed: 3, currency: 'USD' })
      const dealExport = JSON.parse(await readFile(deals, 'utf8'))
      expect(dealExport.info.fields).toContain('Стоимость, USD')
      expect(dealExport.info.items).toHaveLength(300)
    } finally {
      await Promise.all([...paths, deals].map((p) => rm(p, { force: true })))
    }
  })
})
