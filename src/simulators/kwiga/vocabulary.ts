/** Word lists for a realistic Ukrainian/Russian-speaking online school. */

export interface NameSet {
  male: readonly string[]
  female: readonly string[]
  /** [masculine, feminine]; identical for gender-neutral surnames. */
  surnames: readonly (readonly [string, string])[]
  patronymics: readonly (readonly [string, string])[]
}

export const UKRAINIAN: NameSet = {
  male: [
    'Олександр',
    'Андрій',
    'Дмитро',
    'Сергій',
    'Володимир',
    'Максим',
    'Іван',
    'Артем',
    'Богдан',
    'Тарас',
    'Микола',
    'Юрій',
    'Олег',
    'Віталій',
    'Євген',
    'Роман',
    'Денис',
    'Павло',
    'Ігор',
    'Василь',
  ],
  female: [
    'Олена',
    'Наталія',
    'Ірина',
    'Тетяна',
    'Оксана',
    'Юлія',
    'Марія',
    'Анна',
    'Катерина',
    'Світлана',
    'Вікторія',
    'Людмила',
    'Галина',
    'Дарина',
    'Софія',
    'Анастасія',
    'Христина',
    'Ольга',
    'Алла',
    'Зоряна',
  ],
  surnames: [
    ...[
      'Шевченко',
      'Коваленко',
      'Бондаренко',
      'Ткаченко',
      'Кравченко',
      'Олійник',
      'Шевчук',
      'Поліщук',
      'Мельник',
      'Бойко',
      'Ковальчук',
      'Савченко',
      'Лисенко',
      'Руденко',
      'Марченко',
      'Петренко',
      'Клименко',
      'Павленко',
      'Гончаренко',
      'Мороз',
      'Кравець',
      'Гуменюк',
      'Литвин',
      'Приходько',
    ].map((s) => [s, s] as const),
    ['Ковальський', 'Ковальська'],
    ['Вишневський', 'Вишневська'],
    ['Заболотний', 'Заболотна'],
    ['Білий', 'Біла'],
  ],
  patronymics: [
    ['Олександрович', 'Олександрівна'],
    ['Іванович', 'Іванівна'],
    ['Петрович', 'Петрівна'],
    ['Миколайович', 'Миколаївна'],
    ['Васильович', 'Василівна'],
  ],
}

export const RUSSIAN: NameSet = {
  male: ['Алексей', 'Дмитрий', 'Сергей', 'Андрей', 'Михаил', 'Николай', 'Евгений', 'Игорь', 'Павел', 'Владимир', 'Артём', 'Константин'],
  female: ['Елена', 'Наталья', 'Ольга', 'Татьяна', 'Екатерина', 'Мария', 'Анна', 'Ирина', 'Светлана', 'Юлия', 'Ксения', 'Дарья'],
  surnames: [
    ['Иванов', 'Иванова'],
    ['Смирнов', 'Смирнова'],
    ['Кузнецов', 'Кузнецова'],
    ['Попов', 'Попова'],
    ['Соколов', 'Соколова'],
    ['Лебедев', 'Лебедева'],
    ['Морозов', 'Морозова'],
    ['Волков', 'Волкова'],
    ['Павлов', 'Павлова'],
    ['Козлов', 'Козлова'],
    ['Новиков', 'Новикова'],
    ['Фёдоров', 'Фёдорова'],
  ],
  patronymics: [
    ['Александрович', 'Александровна'],
    ['Сергеевич', 'Сергеевна'],
    ['Викторович', 'Викторовна'],
  ],
}

/** Weighted by repetition. */
export const EMAIL_DOMAINS = [
  ...Array(9).fill('gmail.com'),
  ...Array(3).fill('ukr.net'),
  'i.ua',
  'meta.ua',
  'outlook.com',
  'icloud.com',
  'yahoo.com',
  'proton.me',
  'mail.ru',
  'yandex.ru',
] as readonly string[]

export const CITIES = [
  'Київ',
  'Львів',
  'Харків',
  'Одеса',
  'Дніпро',
  'Запоріжжя',
  'Вінниця',
  'Полтава',
  'Черкаси',
  'Івано-Франківськ',
  'Тернопіль',
  'Ужгород',
  'Warszawa',
  'Kraków',
  'Berlin',
  'Praha',
] as const

/** Mobile operator codes used for +380 numbers. */
export const UA_OPERATORS = ['50', '63', '66', '67', '68', '73', '93', '95', '96', '97', '98', '99'] as const

export const TAG_NAMES = [
  'вебінар-квітень',
  'lead-magnet',
  'instagram',
  'facebook-ads',
  'telegram',
  'VIP',
  'повернення',
  'чорна-пʼятниця',
  'знижка-30',
  'марафон-2024',
  'відмова',
  'розстрочка',
  'партнер',
  'блогер',
  'корпоратив',
  'youtube',
  'tiktok',
  'email-розсилка',
  'повторний-продаж',
  'холодный-лид',
  'гарячий-лід',
  'безкоштовний-урок',
  'консультація',
  'потік-2023',
  'потік-2024',
  'відгук',
  'сертифікат',
  'refund',
  'b2b',
  'webinar-march',
  'предзапись',
  'анкета',
] as const

