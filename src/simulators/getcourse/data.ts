import type { DealStatus, PaymentStatus, UserStatus } from './columns.js'
import { type Rng, hashString, rngFor } from './random.js'
import * as V from './vocabulary.js'

const MINUTE_MS = 60_000
const DAY_MS = 86_400_000
/** Generated records are spread over this much history before "now". */
export const HISTORY_MS = 730 * DAY_MS

export interface Utm {
  readonly source: string
  readonly medium: string
  readonly campaign: string
  readonly term: string
  readonly content: string
  readonly group: string
}

export interface Partner {
  readonly id: number
  readonly email: string
  readonly name: string
}

/** Times are epoch milliseconds; exports render them in the account's time zone. */
export interface SimUser {
  readonly id: number
  readonly email: string
  readonly status: UserStatus
  readonly registrationType: string
  readonly createdAt: number
  readonly lastActivityAt: number | null
  readonly firstName: string
  readonly lastName: string
  readonly phone: string
  /** `YYYY-MM-DD` or '' */
  readonly birthday: string
  readonly country: string
  readonly city: string
  readonly referer: string
  readonly utm: Utm
  readonly partner: Partner | null
  readonly manager: string
  readonly vkId: string
  /** Values of USER_CUSTOM_FIELDS by key. */
  readonly custom: Readonly<Record<string, string>>
}

export interface SimDeal {
  readonly id: number
  readonly number: number
  readonly userId: number
  readonly status: DealStatus
  readonly title: string
  /** Major currency units, two decimals. */
  readonly cost: number
  readonly paid: number
  readonly currency: string
  readonly createdAt: number
  readonly payedAt: number | null
  readonly finishedAt: number | null
  readonly statusChangedAt: number
  readonly updatedAt: number
  readonly manager: string
  readonly paymentSystem: string
  readonly promoCode: string
  readonly promoAction: string
  readonly utm: Utm
  readonly partner: Partner | null
  readonly tags: readonly string[]
  readonly offerTags: readonly string[]
  readonly refusalReason: string
  /** Values of DEAL_CUSTOM_FIELDS by key. */
  readonly custom: Readonly<Record<string, string>>
}

export interface SimPayment {
  readonly id: number
  readonly dealId: number
  readonly userId: number
  readonly status: PaymentStatus
  /** Payment system label (column `Тип`). */
  readonly type: string
  readonly amount: number
  readonly commission: number
  readonly code: string
  readonly title: string
  readonly createdAt: number
  readonly statusChangedAt: number
}

export interface GroupMember {
  readonly userId: number
  readonly addedAt: number
}

export interface SimGroup {
  readonly id: number
  readonly name: string
  readonly members: readonly GroupMember[]
}

export interface GenerationContext {
  seed: number
  now: number
  /** Totals used to spread creation dates; entity N is placed at N/total of the history. */
  users: number
  deals: number
  currency: string
}

const round2 = (n: number) => Math.round(n * 100) / 100
const clamp = (n: number, min: number, max: number) => Math.min(Math.max(n, min), max)
const later = (rng: Rng, from: number, now: number, maxSpan: number) => from + Math.floor(rng.next() * Math.max(0, Math.min(maxSpan, now - from)))

const NO_UTM: Utm = { source: '', medium: '', campaign: '', term: '', content: '', group: '' }

function randomUtm(rng: Rng): Utm {
  return {
    source: rng.pick(V.UTM_SOURCES),
    medium: rng.pick(V.UTM_MEDIUMS),
    campaign: rng.pick(V.UTM_CAMPAIGNS),
    term: rng.chance(0.1) ? 'онлайн курсы' : '',
    content: rng.chance(0.5) ? rng.pick(V.UTM_CONTENTS) : '',
    group: '',
  }
}

const PHONE_PREFIXES: readonly (readonly [string, number])[] = [
  ['+79', 60],
  ['79', 15],
  ['89', 8],
  ['', 17],
]
const CITY_WEIGHTS = V.CITIES.map(([city, country, weight]) => [[city, country] as const, weight] as const)

