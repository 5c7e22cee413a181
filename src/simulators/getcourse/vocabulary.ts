/** Realistic values for generated GetCourse data: Russian names, cities, offers, marketing labels. */

export const MALE_FIRST_NAMES = [
  'Александр',
  'Дмитрий',
  'Максим',
  'Сергей',
  'Андрей',
  'Алексей',
  'Артём',
  'Илья',
  'Кирилл',
  'Михаил',
  'Никита',
  'Иван',
  'Роман',
  'Егор',
  'Павел',
  'Владимир',
  'Денис',
  'Евгений',
  'Олег',
  'Игорь',
] as const

export const FEMALE_FIRST_NAMES = [
  'Анна',
  'Мария',
  'Елена',
  'Ольга',
  'Наталья',
  'Екатерина',
  'Татьяна',
  'Ирина',
  'Светлана',
  'Юлия',
  'Анастасия',
  'Дарья',
  'Ксения',
  'Алина',
  'Виктория',
  'Полина',
  'Марина',
  'Людмила',
  'Валерия',
  'Софья',
] as const

/** Male forms; the female form is derived by `feminineSurname`. */
export const SURNAMES = [
  'Иванов',
  'Смирнов',
  'Кузнецов',
  'Попов',
  'Васильев',
  'Петров',
  'Соколов',
  'Михайлов',
  'Новиков',
  'Фёдоров',
  'Морозов',
  'Волков',
  'Алексеев',
  'Лебедев',
  'Семёнов',
  'Егоров',
  'Павлов',
  'Козлов',
  'Степанов',
  'Николаев',
  'Орлов',
  'Андреев',
  'Макаров',
  'Никитин',
  'Захаров',
  'Зайцев',
  'Соловьёв',
  'Борисов',
  'Яковлев',
  'Григорьев',
  'Романов',
  'Воробьёв',
  'Сергеев',
  'Кузьмин',
  'Фролов',
  'Александров',
  'Дмитриев',
  'Королёв',
  'Гусев',
  'Киселёв',
  'Ильин',
  'Максимов',
  'Поляков',
  'Сорокин',
  'Виноградов',
  'Ковалёв',
  'Белов',
  'Медведев',
  'Антонов',
  'Тарасов',
  'Жуков',
  'Баранов',
  'Филиппов',
  'Комаров',
  'Давыдов',
  'Беляев',
  'Герасимов',
  'Богданов',
  'Осипов',
  'Сидоров',
  'Покровский',
  'Никольский',
  'Вишневский',
  'Островский',
  'Ким',
  'Шевчук',
  'Бондаренко',
  'Гусейнов',
  'Алиев',
  'Цой',
] as const

export function feminineSurname(surname: string): string {
  if (/(ов|ев|ёв|ин|ын)$/.test(surname)) return `${surname}а`
  if (surname.endsWith('ский')) return `${surname.slice(0, -4)}ская`
  return surname
}

const TRANSLIT: Record<string, string> = {
  а: 'a',
  б: 'b',
  в: 'v',
  г: 'g',
  д: 'd',
  е: 'e',
  ё: 'e',
  ж: 'zh',
  з: 'z',
  и: 'i',
  й: 'y',
  к: 'k',
  л: 'l',
  м: 'm',
  н: 'n',
  о: 'o',
  п: 'p',
  р: 'r',
  с: 's',
  т: 't',
  у: 'u',
  ф: 'f',
  х: 'kh',
  ц: 'ts',
  ч: 'ch',
  ш: 'sh',
  щ: 'shch',
  ъ: '',
  ы: 'y',
  ь: '',
  э: 'e',
  ю: 'yu',
  я: 'ya',
}

const transliterated = new Map<string, string>()

/** Latin spelling for e-mail addresses; names come from short lists, so results are memoised. */
export function transliterate(text: string): string {
  let out = transliterated.get(text)
  if (out === undefined) {
    out = ''
    for (const ch of text.toLowerCase()) out += TRANSLIT[ch] ?? ch
    transliterated.set(text, out)
  }
  return out
}

export const EMAIL_DOMAINS = ['mail.ru', 'yandex.ru', 'gmail.com', 'bk.ru', 'inbox.ru', 'list.ru', 'ya.ru', 'rambler.ru', 'icloud.com'] as const

/** [city, country, weight] */
export const CITIES: readonly (readonly [string, string, number])[] = [
  ['Москва', 'Россия', 30],
  ['Санкт-Петербург', 'Россия', 14],
  ['Новосибирск', 'Россия', 4],
  ['Екатеринбург', 'Россия', 4],
  ['Казань', 'Россия', 4],
  ['Нижний Новгород', 'Россия', 3],
  ['Челябинск', 'Россия', 2],
  ['Самара', 'Россия', 2],
  ['Ростов-на-Дону', 'Россия', 3],
  ['Уфа', 'Россия', 2],
  ['Краснодар', 'Россия', 3],
  ['Воронеж', 'Россия', 2],
  ['Пермь', 'Россия', 2],
  ['Красноярск', 'Россия', 2],
  ['Тюмень', 'Россия', 1],
  ['Калининград', 'Россия', 1],
  ['Сочи', 'Россия', 1],
  ['Минск', 'Беларусь', 3],
  ['Алматы', 'Казахстан', 3],
  ['Астана', 'Казахстан', 1],
  ['Ташкент', 'Узбекистан', 1],
  ['Ереван', 'Армения', 1],
  ['Тбилиси', 'Грузия', 1],
  ['Лимассол', 'Кипр', 1],
  ['Берлин', 'Германия', 1],
  ['', '', 8],
]

