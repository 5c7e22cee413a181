import { once } from 'node:events'
import { createWriteStream, existsSync, mkdirSync, renameSync, statSync } from 'node:fs'
import path from 'node:path'
import { finished } from 'node:stream/promises'
import { type Cell, USER_FIELDS, dealFields } from '../src/simulators/getcourse/columns.js'
import { type GenerationContext, type SimUser, makeDeal, makeUser } from '../src/simulators/getcourse/data.js'
import { ZonedTime } from '../src/simulators/getcourse/local-time.js'
import { readyExportChunks } from '../src/simulators/getcourse/php-json.js'
import { dealRow, rowContext, userRow } from '../src/simulators/getcourse/rows.js'
import { BENCH_DATA, type BenchStream, type CachedExport } from './export-files.js'

/**
 * Exports shaped like a real school's (issue 17), harder than the simulator's defaults:
 *
 * - users, 33 columns: the simulator's 25 standard titles and 8 custom fields. The custom fields hold
 *   Cyrillic free text in a third of the rows (answers to form questions, 1–6 words, commas and quotes), which PHP
 *   sends as `\uXXXX` escapes; `utm_source` appears twice (the system column and the account's own
 *   field), one custom field has a blank title (`' '`), and `ФИО менеджера` is empty in every row.
 * - deals, 49 columns: the standard deal titles the normalizer maps, 9 custom fields (Cyrillic text,
 *   a duplicate `Сколько вам лет`), `Теги` with commas and quotes in the tags, and a zero date
 *   (`0000-00-00 00:00:00`) in `Дата оплаты` / `Статус изменен` of about a fifth of the rows.
 *
 * The base rows come from the simulator's generator (same ids, dates, sums); only the columns above
 * are chosen and rewritten. Files are cached under BENCH_DATA like the synthetic ones.
 */
const USER_DROP = new Set(['gc_system_user_utm_term', 'gc_system_user_utm_content'])
const USER_TEXT = ['Ник в Telegram', 'Сфера деятельности', 'Откуда узнали о школе', 'gc_system_user_utm_campaign']
const EMPTY_COLUMN = 'ФИО менеджера'

const DEAL_KEEP = [
  'ID заказа',
  'Номер',
  'ID пользователя',
  'Пользователь',
  'Email',
  'Телефон',
  'Дата создания',
  'Дата оплаты',
  'Состав заказа',
  'Статус',
  'Оплачено',
  'Комиссия платежной системы',
  'Получено',
  'Налог',
  'Заработано',
  'Валюта',
  'Менеджер',
  'Город',
  'Платежная система',
  'ID партнера',
  'Использован промокод',
  'Промоакция',
  'scan_utm_source',
  'scan_utm_campaign',
  'Передан в GDS',
  'Возврат',
  'from_amo',
  'utm_source',
  'Чем занимаешься?',
  'Сколько вам лет',
  'gc_system_deal_utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_content',
  'Партнерский источник',
  'user_utm_source',
  'user_utm_medium',
  'Теги',
  'Теги предложений',
  'Дата изменения',
  'Статус изменен',
  'Оплачен',
  'Бесплатный',
  'Причина отказа',
  'Комментарий к причине отказа',
  'Страна',
  'Комментарий к клиенту',
  'Клиент: дата регистрации',
  'Задачи',
]
const DEAL_TEXT = ['Чем занимаешься?', 'Комментарий к клиенту', 'Комментарий к причине отказа', 'from_amo']
const ZERO_DATE = '0000-00-00 00:00:00'

const WORDS =
  'школа курс английский занятие преподаватель хочу выучить язык для работы переезд семья дети ребёнок бухгалтер дизайнер маркетолог ' +
  'программист врач учитель «Старт» «Профи» тариф рассрочка подарок скидка вебинар марафон Москва Санкт-Петербург Екатеринбург Новосибирск Казань'
const VOCAB = WORDS.split(' ')
const TAGS = ['Марафон «Весна», 2025', 'VIP "золото"', 'вебинар 12.03', 'оплата, частями', 'повторная покупка', 'лид из "Инстаграма"', 'b2b']

/** Deterministic text of 1–6 words from a row number and a column number. */
function text(seed: number): string {
  let x = (seed * 2654435761) >>> 0
  const words = 1 + (x % 6)
  const out: string[] = []
  for (let i = 0; i < words; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out.push(VOCAB[x % VOCAB.length]!)
    if (x % 9 === 0) out.push(',')
  }
  const s = out.join(' ').replace(/ ,/g, ',')
  return s.charAt(0).toUpperCase() + s.slice(1)
}