function randomPhone(rng: Rng, country: string): string {
  if (country === 'Беларусь') return rng.chance(0.8) ? `+37529${String(rng.int(0, 9_999_999)).padStart(7, '0')}` : ''
  const prefix = rng.weighted(PHONE_PREFIXES)
  return prefix && prefix + String(rng.int(0, 999_999_999)).padStart(9, '0')
}

function userIdBase(seed: number): number {
  return 100_000_000 + (hashString(`users:${seed}`) % 150) * 1_000_000
}

function dealIdBase(seed: number): number {
  return 200_000_000 + (hashString(`deals:${seed}`) % 150) * 1_000_000
}

function buildUser(rng: Rng, index: number, id: number, createdAt: number, now: number): SimUser {
  const female = rng.chance(0.62)
  const firstName = rng.pick(female ? V.FEMALE_FIRST_NAMES : V.MALE_FIRST_NAMES)
  const surname = rng.pick(V.SURNAMES)
  const lastName = female ? V.feminineSurname(surname) : surname
  const [tf, tl] = [V.transliterate(firstName), V.transliterate(lastName)]
  const n = index + 1
  const style = rng.int(0, 3)
  const local = style === 0 ? `${tf}.${tl}${n}` : style === 1 ? `${tl}_${tf[0]}${n}` : style === 2 ? `${tf}${n}` : `${tf[0]}.${tl}${n}`
  let email = `${local}@${rng.pick(V.EMAIL_DOMAINS)}`
  if (rng.chance(0.03)) email = email[0].toUpperCase() + email.slice(1)

  const status = rng.weighted<UserStatus>([
    ['active', 80],
    ['in_base', 9],
    ['invited', 4],
    ['deactivated', 4],
    ['banned', 3],
  ])
  const registrationType = status === 'in_base' ? 'Импорт' : status === 'invited' ? 'Приглашен администратором' : rng.weighted(V.REGISTRATION_TYPES)
  const neverActive = status === 'in_base' || status === 'invited' || rng.chance(0.08)
  const [city, country] = rng.weighted(CITY_WEIGHTS)
  const utm = rng.chance(0.55) ? randomUtm(rng) : NO_UTM
  const partner = rng.chance(0.06) ? rng.pick(V.PARTNERS) : null
  const birthday = rng.chance(0.4) ? `${rng.int(1960, 2006)}-${String(rng.int(1, 12)).padStart(2, '0')}-${String(rng.int(1, 28)).padStart(2, '0')}` : ''
  return {
    id,
    email,
    status,
    registrationType,
    createdAt,
    lastActivityAt: neverActive ? null : later(rng, createdAt, now, HISTORY_MS),
    firstName,
    lastName,
    phone: randomPhone(rng, country),
    birthday,
    country,
    city,
    referer: rng.pick(V.REFERERS),
    utm,
    partner,
    manager: rng.chance(0.08) ? rng.pick(V.STAFF_NAMES) : '',
    vkId: rng.chance(0.12) ? String(rng.int(1_000_000, 799_999_999)) : '',
    custom: {
      telegram: rng.chance(0.3) ? `${rng.pick(V.TELEGRAM_NICKS)}${tf}_${tl}` : '',
      custom_utm_source: rng.chance(0.25) ? utm.source || 'insta_bio' : '',
      consent: rng.chance(0.55) ? 'Да' : '',
      occupation: rng.chance(0.45) ? rng.pick(V.OCCUPATIONS) : '',
      discovery: rng.chance(0.35) ? rng.pick(V.DISCOVERY_CHANNELS) : '',
      gc_utm_source: utm.source,
      gc_utm_medium: utm.medium,
      gc_utm_campaign: utm.campaign,
      gc_utm_term: utm.term,
      gc_utm_content: utm.content,
    },
  }
}