export interface CourseTemplate {
  title: string
  type: 'course' | 'marathon'
}

export const COURSE_TEMPLATES: readonly CourseTemplate[] = [
  { title: 'Англійська для початківців', type: 'course' },
  { title: 'SMM з нуля до першого клієнта', type: 'course' },
  { title: 'Python для аналітиків даних', type: 'course' },
  { title: 'Марафон «30 днів йоги»', type: 'marathon' },
  { title: 'Основи UX/UI-дизайну', type: 'course' },
  { title: 'Фінансова грамотність', type: 'course' },
  { title: 'Таргетована реклама в Instagram', type: 'course' },
  { title: 'Интенсив по интернет-маркетингу', type: 'course' },
  { title: 'Excel для бухгалтерів', type: 'course' },
  { title: 'Копірайтинг: тексти, що продають', type: 'course' },
  { title: 'Курс фотографии для начинающих', type: 'course' },
  { title: 'Марафон продуктивності', type: 'marathon' },
  { title: 'Веб-розробка: HTML і CSS', type: 'course' },
  { title: 'Управління проєктами в IT', type: 'course' },
  { title: 'Психологія продажів', type: 'course' },
]

export const INFO_PRODUCT_TITLES = [
  'Чек-лист «Запуск за 7 днів»',
  'Записи вебінару',
  'Гайд по нутриціології',
  'Шаблони контент-плану',
  'Консультація 1:1',
  'Воркбук до курсу',
] as const

export const MODULE_TOPICS = ['Вступ', 'Основи', 'Практика', 'Поглиблення', 'Інструменти', 'Кейси', 'Підсумки'] as const
export const LESSON_TOPICS = [
  'Знайомство',
  'Перші кроки',
  'Теорія',
  'Практичне завдання',
  'Розбір помилок',
  'Інструменти',
  'Кейс студента',
  'Домашнє завдання',
  'Q&A',
  'Підсумки',
] as const
export const SECTION_NAMES = ['Теорія', 'List of practice', 'Матеріали', 'Вступ'] as const

export const CONTACT_LIST_TITLES = [
  'Підписники вебінару',
  'Клієнти 2024',
  'Розсилка новин',
  'Холодна база',
  'Учасники марафону',
  'Пример 2',
  'Предзапись на поток',
  'VIP-клієнти',
] as const

export const MANAGER_NAMES = ['Марина Менеджер', 'Олег Продажі', 'Support KWIGA школи', 'Анна Куратор'] as const

export const UTM = {
  source: ['instagram', 'facebook', 'google', 'telegram', 'youtube', 'email', 'tiktok'],
  medium: ['cpc', 'social', 'email', 'organic', 'stories', 'bio'],
  campaign: ['spring_sale', 'webinar_2024', 'black_friday', 'retargeting', 'lead_magnet', 'launch_autumn'],
  term: ['курс', 'навчання онлайн', 'smm', 'python'],
  content: ['banner_a', 'banner_b', 'video', 'carousel'],
} as const

export const BROWSERS = [
  {
    browser: 'Chrome',
    version: '124.0.0.0',
    platform: 'Windows',
    platformVersion: '10',
    ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36',
  },
  {
    browser: 'Safari',
    version: '17.4',
    platform: 'iOS',
    platformVersion: '17.4',
    ua: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  },
  {
    browser: 'Chrome Mobile',
    version: '123.0.0.0',
    platform: 'AndroidOS',
    platformVersion: '14',
    ua: 'Mozilla/5.0 (Linux; Android 14; SM-S911B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Mobile Safari/537.36',
  },
  {
    browser: 'Firefox',
    version: '125.0',
    platform: 'OS X',
    platformVersion: '14.4',
    ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:125.0) Gecko/20100101 Firefox/125.0',
  },
] as const

const TRANSLIT: Record<string, string> = {
  а: 'a',
  б: 'b',
  в: 'v',
  г: 'h',
  ґ: 'g',
  д: 'd',
  е: 'e',
  є: 'ye',
  ж: 'zh',
  з: 'z',
  и: 'y',
  і: 'i',
  ї: 'yi',
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
  ь: '',
  ю: 'yu',
  я: 'ya',
  ё: 'e',
  ы: 'y',
  э: 'e',
  ъ: '',
  ʼ: '',
  "'": '',
}

export function transliterate(s: string): string {
  let out = ''
  for (const ch of s.toLowerCase()) out += TRANSLIT[ch] ?? ch
  return out
}

export function slugify(s: string): string {
  return transliterate(s)
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
}