function picker(all: readonly string[], keep: readonly string[]): number[] {
  return keep.map((title) => {
    const i = all.indexOf(title)
    if (i < 0) throw new Error(`simulator has no column ${title}`)
    return i
  })
}

export function* realisticRows(stream: BenchStream, rows: number, seed: number): Generator<Cell[]> {
  const now = Date.UTC(2026, 0, 1)
  const users = stream === 'users' ? rows : Math.max(1, Math.ceil(rows / 1.5))
  const gen: GenerationContext = { seed, now, users, deals: rows, currency: 'RUB' }
  const ctx = rowContext(new ZonedTime('Europe/Moscow'), now, 'RUB')
  if (stream === 'users') {
    const keep = USER_FIELDS.filter((t) => !USER_DROP.has(t))
    const idx = picker(USER_FIELDS, keep)
    const textAt = USER_TEXT.map((t) => keep.indexOf(t))
    const empty = keep.indexOf(EMPTY_COLUMN)
    for (let i = 0; i < rows; i++) {
      const full = userRow(makeUser(gen, i), ctx)
      const row = idx.map((j) => full[j] ?? '')
      for (const c of textAt) if ((i + c) % 3 === 0) row[c] = text(i * 64 + c)
      row[empty] = ''
      yield row
    }
    return
  }
  const all = dealFields('RUB')
  const idx = picker(all, DEAL_KEEP)
  const at = (t: string) => DEAL_KEEP.indexOf(t)
  const textAt = DEAL_TEXT.map(at)
  const [tags, paidAt, changedAt] = [at('Теги'), at('Дата оплаты'), at('Статус изменен')]
  for (let i = 0; i < rows; i++) {
    let owner: SimUser | undefined
    const deal = makeDeal(gen, i, (u) => (owner = makeUser(gen, u)))
    const full = dealRow(deal, owner, ctx)
    const row = idx.map((j) => full[j] ?? '')
    for (const c of textAt) if ((i + c) % 3 === 0) row[c] = text(i * 64 + c)
    row[tags] = i % 5 === 0 ? [''] : [TAGS[i % TAGS.length]!, TAGS[(i * 7 + 3) % TAGS.length]!]
    if (i % 5 === 1) row[paidAt] = ZERO_DATE
    if (i % 5 === 2) row[changedAt] = ZERO_DATE
    yield row
  }
}

export function realisticFields(stream: BenchStream): string[] {
  return stream === 'users' ? USER_FIELDS.filter((t) => !USER_DROP.has(t)) : [...DEAL_KEEP]
}

/** The realistic export of `rows` rows (cached); `changed`: the same rows with UPDATED_CELL-like edits. */
export async function cachedRealisticExport(stream: BenchStream, rows: number, variant: 'original' | 'updated' = 'original', seed = 11): Promise<CachedExport> {
  const file = path.join(BENCH_DATA, `realistic-${stream}-${rows}-s${seed}${variant === 'updated' ? '-updated' : ''}.json`)
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true })
    const temp = `${file}.${process.pid}.partial`
    const fields = realisticFields(stream)
    const changed = fields.indexOf(REALISTIC_UPDATED[stream].title)
    const out = createWriteStream(temp)
    const source = realisticRows(stream, rows, seed)
    const edited =
      variant === 'updated'
        ? (function* () {
            for (const row of source) {
              row[changed] = REALISTIC_UPDATED[stream].value
              yield row
            }
          })()
        : source
    for (const chunk of readyExportChunks(fields, edited)) if (!out.write(chunk, 'latin1')) await once(out, 'drain')
    out.end()
    await finished(out)
    renameSync(temp, file)
  }
  return { path: file, rows, bytes: statSync(file).size }
}

/** The cell a full update changes in every row (a typed column for users, `extra` for deals). */
export const REALISTIC_UPDATED: Record<BenchStream, { title: string; value: string }> = {
  users: { title: 'Последняя активность', value: '2026-01-02 12:00:00' },
  deals: { title: 'Дата изменения', value: '2026-01-02 12:00:00' },
}

// `tsx bench/realistic-export.ts users 300000`: pre-generate a file and its updated twin.
if (import.meta.url === `file://${process.argv[1]}`) {
  const [stream, rows] = process.argv.slice(2)
  for (const variant of ['original', 'updated'] as const) {
    const r = await cachedRealisticExport(stream as BenchStream, Number(rows), variant)
    console.log(r.path, (r.bytes / 1e6).toFixed(0), 'MB')
  }
}