/** User `index` of a generated account: ids and creation dates grow with the index. */
export function makeUser(ctx: GenerationContext, index: number): SimUser {
  const rng = rngFor(ctx.seed, 'user', index)
  const start = ctx.now - HISTORY_MS
  const createdAt = Math.floor(start + ((index + rng.next()) / Math.max(1, ctx.users)) * (HISTORY_MS - 10 * MINUTE_MS))
  return buildUser(rng, index, userIdBase(ctx.seed) + index * 3 + rng.int(0, 2), createdAt, ctx.now)
}

/** Applies a status change the way GetCourse records it: paid amount, payment and finish dates. */
export function withDealStatus(deal: SimDeal, status: DealStatus, at: number): SimDeal {
  let paid = deal.paid
  if (status === 'payed' || status === 'waiting_for_return') paid = deal.cost
  else if (status === 'part_payed' && (paid <= 0 || paid >= deal.cost)) paid = round2(deal.cost / 2)
  const paysNow = paid > 0 && deal.payedAt === null
  return {
    ...deal,
    status,
    paid,
    payedAt: paysNow ? at : deal.payedAt,
    paymentSystem: paysNow && !deal.paymentSystem ? V.PAYMENT_SYSTEMS[deal.id % V.PAYMENT_SYSTEMS.length] : deal.paymentSystem,
    finishedAt: status === 'payed' || status === 'cancelled' || status === 'false' ? at : deal.finishedAt,
    statusChangedAt: at,
    updatedAt: at,
  }
}

function buildDeal(rng: Rng, id: number, number: number, user: SimUser, createdAt: number, currency: string): SimDeal {
  const [title, price, offerTags] = rng.pick(V.OFFERS)
  const promo = price > 0 && rng.chance(0.1)
  const utm = rng.chance(0.5) ? user.utm : rng.chance(0.5) ? randomUtm(rng) : NO_UTM
  const gdsSent = rng.chance(0.2)
  const ageForm1 = rng.chance(0.3) ? rng.pick(V.AGE_BRACKETS) : ''
  return {
    id,
    number,
    userId: user.id,
    status: 'new',
    title,
    cost: promo ? round2(price * 0.8) : price,
    paid: 0,
    currency,
    createdAt,
    payedAt: null,
    finishedAt: null,
    statusChangedAt: createdAt,
    updatedAt: createdAt,
    manager: rng.chance(0.2) ? rng.pick(V.STAFF_NAMES) : '',
    paymentSystem: '',
    promoCode: promo ? rng.pick(V.PROMO_CODES) : '',
    promoAction: promo && rng.chance(0.5) ? rng.pick(V.PROMO_ACTIONS) : '',
    utm,
    partner: user.partner,
    tags: rng.chance(0.35) ? [...new Set([rng.pick(V.DEAL_TAGS), rng.pick(V.DEAL_TAGS)])] : [],
    offerTags,
    refusalReason: '',
    custom: {
      scan_utm_source: rng.chance(0.15) ? utm.source : '',
      scan_utm_medium: rng.chance(0.15) ? utm.medium : '',
      scan_utm_campaign: rng.chance(0.15) ? utm.campaign : '',
      gds_sent: gdsSent ? 'Да' : '',
      gds_result: gdsSent ? rng.pick(['OK', 'duplicate', 'error: timeout']) : '',
      refund: '',
      offer_consent: price > 0 ? 'Да' : '',
      from_amo: rng.chance(0.05) ? '1' : '',
      custom_utm_source: rng.chance(0.2) ? utm.source : '',
      occupation: rng.chance(0.2) ? rng.pick(V.OCCUPATIONS) : '',
      age_form1: ageForm1,
      age_form2: !ageForm1 && rng.chance(0.1) ? rng.pick(V.AGE_BRACKETS) : '',
      gc_utm_source: utm.source,
      gc_utm_medium: utm.medium,
      gc_utm_campaign: utm.campaign,
    },
  }
}

