import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import type { ExportStream } from './columns.js'
import { LocalTime, parseWallClock } from './local-time.js'
import { columnKeys, createNormalizer, type NormalizeResult } from './normalize.js'
import { parseDate, parseId, parseInteger, parseMoney, parseTags } from './values.js'

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures/getcourse')

interface ExportFixture {
  info: { fields: string[]; items: unknown[][] }
}
const fixture = (name: string) => JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as ExportFixture

function normalizeFixture(stream: ExportStream, file: string, timeZone = 'Europe/Moscow', groupId?: number) {
  const { info } = fixture(file)
  const normalizer = createNormalizer(stream, info.fields, { account: 'school', timeZone, groupId })
  return { normalizer, results: info.items.map((r) => normalizer.normalize(r as never)) }
}

const ok = (r: NormalizeResult) => {
  if (!r.ok) throw new Error(`expected a row, got reject: ${r.reason}`)
  return r.row
}

describe('column keys', () => {
  it('suffixes repeated titles and names blank titles by position', () => {
    expect(columnKeys(['id', 'utm_source', ' ', 'utm_source', '', 'utm_source_2', 'utm_source'])).toEqual([
      'id',
      'utm_source',
      'column_3',
      'utm_source_2',
      'column_5',
      'utm_source_2_2',
      'utm_source_3',
    ])
  })
})

describe('users export', () => {
  const { normalizer, results } = normalizeFixture('users', 'users-export.json')

  it('maps known titles to typed columns and converts Moscow wall clock to UTC', () => {
    const anna = ok(results[0]!)
    expect(anna).toMatchObject({
      account: 'school',
      id: '290481735',
      email: 'anna.smirnova@mail.ru',
      registration_type: 'Зарегистрировался самостоятельно',
      created_at: '2025-12-02T08:37:36.000Z',
      last_activity_at: '2025-12-02T08:45:57.000Z',
      first_name: 'Анна',
      last_name: 'Смирнова',
      birthday: '1990-05-17',
      age: 35,
      city: 'Москва',
      came_from: 'https://www.instagram.com/',
      partner_id: '101332455',
      partner_name: 'Марина Лаврова',
      manager_name: 'Ольга Смирнова',
      vk_id: 'id1234567',
    })
  })

  it('takes UTM from the system block after the custom fields, and keeps the custom duplicates in extra', () => {
    const anna = ok(results[0]!)
    expect(anna.utm_source).toBe('instagram')
    expect(anna.utm_medium).toBe('stories')
    expect(normalizer.mapping.utm_source).toBe(24)
    expect(anna.extra).toMatchObject({
      utm_source: 'insta_custom',
      'Сколько вам лет': '25-34',
      'Сколько вам лет_2': '25-34',
      column_17: 'Да',
      Telegram: '@anna_smm',
      gc_system_user_utm_source: 'instagram',
    })
  })

  it('keeps every cell: typed columns plus extra cover all titles', () => {
    const anna = ok(results[0]!)
    const typedCount = Object.keys(normalizer.mapping).length
    expect(typedCount + Object.keys(anna.extra).length).toBe(35)
  })

  it('turns zero dates into NULL and keeps the raw text in extra', () => {
    const olga = ok(results[2]!)
    expect(olga.last_activity_at).toBeNull()
    expect(olga.birthday).toBeNull()
    expect(olga.extra['Последняя активность']).toBe('0000-00-00 00:00:00')
    expect(olga.extra['Дата рождения']).toBe('0000-00-00')
    expect(olga.from_partner).toBe('Алексей Громов')
  })

  it('rejects rows without a numeric id or with a garbage date, keeping the raw row by title', () => {
    const noId = results[3]!
    expect(noId.ok).toBe(false)
    if (noId.ok) return
    expect(noId.reason).toContain('id')
    expect(noId.recordKey).toBe('abc')
    expect(noId.raw).toMatchObject({ id: 'abc', Email: 'broken@mail.ru', column_17: '' })
    const badDate = results[4]!
    expect(badDate.ok).toBe(false)
    if (!badDate.ok) expect(badDate.reason).toMatch(/created_at.*2025-13-45/)
  })

  it('strips NUL characters and reads DD.MM.YYYY birthdays', () => {
    const sofia = ok(results[5]!)
    expect(sofia.email).toBe('nulchar@mail.ru')
    expect(sofia.last_name).toBe('Ким')
    expect(sofia.birthday).toBe('1999-12-31')
  })

  it('pads short rows with NULL', () => {
    const short = ok(results[6]!)
    expect(short).toMatchObject({ id: '290481741', email: 'short@ya.ru', created_at: '2026-01-15T06:00:00.000Z', city: null })
    expect(short.extra['VK-ID']).toBeUndefined()
    expect(short.extra.Telegram).toBeNull()
  })

  it('finds columns whatever their position', () => {
    const { info } = fixture('users-export.json')
    const order = info.fields.map((_, i) => i).reverse()
    const normalizer = createNormalizer(
      'users',
      order.map((i) => info.fields[i]),
      { account: 'school', timeZone: 'Europe/Moscow' },
    )
    const row = ok(normalizer.normalize(order.map((i) => info.items[0]![i]) as never))
    expect(row).toMatchObject({ id: '290481735', email: 'anna.smirnova@mail.ru', city: 'Москва' })
  })
})