export const REGISTRATION_TYPES: readonly (readonly [string, number])[] = [
  ['Зарегистрировался самостоятельно', 70],
  ['Приглашен администратором', 8],
  ['Импорт', 7],
  ['Через заказ', 12],
  ['Через API', 3],
]

export const REFERERS = [
  'https://www.instagram.com/',
  'https://t.me/',
  'https://vk.com/',
  'https://yandex.ru/',
  'https://www.google.com/',
  'https://www.youtube.com/',
  'https://dzen.ru/',
  '',
] as const

export const UTM_SOURCES = ['instagram', 'telegram', 'vk', 'yandex', 'google', 'email', 'youtube', 'partner'] as const
export const UTM_MEDIUMS = ['cpc', 'social', 'post', 'stories', 'newsletter', 'referral'] as const
export const UTM_CAMPAIGNS = ['webinar_march', 'launch_2025', 'black_friday', 'autowebinar', 'free_guide', 'spring_sale', 'retarget_30d'] as const
export const UTM_CONTENTS = ['banner1', 'video_ad', 'carousel', 'bio_link', 'pin_post'] as const

export const STAFF_NAMES = ['Ольга Смирнова', 'Дмитрий Котов', 'Анна Белова', 'Игорь Рябов'] as const

export const PARTNERS = [
  { id: 101_332_455, email: 'partner.marina@yandex.ru', name: 'Марина Лаврова' },
  { id: 104_887_120, email: 'blog.alex@gmail.com', name: 'Алексей Громов' },
  { id: 110_023_761, email: 'school-friends@mail.ru', name: 'Екатерина Зуева' },
] as const

export const TELEGRAM_NICKS = ['@', '@it_', '@mama_', '@pro_', '@'] as const

export const OCCUPATIONS = ['Маркетинг', 'IT', 'Образование', 'Медицина', 'Свой бизнес', 'Декрет', 'Финансы', 'Дизайн', 'Студент'] as const

export const DISCOVERY_CHANNELS = ['Instagram', 'Telegram-канал', 'От друзей', 'YouTube', 'Реклама ВКонтакте', 'Яндекс', 'Подкаст'] as const

export const AGE_BRACKETS = ['до 18', '18-24', '25-34', '35-44', '45-54', '55+'] as const

/** [title, price, offer tags] — price 0 is a free lead magnet. */
export const OFFERS: readonly (readonly [string, number, readonly string[]])[] = [
  ['Курс «Основы SMM»', 14_900, ['Основной продукт']],
  ['Интенсив «Продажи в Telegram»', 4_990, ['Трипвайер']],
  ['Марафон «Английский за 30 дней»', 2_990, ['Трипвайер']],
  ['Клуб «Практика» — подписка на месяц', 1_490, ['Подписка']],
  ['Курс «Таргетолог с нуля» — тариф Стандарт', 29_900, ['Основной продукт']],
  ['Курс «Таргетолог с нуля» — тариф VIP', 59_900, ['Основной продукт', 'VIP']],
  ['Консультация с экспертом', 12_000, []],
  ['Мини-курс «Нейросети для бизнеса»', 990, ['Трипвайер']],
  ['Гайд «10 ошибок новичка»', 0, ['Бесплатный']],
  ['Вебинар «Как запустить онлайн-школу»', 0, ['Бесплатный']],
]

export const DEAL_TAGS = ['Вебинар', 'Запуск март', 'Рассрочка', 'Повторная покупка', 'Горячий лид', 'Клуб'] as const

export const PAYMENT_SYSTEMS = ['Тинькофф', 'ЮKassa', 'Продамус', 'CloudPayments', 'Робокасса'] as const

export const PROMO_CODES = ['SPRING20', 'WELCOME10', 'BF2025', 'FRIEND500'] as const
export const PROMO_ACTIONS = ['Черная пятница', 'Весенняя распродажа', 'День рождения школы'] as const

export const REFUSAL_REASONS = ['Дорого', 'Передумал', 'Не подошли сроки', 'Купил у конкурента', 'Нет ответа'] as const

export const GROUP_NAMES = [
  'Траектория 1',
  'Покупатели «Основы SMM»',
  'Участники вебинара',
  'Клуб «Практика»',
  'VIP-поток',
  'Марафон — весна',
  'Кураторы',
  'Рассылка: новости школы',
] as const