/** Deal `index`: placed at index/total of the history and owned by a user registered before it. */
export function makeDeal(ctx: GenerationContext, index: number, userAt: (index: number) => SimUser): SimDeal {
  const rng = rngFor(ctx.seed, 'deal', index)
  const start = ctx.now - HISTORY_MS
  const position = (index + rng.next()) / Math.max(1, ctx.deals)
  const newest = clamp(Math.floor(position * ctx.users), 0, ctx.users - 1)
  // Half of the orders come from people who registered just before buying.
  const user = userAt(rng.chance(0.5) ? Math.max(0, newest - rng.int(0, 15)) : rng.int(0, newest))
  const planned = Math.max(start + position * (HISTORY_MS - MINUTE_MS), user.createdAt + rng.int(1, 90) * MINUTE_MS)
  const createdAt = Math.floor(Math.max(user.createdAt, Math.min(planned, ctx.now - 1000)))
  const id = dealIdBase(ctx.seed) + index * 2 + rng.int(0, 1)
  const deal = buildDeal(rng, id, 10_001 + index, user, createdAt, ctx.currency)

  const status: DealStatus =
    deal.cost === 0
      ? rng.weighted<DealStatus>([
          ['payed', 70],
          ['new', 20],
          ['cancelled', 10],
        ])
      : rng.weighted<DealStatus>([
          ['payed', 38],
          ['new', 18],
          ['in_work', 7],
          ['payment_waiting', 11],
          ['cancelled', 13],
          ['false', 4],
          ['part_payed', 6],
          ['not_confirmed', 1],
          ['waiting_for_return', 1],
          ['pending', 1],
        ])
  if (status === 'new') return deal
  const changedAt = later(rng, createdAt, ctx.now, 30 * DAY_MS)
  const changed = withDealStatus({ ...deal, paid: status === 'part_payed' ? round2(deal.cost * rng.pick([0.3, 0.5])) : 0 }, status, changedAt)
  return {
    ...changed,
    // A part-paid or to-be-refunded order was paid some time before its latest status change.
    payedAt: changed.payedAt === null || status === 'payed' ? changed.payedAt : later(rng, createdAt, changedAt, changedAt - createdAt),
    updatedAt: rng.chance(0.25) ? later(rng, changedAt, ctx.now, 5 * DAY_MS) : changedAt,
    refusalReason: status === 'cancelled' && rng.chance(0.6) ? rng.pick(V.REFUSAL_REASONS) : '',
    custom: status === 'waiting_for_return' ? { ...changed.custom, refund: 'Да' } : changed.custom,
  }
}

function paymentCode(rng: Rng): string {
  let code = ''
  for (let i = 0; i < 20; i++) code += '0123456789abcdef'[rng.int(0, 15)]
  return `${code.slice(0, 8)}-${code.slice(8, 12)}-${code.slice(12)}`
}

function paymentStatusFor(rng: Rng, deal: SimDeal): PaymentStatus {
  switch (deal.status) {
    case 'payed':
      return rng.weighted<PaymentStatus>([
        ['accepted', 92],
        ['returned', 5],
        ['tobalance', 3],
      ])
    case 'part_payed':
      return 'accepted'
    case 'waiting_for_return':
      return rng.chance(0.5) ? 'returned' : 'accepted'
    default:
      return deal.paid > 0 ? 'accepted' : 'expected'
  }
}

/** A payment of `deal`; created no earlier than the deal, changed no earlier than created. */
export function makePayment(rng: Rng, id: number, deal: SimDeal, now: number): SimPayment {
  const status = paymentStatusFor(rng, deal)
  const settledAt = deal.payedAt ?? later(rng, deal.createdAt, now, 2 * DAY_MS)
  const createdAt = clamp(settledAt - rng.int(1, 10) * MINUTE_MS, deal.createdAt, now)
  const statusChangedAt = status === 'expected' ? createdAt : status === 'returned' ? later(rng, settledAt, now, 14 * DAY_MS) : Math.max(settledAt, createdAt)
  const amount = deal.paid > 0 ? deal.paid : deal.cost
  return {
    id,
    dealId: deal.id,
    userId: deal.userId,
    status,
    type: deal.paymentSystem || rng.pick(V.PAYMENT_SYSTEMS),
    amount,
    commission: status === 'expected' ? 0 : round2(amount * 0.035),
    code: paymentCode(rng),
    title: deal.title,
    createdAt,
    statusChangedAt,
  }
}