describe('deals export', () => {
  const { results } = normalizeFixture('deals', 'deals-export.json')

  it('reads the 81-column layout: money, currency, statuses, tags, partners', () => {
    const deal = ok(results[0]!)
    expect(deal).toMatchObject({
      id: '187330214',
      number: '20451',
      user_id: '290481735',
      user_name: 'Анна Смирнова',
      created_at: '2025-12-02T08:37:37.000Z',
      paid_at: '2025-12-02T08:45:35.000Z',
      title: 'Курс «Основы SMM»',
      status: 'Завершен',
      status_code: 'payed',
      cost: '14900.00',
      paid: '14900.00',
      commission: '521.50',
      received: '14378.50',
      net_amount: '14378.50',
      currency: 'RUB',
      payment_system: 'Тинькофф',
      promo_code: 'SPRING20',
      user_partner_id: '101332455',
      utm_source: 'instagram',
      utm_group: 'main',
      tags: ['Вебинар', 'Запуск март'],
      offer_tags: ['Основной продукт'],
      status_changed_at: '2025-12-02T08:45:35.000Z',
      is_paid: true,
      is_free: false,
      country: 'Россия',
    })
    expect(deal.extra).toMatchObject({ utm_source: 'custom_src', user_utm_source: 'instagram', '<b>Согласие</b> на обработку': 'Да', column_40: '' })
  })

  it('parses Russian money with no-break spaces and the currency from the cost title', () => {
    const ivan = ok(results[1]!)
    expect(ivan).toMatchObject({ cost: '12000.00', paid: '0.00', currency: 'RUB', status_code: 'payment_waiting', tags: [], offer_tags: [] })
    expect(ivan.created_at).toBe('2026-03-29T20:30:00.000Z')
    const olga = ok(results[2]!)
    expect(olga).toMatchObject({ cost: '5000', status_code: 'cancelled', is_free: true, refusal_reason: 'Дорого', tags: [] })
  })

  it('rejects a deal without an id and one with unreadable money', () => {
    expect(results[3]!.ok).toBe(false)
    const money = results[4]!
    expect(money.ok).toBe(false)
    if (!money.ok) {
      expect(money.reason).toContain('cost')
      expect(money.recordKey).toBe('187330218')
      expect(money.raw['Стоимость, RUB']).toBe('много денег')
    }
  })
})

describe('payments export', () => {
  const { results } = normalizeFixture('payments', 'payments-export.json')
  it('reads amounts with a currency suffix and maps status labels', () => {
    expect(ok(results[0]!)).toMatchObject({
      id: '5520117',
      email: 'anna.smirnova@mail.ru',
      deal_number: '20451',
      type: 'Тинькофф',
      status: 'Получен',
      status_code: 'accepted',
      amount: '14900',
      commission: '521.50',
      received: '14378.50',
      currency: 'RUB',
      code: 'a1b2c3d4',
    })
    expect(ok(results[1]!)).toMatchObject({ status_code: 'expected', amount: '12000' })
    expect(ok(results[2]!)).toMatchObject({ status_code: 'returned', amount: '990.00', currency: null, deal_number: null, commission: null })
  })
})

describe('group members export', () => {
  it('reads the group and the time the user was added', () => {
    const { results } = normalizeFixture('group_members', 'group-members-export.json')
    expect(ok(results[0]!)).toMatchObject({ group_id: '4848962', user_id: '290481735', added_at: '2026-06-22T08:44:29.000Z', first_name: 'Анна' })
  })
  it('uses the export group when the column is missing', () => {
    const normalizer = createNormalizer('group_members', ['id', 'Email', 'Добавлен в группу'], { account: 'a', timeZone: 'UTC', groupId: 77 })
    expect(ok(normalizer.normalize(['5', 'x@y.z', '2026-01-01 10:00:00']))).toMatchObject({
      group_id: '77',
      user_id: '5',
      added_at: '2026-01-01T10:00:00.000Z',
    })
  })
})

describe('values', () => {
  it('parses money formats', () => {
    expect(parseMoney('990.00')).toEqual({ amount: '990.00', currency: null })
    expect(parseMoney('12\u00a0000,00')).toEqual({ amount: '12000.00', currency: null })
    expect(parseMoney('1\u202f234\u202f567,5')).toEqual({ amount: '1234567.5', currency: null })
    expect(parseMoney('5 000 руб.')).toEqual({ amount: '5000', currency: 'RUB' })
    expect(parseMoney('$100')).toEqual({ amount: '100', currency: 'USD' })
    expect(parseMoney('1,234.50')).toEqual({ amount: '1234.50', currency: null })
    expect(parseMoney('')).toBeNull()
    expect(parseMoney('abc')).toBeUndefined()
  })
  it('reads a number, money or date cell whole or not at all (never half of it)', () => {
    // `abc` is no ISO currency: the whole cell is unreadable, never 7777.
    expect(parseMoney('7777abc')).toBeUndefined()
    expect(parseMoney('7777 XYZ')).toBeUndefined()
    expect(parseMoney('100 usd')).toEqual({ amount: '100', currency: 'USD' })
    expect(parseMoney('2 500 KZT')).toEqual({ amount: '2500', currency: 'KZT' })
    expect(parseDate('1990-05-01')).toBe('1990-05-01')
    expect(parseDate('1990-05-01 00:00:00')).toBe('1990-05-01')
    expect(parseDate('1990-05-01abc')).toBeUndefined()
    expect(parseDate('1990-05-01 garbage')).toBeUndefined()
    expect(parseInteger('12abc')).toBeUndefined()
    expect(parseId('123x')).toBeUndefined()
  })
  it('parses tags in every shape', () => {
    expect(parseTags([''])).toEqual([])
    expect(parseTags(['a', ' ', 'b'])).toEqual(['a', 'b'])
    expect(parseTags('["x",""]')).toEqual(['x'])
    expect(parseTags('a, b')).toEqual(['a', 'b'])
  })
  it('converts across a DST change (Europe/Berlin)', () => {
    const t = new LocalTime('Europe/Berlin')
    const winter = parseWallClock('2025-03-30 01:30:00')
    const summer = parseWallClock('2025-03-30 03:30:00')
    if (typeof winter !== 'number' || typeof summer !== 'number') throw new Error('parse')
    expect(new Date(t.toUtc(winter)).toISOString()).toBe('2025-03-30T00:30:00.000Z')
    expect(new Date(t.toUtc(summer)).toISOString()).toBe('2025-03-30T01:30:00.000Z')
    expect(parseWallClock('2025-02-30 10:00:00')).toBe('invalid')
    expect(parseWallClock('0000-00-00 00:00:00')).toBe('zero')
  })
})