const GROUP_SHARES = [0.6, 0.25, 0.1, 0.4, 0.05, 0.15, 0.02]

function makeGroups(seed: number, count: number, users: readonly SimUser[], now: number): SimGroup[] {
  return Array.from({ length: count }, (_, j) => {
    const rng = rngFor(seed, 'group', j)
    const suffix = j >= V.GROUP_NAMES.length ? ` ${Math.floor(j / V.GROUP_NAMES.length) + 1}` : ''
    // The last group of an account with several groups is empty: its last_added_at is null (reference §5.1).
    const share = count >= 3 && j === count - 1 ? 0 : GROUP_SHARES[j % GROUP_SHARES.length]
    const members: GroupMember[] = []
    for (const user of users) {
      if (rng.chance(share)) members.push({ userId: user.id, addedAt: later(rng, user.createdAt, now, HISTORY_MS) })
    }
    return { id: 2_480_000 + j * 1_379 + rng.int(0, 999), name: V.GROUP_NAMES[j % V.GROUP_NAMES.length] + suffix, members }
  })
}

export interface DatasetOptions {
  seed: number
  users: number
  deals: number
  payments: number
  groups: number
  currency: string
  /** Time source for generation ("now") and for every mutation. */
  now: () => number
}

/**
 * The data of one simulated account. Records are immutable: a mutation replaces the record, so an
 * export that already took its snapshot keeps the values it saw when it started.
 */
export class SimDataset {
  private readonly userList: SimUser[]
  private readonly dealList: SimDeal[]
  private readonly paymentList: SimPayment[]
  private readonly groupList: SimGroup[]
  private readonly position = { user: new Map<number, number>(), deal: new Map<number, number>(), payment: new Map<number, number>() }
  private added = 0
  /** Additional fields renamed in the account (field id → new title): the dictionary and exports use it. */
  readonly fieldRenames = new Map<number, string>()

  constructor(private readonly opts: DatasetOptions) {
    if (opts.deals > 0 && opts.users < 1) throw new Error('A simulated account with deals needs at least one user')
    if (opts.payments > 0 && opts.deals < 1) throw new Error('A simulated account with payments needs at least one deal')
    const now = opts.now()
    const ctx: GenerationContext = { seed: opts.seed, now, users: opts.users, deals: opts.deals, currency: opts.currency }
    this.userList = Array.from({ length: opts.users }, (_, i) => makeUser(ctx, i))
    this.dealList = Array.from({ length: opts.deals }, (_, i) => makeDeal(ctx, i, (u) => this.userList[u]))
    this.paymentList = this.generatePayments(opts.payments, now)
    this.groupList = makeGroups(opts.seed, opts.groups, this.userList, now)
    this.userList.forEach((u, i) => this.position.user.set(u.id, i))
    this.dealList.forEach((d, i) => this.position.deal.set(d.id, i))
    this.paymentList.forEach((p, i) => this.position.payment.set(p.id, i))
  }

  private generatePayments(count: number, now: number): SimPayment[] {
    const billed = this.dealList.filter((d) => d.paid > 0 || d.status === 'payment_waiting')
    const candidates = billed.length > 0 ? billed : this.dealList
    const payments = Array.from({ length: count }, (_, i) => {
      const rng = rngFor(this.opts.seed, 'payment', i)
      return makePayment(rng, 0, candidates[rng.int(0, candidates.length - 1)], now)
    })
    // Payment numbers grow with time, like the account's own sequence.
    payments.sort((a, b) => a.createdAt - b.createdAt)
    return payments.map((p, i) => ({ ...p, id: 3_100_001 + i }))
  }

  get users(): readonly SimUser[] {
    return this.userList
  }
  get deals(): readonly SimDeal[] {
    return this.dealList
  }
  get payments(): readonly SimPayment[] {
    return this.paymentList
  }
  get groups(): readonly SimGroup[] {
    return this.groupList
  }

  user(id: number): SimUser | undefined {
    const i = this.position.user.get(id)
    return i === undefined ? undefined : this.userList[i]
  }
  deal(id: number): SimDeal | undefined {
    const i = this.position.deal.get(id)
    return i === undefined ? undefined : this.dealList[i]
  }
  payment(id: number): SimPayment | undefined {
    const i = this.position.payment.get(id)
    return i === undefined ? undefined : this.paymentList[i]
  }
  group(id: number): SimGroup | undefined {
    return this.groupList.find((g) => g.id === id)
  }

  /** Registers a user now (`Создан` = now), with generated values unless given. */
  addUser(init: Partial<Omit<SimUser, 'id'>> = {}): SimUser {
    const now = this.opts.now()
    const rng = rngFor(this.opts.seed, 'added-user', this.added++)
    const lastId = this.userList.at(-1)?.id ?? userIdBase(this.opts.seed)
    const user = { ...buildUser(rng, this.userList.length, lastId + rng.int(1, 3), now, now), lastActivityAt: now, ...init }
    this.position.user.set(user.id, this.userList.push(user) - 1)
    return user
  }

  updateUser(id: number, patch: Partial<Omit<SimUser, 'id'>>): SimUser {
    const user = { ...this.require(this.user(id), 'user', id), ...patch }
    this.userList[this.position.user.get(id)!] = user
    return user
  }

  /** Creates an order now; `status` other than `new` is applied as a status change at the same moment. */
  addDeal(init: Partial<Omit<SimDeal, 'id' | 'number'>> = {}): SimDeal {
    const now = this.opts.now()
    const userId = init.userId ?? this.userList.at(-1)?.id
    const user = this.require(userId === undefined ? undefined : this.user(userId), 'user', userId ?? NaN)
    const rng = rngFor(this.opts.seed, 'added-deal', this.added++)
    const last = this.dealList.at(-1)
    const id = (last ? last.id : dealIdBase(this.opts.seed)) + rng.int(1, 2)
    const number = (last ? last.number : 10_000) + 1
    let deal = buildDeal(rng, id, number, user, now, this.opts.currency)
    if (init.cost !== undefined) deal = { ...deal, cost: init.cost }
    if (init.status && init.status !== 'new') deal = withDealStatus(deal, init.status, now)
    deal = { ...deal, ...init }
    this.position.deal.set(deal.id, this.dealList.push(deal) - 1)
    return deal
  }

  /** Sets `updatedAt` (`Дата изменения`) to now. */
  updateDeal(id: number, patch: Partial<Omit<SimDeal, 'id'>>): SimDeal {
    const deal = { ...this.require(this.deal(id), 'deal', id), updatedAt: this.opts.now(), ...patch }
    this.dealList[this.position.deal.get(id)!] = deal
    return deal
  }

  /** Renames an additional field (`/account/fields` and the export column both show the new title). */
  renameField(id: number, title: string): void {
    this.fieldRenames.set(id, title)
  }

  /** Moves `Статус изменен` and `Дата изменения` to now; paying sets `Дата оплаты`. */
  changeDealStatus(id: number, status: DealStatus): SimDeal {
    const deal = withDealStatus(this.require(this.deal(id), 'deal', id), status, this.opts.now())
    this.dealList[this.position.deal.get(id)!] = deal
    return deal
  }

  /** Creates a payment now for `init.dealId` (default: the newest deal). */
  addPayment(init: Partial<Omit<SimPayment, 'id'>> = {}): SimPayment {
    const now = this.opts.now()
    const dealId = init.dealId ?? this.dealList.at(-1)?.id
    const deal = this.require(dealId === undefined ? undefined : this.deal(dealId), 'deal', dealId ?? NaN)
    const rng = rngFor(this.opts.seed, 'added-payment', this.added++)
    const last = this.paymentList.at(-1)
    const generated = makePayment(rng, (last ? last.id : 3_100_000) + 1, deal, now)
    const payment = { ...generated, createdAt: now, statusChangedAt: now, ...init }
    this.position.payment.set(payment.id, this.paymentList.push(payment) - 1)
    return payment
  }

  changePaymentStatus(id: number, status: PaymentStatus): SimPayment {
    const old = this.require(this.payment(id), 'payment', id)
    const commission = status === 'expected' ? 0 : old.commission || round2(old.amount * 0.035)
    const payment = { ...old, status, commission, statusChangedAt: this.opts.now() }
    this.paymentList[this.position.payment.get(id)!] = payment
    return payment
  }

  addGroup(name: string): SimGroup {
    const last = this.groupList.at(-1)
    const group: SimGroup = { id: (last ? last.id : 2_480_000) + 1_379, name, members: [] }
    this.groupList.push(group)
    return group
  }

  /** Adds the user to the group now (`Добавлен в группу`); re-adding moves the date. */
  addGroupMember(groupId: number, userId: number): SimGroup {
    const index = this.groupList.findIndex((g) => g.id === groupId)
    const old = this.require(this.groupList[index], 'group', groupId)
    this.require(this.user(userId), 'user', userId)
    const members = [...old.members.filter((m) => m.userId !== userId), { userId, addedAt: this.opts.now() }]
    const group = { ...old, members }
    this.groupList[index] = group
    return group
  }

  /** Removes the user from the school, as deleting it in GetCourse does (`restoreUser` puts it back). */
  deleteUser(id: number): SimUser {
    return this.remove('user', this.userList, id)
  }
  deleteDeal(id: number): SimDeal {
    return this.remove('deal', this.dealList, id)
  }
  deletePayment(id: number): SimPayment {
    return this.remove('payment', this.paymentList, id)
  }
  /** Puts a deleted record back, unchanged (same id, same dates). */
  restoreUser(id: number): SimUser {
    return this.restore('user', this.userList, id)
  }
  restoreDeal(id: number): SimDeal {
    return this.restore('deal', this.dealList, id)
  }

  /** The user leaves the group. */
  removeGroupMember(groupId: number, userId: number): SimGroup {
    const index = this.groupList.findIndex((g) => g.id === groupId)
    const old = this.require(this.groupList[index], 'group', groupId)
    if (!old.members.some((m) => m.userId === userId)) throw new Error(`User ${userId} is not a member of group ${groupId}`)
    const group = { ...old, members: old.members.filter((m) => m.userId !== userId) }
    this.groupList[index] = group
    return group
  }

  private readonly deleted = { user: new Map<number, SimUser>(), deal: new Map<number, SimDeal>(), payment: new Map<number, SimPayment>() }

  private remove<K extends 'user' | 'deal' | 'payment', R extends { id: number }>(kind: K, list: R[], id: number): R {
    const i = this.position[kind].get(id)
    const record = this.require(i === undefined ? undefined : list[i], kind, id)
    list.splice(i!, 1)
    ;(this.deleted[kind] as unknown as Map<number, R>).set(id, record)
    this.reindex(kind, list)
    return record
  }

  private restore<K extends 'user' | 'deal' | 'payment', R extends { id: number }>(kind: K, list: R[], id: number): R {
    const record = this.require((this.deleted[kind] as unknown as Map<number, R>).get(id), `deleted ${kind}`, id)
    this.deleted[kind].delete(id)
    const at = list.findIndex((r) => r.id > id)
    list.splice(at < 0 ? list.length : at, 0, record)
    this.reindex(kind, list)
    return record
  }

  private reindex(kind: 'user' | 'deal' | 'payment', list: readonly { id: number }[]): void {
    const map = this.position[kind]
    map.clear()
    list.forEach((r, i) => map.set(r.id, i))
  }

  private require<T>(value: T | undefined, kind: string, id: number): T {
    if (value === undefined) throw new Error(`No ${kind} with id ${id} in the simulated account`)
    return value
  }
}
