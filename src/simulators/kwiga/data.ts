/**
 * Deterministic KWIGA cabinet dataset. The entities here are the *truth* (clean types, epoch-ms times,
 * numbers for ids and money); `render.ts` turns them into the quirky wire format of the real API.
 */
import { Random, hashString, hashUnit } from './random.js'
import { DAY, HOUR, MINUTE, floorToSecond, zonedWallTimeToUtc } from './time.js'
import {
  BROWSERS,
  CITIES,
  CONTACT_LIST_TITLES,
  COURSE_TEMPLATES,
  EMAIL_DOMAINS,
  INFO_PRODUCT_TITLES,
  LESSON_TOPICS,
  MANAGER_NAMES,
  MODULE_TOPICS,
  RUSSIAN,
  SECTION_NAMES,
  TAG_NAMES,
  UA_OPERATORS,
  UKRAINIAN,
  UTM,
  slugify,
  transliterate,
  type NameSet,
} from './vocabulary.js'

export interface SimCabinetOptions {
  token: string
  cabinetHash: string
  /** @default 300 */
  contacts?: number
  /** All products, course products included. @default courses + 3 */
  products?: number
  /** @default courses * 2 + 2 */
  offers?: number
  /** @default 4 */
  courses?: number
  /** @default 25 */
  coupons?: number
  /** @default 4 */
  contactLists?: number
  /** Enrolments per course (capped by the number of contacts). @default 50 */
  usersPerCourse?: number
  /** @default derived from cabinetHash */
  seed?: number
}

export type CurrencyCode = 'UAH' | 'USD' | 'EUR'

export const CURRENCIES: Record<CurrencyCode, { id: number; code: CurrencyCode; htmlCode: string; htmlLetterCode: string }> = {
  UAH: { id: 147, code: 'UAH', htmlCode: '₴', htmlLetterCode: 'грн' },
  USD: { id: 5, code: 'USD', htmlCode: '$', htmlLetterCode: 'usd' },
  EUR: { id: 3, code: 'EUR', htmlCode: '€', htmlLetterCode: 'eur' },
}

export interface SimTimezone {
  id: number
  name: string
}

export const CABINET_TIMEZONE: SimTimezone = { id: 371, name: 'Europe/Kyiv' }

export const TIMEZONES: readonly SimTimezone[] = [
  { id: 1, name: 'Asia/Kabul' },
  { id: 2, name: 'Europe/Tirane' },
  { id: 44, name: 'America/New_York' },
  { id: 58, name: 'America/Toronto' },
  { id: 121, name: 'Asia/Dubai' },
  { id: 127, name: 'Asia/Tbilisi' },
  { id: 140, name: 'Asia/Almaty' },
  { id: 151, name: 'Asia/Tashkent' },
  { id: 163, name: 'Asia/Shanghai' },
  { id: 301, name: 'Europe/Berlin' },
  { id: 305, name: 'Europe/Prague' },
  { id: 310, name: 'Europe/Chisinau' },
  { id: 318, name: 'Europe/Istanbul' },
  { id: 322, name: 'Europe/Lisbon' },
  { id: 324, name: 'Europe/London' },
  { id: 327, name: 'Europe/Madrid' },
  { id: 333, name: 'Europe/Paris' },
  { id: 338, name: 'Europe/Riga' },
  { id: 339, name: 'Europe/Rome' },
  { id: 352, name: 'Europe/Tallinn' },
  { id: 358, name: 'Europe/Vilnius' },
  { id: 359, name: 'Europe/Warsaw' },
  CABINET_TIMEZONE,
  { id: 420, name: 'UTC' },
]

export interface SimUser {
  id: number
  name: string
  email: string
}

export interface SimTag {
  id: number
  name: string
}

export interface SimVisit {
  id: number
  createdAt: number
  ip: string
  landingUrl: string
  landingDomain: string
  landingPath: string
  landingParams: string | null
  referrerUrl: string | null
  referrerDomain: string | null
  utmSource: string | null
  utmCampaign: string | null
  utmMedium: string | null
  utmTerm: string | null
  utmContent: string | null
  city: string | null
  countryCode: string | null
  browser: (typeof BROWSERS)[number]
}

export interface SimCustomField {
  id: number
  title: string
  isLocal: boolean
  type: 'text' | 'date' | 'enum'
  /** Allowed values of an enum field: [stored value, display label]. */
  options?: readonly (readonly [string, string])[]
}

export interface SimCustomFieldValue {
  id: number
  fieldId: number
  value: string
}

/** Deliberately broken wire rendering of a contact (see `render.ts`): `id: null` or a MySQL zero date. */
export type BrokenKind = 'null-id' | 'zero-created-at'

export interface SimContact {
  id: number
  userId: number | null
  email: string
  firstName: string | null
  middleName: string | null
  lastName: string | null
  /** E.164, e.g. `+380931234567`. */
  phone: string | null
  /** National part without the country code, e.g. `931234567`. */
  phoneNational: string | null
  phoneCountry: string | null
  sex: 'male' | 'female' | null
  age: number | null
  city: string | null
  createdAt: number
  updatedAt: number
  lastActivityAt: number | null
  tagIds: number[]
  visits: SimVisit[]
  customFields: SimCustomFieldValue[]
  broken: BrokenKind | null
}

export interface SimProduct {
  id: number
  productableType: 'course' | 'info_unit'
  productableId: number
  title: string
  link: string | null
  imageUrl: string | null
  isPublished: boolean
  createdAt: number
}

export interface SimModule {
  id: number
  number: number
  title: string
}

export interface SimLesson {
  id: number
  moduleId: number | null
  number: number
  title: string
  slug: string
  /** Quiz ids attached to the lesson's sections, in program order. */
  quizIds: number[]
}

export interface SimQuiz {
  id: number
  name: string
  scoresMax: number
}

export interface SimProgramNode {
  id: number
  type: 'course_module' | 'course_lesson' | 'info_section'
  nodebleId: number
  parentId: number | null
  order: number
  title: string
  slug: string | null
  quizIds: number[]
  children: SimProgramNode[]
}

export interface SimInfoUnit {
  id: number
  title: string
  description: string
  position: number
}

export interface SimCourse {
  id: number
  productId: number
  type: 'course' | 'marathon'
  title: string
  slug: string
  link: string
  status: 'published' | 'draft'
  preview: { id: number; uuid: string; name: string } | null
  createdAt: number
  modules: SimModule[]
  /** Flat, in program order. */
  lessons: SimLesson[]
  quizzes: SimQuiz[]
  program: SimProgramNode[]
  infoUnits: SimInfoUnit[]
}

export interface SimOfferDiscount {
  id: number
  price: number
  startAt: number
  endAt: number | null
  salesLimit: number | null
  createdAt: number
}

export interface SimOffer {
  id: number
  code: string
  title: string
  description: string | null
  shortDescription: string | null
  priceType: 'free' | 'fixed'
  price: number
  currency: CurrencyCode
  discount: SimOfferDiscount | null
  limitOfSales: number | null
  isDraft: boolean
  hasSubscription: boolean
  productIds: number[]
  /** Validity window (UTC); both null when the offer has no date settings. */
  validityStart: number | null
  validityEnd: number | null
  /** Access length granted by a purchase; null = lifetime. */
  accessDays: number | null
  createdAt: number
}

export type PaidStatus = 'paid' | 'not_paid' | 'partially_paid' | 'refunded'
/** Wire codes used when `paid_status` is rendered as an integer (reference §4.17). */
export const PAID_STATUS_CODES: Record<PaidStatus, number> = { not_paid: 1, paid: 2, partially_paid: 3, refunded: 4 }

/** 1 pending, 2 paid, 3 failed, 4 refunded. */
export type PaymentStatus = 1 | 2 | 3 | 4

export interface SimTransaction {
  id: number
  merchantId: number
  paymentId: number
  orderId: number
  status: 'Approved' | 'Declined' | 'Refunded'
  failureReason: string | null
  price: number
  currency: CurrencyCode
  payerAccount: string | null
  cardMask: string | null
  rrn: number | null
  fee: number | null
  createdAt: number
}

export interface SimPayment {
  id: number
  orderId: number
  status: PaymentStatus
  paymentType: 'one_time' | 'installment' | null
  paymentForm: 'online' | 'manual' | null
  amount: number
  currency: CurrencyCode
  paidAt: number | null
  createdAt: number
  updatedAt: number
  transactions: SimTransaction[]
}

export interface SimOrderStage {
  id: number
  title: string
  groupId: number
}

export interface SimOrder {
  id: number
  contactId: number
  offerId: number | null
  productIds: number[]
  typeId: number
  stageId: number
  managerIds: number[]
  amount: number
  currency: CurrencyCode
  paidStatus: PaidStatus
  firstPaidAt: number | null
  paidAt: number | null
  createdAt: number
  updatedAt: number
  payments: SimPayment[]
}

export interface SimSubscription {
  id: number
  contactId: number
  userId: number
  productId: number
  orderId: number | null
  offerId: number | null
  creatorId: number
  startAt: number
  endAt: number | null
  paidAt: number | null
  /** Access withdrawn (refund); `is_active` is false regardless of dates. */
  revoked: boolean
  createdAt: number
  updatedAt: number
}

/** quizzing_status of lesson/module progress (reference §2.1, §5): 1 NotStarted, 2 OnReview, 3 InProgress, 4 Completed. */
export type QuizzingStatus = 1 | 2 | 3 | 4
/** Status of the latest quiz attempt: 1 Passed, 2 Failed, 3 InProgress, 4 OnReview. */
export type QuizAttemptStatus = 1 | 2 | 3 | 4

export interface SimLessonProgress {
  lessonId: number
  isWatched: boolean
  isCompleted: boolean
  quizzingStatus: QuizzingStatus
  watchingStartAt: number
  watchingEndAt: number | null
  quizzingStartAt: number | null
  quizzingEndAt: number | null
  completedAt: number | null
  createdAt: number
  updatedAt: number
}

export interface SimQuizProgress {
  lessonId: number
  quizId: number
  status: QuizAttemptStatus
  scores: number
  scoresMax: number
  startedAt: number
  finishedAt: number | null
  checkedAt: number | null
  lastActivityAt: number
  attemptNumber: number
}

export interface SimCourseUser {
  /** Enrolment id (not on the wire; defines the list order). */
  id: number
  courseId: number
  contactId: number
  userId: number
  enrolledAt: number
  /** null = full access; otherwise the number of lessons opened by drip schedule. */
  availableLessons: number | null
  lessonProgress: SimLessonProgress[]
  quizProgress: SimQuizProgress[]
  lastActiveAt: number | null
}

export interface SimCertificate {
  id: number
  uuid: string
  number: string
  contactId: number
  userId: number
  courseId: number
  title: string
  templateId: number
  points: number
  issuedAt: number
  finishedAt: number
}

export interface SimCoupon {
  id: number
  code: string
  reward: number
  isFixed: boolean
  isDisposable: boolean
  isActive: boolean
  usedAmount: number
  /** 0 = unlimited. */
  totalUses: number
  totalUsesPerUser: number | null
  contactId: number | null
  offerIds: number[]
  expiresAt: number | null
  createdAt: number
  updatedAt: number
  deletedAt: number | null
  creatorId: number
}

export interface SimContactList {
  id: number
  title: string
  description: string | null
  isDefault: boolean
  createdAt: number
  updatedAt: number
  contactIds: number[]
}

export interface AddContactInput {
  email?: string
  firstName?: string | null
  lastName?: string | null
  phone?: string | null
  tags?: string[]
}

export interface AddOrderInput {
  /** @default 'paid' */
  paidStatus?: PaidStatus
}

export interface AddCourseProgressInput {
  /** How many further lessons to watch and complete. @default 1 */
  lessons?: number
}

const YEARS_OF_HISTORY = 2
const BROKEN_EVERY = 500
const BROKEN_OFFSET = 137

type IdKind = 'contact' | 'user' | 'order' | 'payment' | 'transaction' | 'subscription' | 'tag' | 'visit' | 'fieldValue' | 'enrolment' | 'certificate'

interface IdSequence {
  next(): number
}

function idSequence(rng: Random, start: number, gapChance: number, maxGap = 4): IdSequence {
  let current = start
  return {
    next() {
      current += rng.chance(gapChance) ? rng.int(2, maxGap + 1) : 1
      return current
    },
  }
}

/** All entities of one cabinet plus the mutators tests use to change data between syncs. */
/** Conditional nested lists an answer may leave out (`SimDataset.omit`). */
export type OptionalList = 'order.products' | 'order.payments' | 'payment.transactions' | 'offer.products' | 'product.subscriptions'

export class SimDataset {
  readonly seed: number
  readonly schoolSlug: string
  readonly timezones = TIMEZONES
  readonly managers: SimUser[] = []
  readonly customFields: SimCustomField[] = []
  readonly orderStages: SimOrderStage[] = []
  readonly tags: SimTag[] = []
  /** Sorted by id ascending (ids grow with created_at, like an auto-increment). */
  readonly contacts: SimContact[] = []
  readonly products: SimProduct[] = []
  readonly courses: SimCourse[] = []
  readonly offers: SimOffer[] = []
  readonly orders: SimOrder[] = []
  readonly subscriptions: SimSubscription[] = []
  readonly courseUsers: SimCourseUser[] = []
  readonly certificates: SimCertificate[] = []
  readonly coupons: SimCoupon[] = []
  readonly contactLists: SimContactList[] = []
  /** Bumped by every mutation; the server uses it to invalidate cached list views. */
  version = 0
  /**
   * Conditional lists the answers leave out (the docs mark them conditional: absent = not sent):
   * e.g. `omit.add('order.payments')` renders orders without their `payments` key.
   */
  readonly omit = new Set<OptionalList>()
  private readonly deletedContacts = new Map<number, { contact: SimContact; lists: number[] }>()

  private readonly contactIndex = new Map<number, SimContact>()
  private readonly ordersByContact = new Map<number, SimOrder[]>()
  private readonly subscriptionsByContact = new Map<number, SimSubscription[]>()
  private readonly certificatesByContact = new Map<number, SimCertificate[]>()
  private readonly tagIndex = new Map<number, SimTag>()
  private readonly rng: Random
  private readonly ids: Record<IdKind, IdSequence>

  constructor(
    readonly cabinetHash: string,
    options: Omit<SimCabinetOptions, 'token' | 'cabinetHash'>,
    private readonly now: () => number,
  ) {
    this.seed = options.seed ?? hashString(cabinetHash)
    // Mutations draw from their own stream so that generation stays identical whatever tests do later.
    this.rng = new Random(this.seed ^ 0x5bd1e995)
    const rng = new Random(this.seed)
    this.schoolSlug = `school-${(this.seed % 9000) + 1000}`
    this.ids = {
      contact: idSequence(rng, 2_000_000 + rng.int(0, 300_000), 0.08),
      user: idSequence(rng, 1_400_000 + rng.int(0, 200_000), 0.1),
      order: idSequence(rng, 1_200_000 + rng.int(0, 500_000), 0.05),
      payment: idSequence(rng, 1_900_000 + rng.int(0, 500_000), 0.05),
      transaction: idSequence(rng, 700_000 + rng.int(0, 200_000), 0.05),
      subscription: idSequence(rng, 4_000_000 + rng.int(0, 500_000), 0.05),
      tag: idSequence(rng, 90 + rng.int(0, 400), 0.2),
      visit: idSequence(rng, 9_000_000 + rng.int(0, 900_000), 0.3),
      fieldValue: idSequence(rng, 100 + rng.int(0, 900), 0.1),
      enrolment: idSequence(rng, 300_000 + rng.int(0, 50_000), 0.05),
      certificate: idSequence(rng, 50 + rng.int(0, 500), 0.05),
    }
    generate(this, rng, options, floorToSecond(now()))
    for (const c of this.contacts) this.contactIndex.set(c.id, c)
    for (const t of this.tags) this.tagIndex.set(t.id, t)
    for (const o of this.orders) push(this.ordersByContact, o.contactId, o)
    for (const s of this.subscriptions) push(this.subscriptionsByContact, s.contactId, s)
    for (const c of this.certificates) push(this.certificatesByContact, c.contactId, c)
  }

  /** Internal: id allocator shared by generation and mutators. */
  nextId(kind: IdKind): number {
    return this.ids[kind].next()
  }

  contact(id: number): SimContact | undefined {
    return this.contactIndex.get(id)
  }

  tag(id: number): SimTag | undefined {
    return this.tagIndex.get(id)
  }

  ordersOf(contactId: number): readonly SimOrder[] {
    return this.ordersByContact.get(contactId) ?? []
  }

  subscriptionsOf(contactId: number): readonly SimSubscription[] {
    return this.subscriptionsByContact.get(contactId) ?? []
  }

  certificatesOf(contactId: number): readonly SimCertificate[] {
    return this.certificatesByContact.get(contactId) ?? []
  }

  /** Contacts rendered broken on the wire (`id: null`, zero date); a normalizer should reject exactly these. */
  brokenContacts(): SimContact[] {
    return this.contacts.filter((c) => c.broken !== null)
  }

  /** Detaches a tag. Like the real CRM (reference §6, unknown there), it does NOT bump last_activity_at. */
  removeTag(contactId: number, tagId: number): void {
    const c = this.requireContact(contactId)
    const before = c.tagIds.length
    c.tagIds = c.tagIds.filter((t) => t !== tagId)
    if (c.tagIds.length !== before) c.updatedAt = this.time()
    this.version++
  }

  /** Attaches a tag by name, creating it if needed. Does not bump last_activity_at either. */
  addTag(contactId: number, name: string): SimTag {
    const c = this.requireContact(contactId)
    const tag = this.tagByName(name)
    if (!c.tagIds.includes(tag.id)) {
      c.tagIds.push(tag.id)
      c.updatedAt = this.time()
    }
    this.version++
    return tag
  }

  /** Creates a contact now (created_at = last_activity_at = clock.now()), with the next auto-increment id. */
  addContact(input: AddContactInput = {}): SimContact {
    const now = this.time()
    const last = this.contacts[this.contacts.length - 1]
    let id = this.nextId('contact')
    if (last && id <= last.id) id = last.id + 1
    const first = input.firstName === undefined ? this.rng.pick(UKRAINIAN.female) : input.firstName
    const lastName = input.lastName === undefined ? this.rng.pick(UKRAINIAN.surnames)[1] : input.lastName
    const phone = input.phone === undefined ? `+380${this.rng.pick(UA_OPERATORS)}${this.rng.int(1_000_000, 9_999_999)}` : input.phone
    const contact: SimContact = {
      id,
      userId: null,
      email: input.email ?? `new.${id}@example.com`,
      firstName: first,
      middleName: null,
      lastName,
      phone,
      phoneNational: phone?.startsWith('+380') ? phone.slice(4) : (phone?.replace(/^\+\d{2}/, '') ?? null),
      phoneCountry: phone?.startsWith('+380') ? 'UA' : phone ? 'PL' : null,
      sex: null,
      age: null,
      city: null,
      createdAt: now,
      updatedAt: now,
      lastActivityAt: now,
      tagIds: (input.tags ?? []).map((n) => this.tagByName(n).id),
      visits: [],
      customFields: [],
      broken: null,
    }
    this.contacts.push(contact)
    this.contactIndex.set(id, contact)
    this.version++
    return contact
  }

  /** Hard delete: the contact disappears from every list (there is no deletion feed, reference §6). */
  deleteContact(contactId: number): void {
    const idx = this.contacts.findIndex((c) => c.id === contactId)
    if (idx < 0) throw new Error(`unknown contact ${contactId}`)
    const [contact] = this.contacts.splice(idx, 1)
    this.contactIndex.delete(contactId)
    const lists = this.contactLists.filter((l) => l.contactIds.includes(contactId)).map((l) => l.id)
    for (const list of this.contactLists) list.contactIds = list.contactIds.filter((id) => id !== contactId)
    this.deletedContacts.set(contactId, { contact: contact!, lists })
    this.version++
  }

  /** Puts a deleted contact back as it was (same id, orders and list memberships). */
  restoreContact(contactId: number): SimContact {
    const gone = this.deletedContacts.get(contactId)
    if (!gone) throw new Error(`contact ${contactId} was not deleted`)
    this.deletedContacts.delete(contactId)
    const at = this.contacts.findIndex((c) => c.id > contactId)
    this.contacts.splice(at < 0 ? this.contacts.length : at, 0, gone.contact)
    this.contactIndex.set(contactId, gone.contact)
    for (const list of this.contactLists) if (gone.lists.includes(list.id)) list.contactIds = [...list.contactIds, contactId].sort((a, b) => a - b)
    this.version++
    return gone.contact
  }

  /** The student is removed from the course (access revoked in the cabinet): gone from its users list. */
  removeCourseUser(courseId: number, contactId: number): void {
    const idx = this.courseUsers.findIndex((u) => u.courseId === courseId && u.contactId === contactId)
    if (idx < 0) throw new Error(`contact ${contactId} is not a student of course ${courseId}`)
    this.courseUsers.splice(idx, 1)
    this.version++
  }

  /** Records activity now: last_activity_at = clock.now(). */
  touchContact(contactId: number): void {
    const c = this.requireContact(contactId)
    c.lastActivityAt = this.time()
    this.version++
  }

  /** A purchase now: order + payment + transaction (when paid) + subscriptions; bumps last_activity_at. */
  addOrder(contactId: number, offerId: number, input: AddOrderInput = {}): SimOrder {
    const c = this.requireContact(contactId)
    const offer = this.offers.find((o) => o.id === offerId)
    if (!offer) throw new Error(`unknown offer ${offerId}`)
    const order = buildOrder(this, this.rng, c, offer, input.paidStatus ?? 'paid', this.time(), this.time())
    this.orders.push(order)
    push(this.ordersByContact, c.id, order)
    if (order.paidStatus !== 'not_paid') {
      if (c.userId === null) c.userId = this.nextId('user')
      for (const s of grantSubscriptions(this, c, order, offer)) {
        this.subscriptions.push(s)
        push(this.subscriptionsByContact, c.id, s)
      }
    }
    c.lastActivityAt = this.time()
    this.version++
    return order
  }

  /**
   * The order's paid status changes now (a payment arrives, a refund): `updated_at` moves, the
   * payments follow (paid → 2, refunded → 4); the contact's last activity does not (§4.38: whether
   * such changes count as activity is unknown), so only a full read sees it.
   */
  changeOrderStatus(orderId: number, status: PaidStatus): SimOrder {
    const order = this.orders.find((o) => o.id === orderId)
    if (!order) throw new Error(`unknown order ${orderId}`)
    const now = this.time()
    order.paidStatus = status
    order.updatedAt = now
    if (status === 'paid' || status === 'partially_paid') {
      order.paidAt = now
      order.firstPaidAt ??= now
    }
    for (const p of order.payments) {
      p.status = status === 'refunded' ? 4 : status === 'paid' ? 2 : p.status
      if (p.status === 2) p.paidAt ??= now
      p.updatedAt = now
    }
    this.version++
    return order
  }

  /**
   * The student (enrolled if needed) watches and completes the next `lessons` lessons now, passing their quizzes.
   * Updates the course user's last activity and the contact's last_activity_at.
   */
  addCourseProgress(courseId: number, contactId: number, input: AddCourseProgressInput = {}): SimCourseUser {
    const course = this.courses.find((c) => c.id === courseId)
    if (!course) throw new Error(`unknown course ${courseId}`)
    const contact = this.requireContact(contactId)
    const now = this.time()
    let cu = this.courseUsers.find((u) => u.courseId === courseId && u.contactId === contactId)
    if (!cu) {
      if (contact.userId === null) contact.userId = this.nextId('user')
      cu = {
        id: this.nextId('enrolment'),
        courseId,
        contactId,
        userId: contact.userId,
        enrolledAt: now,
        availableLessons: null,
        lessonProgress: [],
        quizProgress: [],
        lastActiveAt: null,
      }
      this.courseUsers.push(cu)
      // Access granted by hand from the cabinet: a subscription without order or offer.
      const s: SimSubscription = {
        id: this.nextId('subscription'),
        contactId,
        userId: contact.userId,
        productId: course.productId,
        orderId: null,
        offerId: null,
        creatorId: this.managers[0]?.id ?? contact.userId,
        startAt: now,
        endAt: null,
        paidAt: null,
        revoked: false,
        createdAt: now,
        updatedAt: now,
      }
      this.subscriptions.push(s)
      push(this.subscriptionsByContact, contactId, s)
    }
    let remaining = input.lessons ?? 1
    for (const lesson of course.lessons) {
      if (remaining <= 0) break
      const existing = cu.lessonProgress.find((p) => p.lessonId === lesson.id)
      if (existing?.isCompleted) continue
      const progress: SimLessonProgress = existing ?? {
        lessonId: lesson.id,
        isWatched: false,
        isCompleted: false,
        quizzingStatus: 1,
        watchingStartAt: now,
        watchingEndAt: null,
        quizzingStartAt: null,
        quizzingEndAt: null,
        completedAt: null,
        createdAt: now,
        updatedAt: now,
      }
      Object.assign(progress, {
        isWatched: true,
        isCompleted: true,
        quizzingStatus: 4,
        watchingEndAt: now,
        completedAt: now,
        updatedAt: now,
        quizzingStartAt: lesson.quizIds.length ? (progress.quizzingStartAt ?? now) : null,
        quizzingEndAt: lesson.quizIds.length ? now : null,
      })
      if (!existing) cu.lessonProgress.push(progress)
      for (const quizId of lesson.quizIds) {
        const quiz = course.quizzes.find((q) => q.id === quizId)!
        const qp = cu.quizProgress.find((p) => p.lessonId === lesson.id && p.quizId === quizId)
        const passed = { status: 1 as const, scores: quiz.scoresMax, finishedAt: now, lastActivityAt: now }
        if (qp) Object.assign(qp, passed, { attemptNumber: qp.attemptNumber + 1, startedAt: now })
        else cu.quizProgress.push({ lessonId: lesson.id, quizId, scoresMax: quiz.scoresMax, startedAt: now, checkedAt: null, attemptNumber: 1, ...passed })
      }
      remaining--
    }
    cu.lastActiveAt = now
    contact.lastActivityAt = now
    this.version++
    return cu
  }

  private time(): number {
    return floorToSecond(this.now())
  }

  private requireContact(id: number): SimContact {
    const c = this.contactIndex.get(id)
    if (!c) throw new Error(`unknown contact ${id}`)
    return c
  }

  private tagByName(name: string): SimTag {
    let tag = this.tags.find((t) => t.name === name)
    if (!tag) {
      tag = { id: this.nextId('tag'), name }
      this.tags.push(tag)
      this.tagIndex.set(tag.id, tag)
    }
    return tag
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key)
  if (list) list.push(value)
  else map.set(key, [value])
}

/** Time between a and b, biased towards b when bias > 1. */
function timeBetween(rng: Random, a: number, b: number, bias = 1): number {
  if (b <= a) return floorToSecond(a)
  return floorToSecond(a + (b - a) * rng.next() ** (1 / bias))
}

function generate(ds: SimDataset, rng: Random, options: Omit<SimCabinetOptions, 'token' | 'cabinetHash'>, now: number): void {
  const start = now - YEARS_OF_HISTORY * 365 * DAY
  const courseCount = Math.max(0, options.courses ?? 4)
  const productCount = Math.max(courseCount, options.products ?? courseCount + 3)
  const offerCount = Math.max(0, options.offers ?? courseCount * 2 + 2)
  const contactCount = Math.max(0, options.contacts ?? 300)

  const managerBase = rng.int(200, 400)
  MANAGER_NAMES.forEach((name, i) =>
    ds.managers.push({ id: managerBase + i * rng.int(3, 40), name, email: `${slugify(name).split('-')[0]}.${i + 1}@${ds.schoolSlug}.com` }),
  )

  ds.customFields.push(
    { id: 17, title: 'Місто', isLocal: false, type: 'text' },
    { id: 18, title: 'Telegram', isLocal: true, type: 'text' },
    { id: 19, title: 'Дата народження', isLocal: false, type: 'date' },
    {
      id: 21,
      title: 'Звідки дізналися про нас',
      isLocal: true,
      type: 'enum',
      options: [
        ['1', 'Instagram'],
        ['2', 'Від друзів'],
        ['3', 'Google'],
        ['4', 'YouTube'],
      ],
    },
  )
  ds.orderStages.push({ id: 43, title: 'Новий', groupId: 22 }, { id: 44, title: 'Оплачено', groupId: 22 }, { id: 45, title: 'Отказ', groupId: 23 })

  for (const name of rng.sample(TAG_NAMES, TAG_NAMES.length)) ds.tags.push({ id: ds.nextId('tag'), name })

  generateCatalogue(ds, rng, start, now, courseCount, productCount, offerCount)
  generateContacts(ds, rng, start, now, contactCount)
  generateSales(ds, rng, now, options.usersPerCourse ?? 50)
  assignUserAccounts(ds, rng)
  generateCertificates(ds, rng, now)
  generateCoupons(ds, rng, start, now, options.coupons ?? 25)
  generateContactLists(ds, rng, start, now, options.contactLists ?? 4)
}

function generateCatalogue(ds: SimDataset, rng: Random, start: number, now: number, courseCount: number, productCount: number, offerCount: number): void {
  let productId = 98_000 + rng.int(0, 1_500)
  let courseId = 100 + rng.int(0, 800)
  let moduleId = 1_000 + rng.int(0, 5_000)
  let lessonId = 10_000 + rng.int(0, 20_000)
  let nodeId = 50_000 + rng.int(0, 50_000)
  let quizId = 3_000 + rng.int(0, 2_000)
  let sectionId = 80_000 + rng.int(0, 20_000)
  let fileId = 3_000 + rng.int(0, 5_000)
  let infoUnitId = 500 + rng.int(0, 500)
  const catalogueEnd = start + 120 * DAY

  for (let i = 0; i < courseCount; i++) {
    const template = COURSE_TEMPLATES[i % COURSE_TEMPLATES.length]
    const title = i < COURSE_TEMPLATES.length ? template.title : `${template.title} (потік ${Math.floor(i / COURSE_TEMPLATES.length) + 1})`
    const slug = slugify(title)
    const createdAt = timeBetween(rng, start - 60 * DAY, catalogueEnd)
    courseId += rng.int(1, 9)
    productId += rng.int(1, 6)
    const course: SimCourse = {
      id: courseId,
      productId,
      type: template.type,
      title,
      slug,
      link: `https://${ds.schoolSlug}.kwiga.com/courses/${slug}`,
      status: i === courseCount - 1 && courseCount > 2 ? 'draft' : 'published',
      preview: rng.chance(0.7) ? { id: ++fileId, uuid: rng.uuid(), name: `image_${rng.int(1, 99)}.jpeg` } : null,
      createdAt,
      modules: [],
      lessons: [],
      quizzes: [],
      program: [],
      infoUnits: [],
    }
    const moduleCount = rng.int(2, 4)
    let lessonNumber = 0
    // Some courses open with a lesson that sits outside any module (CourseLessonIdentify.module = null).
    const rootLessons = rng.chance(0.35) ? 1 : 0
    const newLesson = (parent: SimProgramNode | null, moduleRef: SimModule | null, order: number): SimProgramNode => {
      lessonNumber++
      const lessonTitle = `Урок ${lessonNumber}. ${LESSON_TOPICS[(lessonNumber - 1) % LESSON_TOPICS.length]}`
      const lesson: SimLesson = {
        id: (lessonId += rng.int(1, 3)),
        moduleId: moduleRef?.id ?? null,
        number: lessonNumber,
        title: lessonTitle,
        slug: slugify(lessonTitle),
        quizIds: [],
      }
      const node: SimProgramNode = {
        id: (nodeId += rng.int(1, 3)),
        type: 'course_lesson',
        nodebleId: lesson.id,
        parentId: parent?.id ?? null,
        order,
        title: lessonTitle,
        slug: lesson.slug,
        quizIds: [],
        children: [],
      }
      const sections = rng.int(1, 2)
      for (let s = 0; s < sections; s++) {
        const name = SECTION_NAMES[(lessonNumber + s) % SECTION_NAMES.length]
        const section: SimProgramNode = {
          id: (nodeId += 1),
          type: 'info_section',
          nodebleId: (sectionId += rng.int(1, 2)),
          parentId: node.id,
          order: s + 1,
          title: name,
          slug: slugify(name),
          quizIds: [],
          children: [],
        }
        if (s === sections - 1 && rng.chance(0.55)) {
          const quiz: SimQuiz = {
            id: (quizId += rng.int(1, 4)),
            name: rng.chance(0.5) ? `Тест до уроку ${lessonNumber}` : `Практичне завдання ${lessonNumber}`,
            scoresMax: rng.pick([10, 20, 50, 100]),
          }
          course.quizzes.push(quiz)
          section.quizIds.push(quiz.id)
          lesson.quizIds.push(quiz.id)
        }
        node.children.push(section)
      }
      course.lessons.push(lesson)
      return node
    }
    for (let r = 0; r < rootLessons; r++) course.program.push(newLesson(null, null, course.program.length + 1))
    for (let m = 0; m < moduleCount; m++) {
      const moduleTitle = `Модуль ${m + 1}. ${MODULE_TOPICS[m % MODULE_TOPICS.length]}`
      const mod: SimModule = { id: (moduleId += rng.int(1, 3)), number: m + 1, title: moduleTitle }
      course.modules.push(mod)
      const modNode: SimProgramNode = {
        id: (nodeId += rng.int(1, 3)),
        type: 'course_module',
        nodebleId: mod.id,
        parentId: null,
        order: course.program.length + 1,
        title: moduleTitle,
        slug: null,
        quizIds: [],
        children: [],
      }
      const lessonsInModule = rng.int(2, 5)
      for (let l = 0; l < lessonsInModule; l++) modNode.children.push(newLesson(modNode, mod, l + 1))
      // The same quiz attached to two lessons of one module (reference §5: progress is keyed by lesson + quiz).
      if (lessonsInModule >= 2 && rng.chance(0.4)) {
        const wrapUp: SimQuiz = { id: (quizId += rng.int(1, 4)), name: `Підсумковий тест модуля ${m + 1}`, scoresMax: 100 }
        course.quizzes.push(wrapUp)
        for (const lessonNode of modNode.children.slice(-2)) {
          const section: SimProgramNode = {
            id: (nodeId += 1),
            type: 'info_section',
            nodebleId: (sectionId += 1),
            parentId: lessonNode.id,
            order: lessonNode.children.length + 1,
            title: 'List of practice',
            slug: 'list-of-practice',
            quizIds: [wrapUp.id],
            children: [],
          }
          lessonNode.children.push(section)
          course.lessons.find((l) => l.id === lessonNode.nodebleId)!.quizIds.push(wrapUp.id)
        }
      }
      course.program.push(modNode)
    }
    const units = rng.int(1, 3)
    for (let u = 0; u < units; u++)
      course.infoUnits.push({
        id: (infoUnitId += rng.int(1, 5)),
        title: ['Про курс', 'Для кого', 'Що ви отримаєте'][u],
        description: `<p>${title}: ${['програма', 'аудиторія', 'результати'][u]}.</p>`,
        position: u + 1,
      })
    ds.courses.push(course)
    ds.products.push({
      id: productId,
      productableType: 'course',
      productableId: course.id,
      title,
      link: course.link,
      imageUrl: course.preview ? `https://cdn.kwiga.com/${ds.schoolSlug}/${course.preview.uuid}/${course.preview.name}` : null,
      isPublished: course.status === 'published',
      createdAt,
    })
  }
  for (let i = courseCount; i < productCount; i++) {
    productId += rng.int(1, 6)
    const title = INFO_PRODUCT_TITLES[(i - courseCount) % INFO_PRODUCT_TITLES.length]
    ds.products.push({
      id: productId,
      productableType: 'info_unit',
      productableId: (infoUnitId += rng.int(1, 9)),
      title,
      link: rng.chance(0.5) ? `https://${ds.schoolSlug}.kwiga.com/p/${slugify(title)}` : null,
      imageUrl: null,
      isPublished: true,
      createdAt: timeBetween(rng, start, now - 30 * DAY),
    })
  }

  let offerId = 522_000 + rng.int(0, 26_000)
  const courseProducts = ds.products.filter((p) => p.productableType === 'course')
  const infoProducts = ds.products.filter((p) => p.productableType === 'info_unit')
  for (let i = 0; i < offerCount; i++) {
    let productIds: number[]
    let title: string
    let priceType: SimOffer['priceType'] = 'fixed'
    if (i < courseProducts.length) {
      productIds = [courseProducts[i].id]
      title = `${courseProducts[i].title} — базовий`
    } else {
      const variant = (i - courseProducts.length) % 4
      const course = courseProducts.length ? courseProducts[(i * 7) % courseProducts.length] : null
      if (variant === 0 && course) {
        productIds = [course.id]
        title = `Безкоштовний урок: ${course.title}`
        priceType = 'free'
      } else if (variant === 1 && course) {
        productIds = [course.id]
        title = `${course.title} — з куратором`
      } else if (variant === 2 && courseProducts.length >= 2) {
        const pair = rng.sample(courseProducts, 2)
        productIds = pair.map((p) => p.id)
        title = `Пакет: ${pair.map((p) => p.title).join(' + ')}`
      } else if (infoProducts.length) {
        const p = infoProducts[i % infoProducts.length]
        productIds = [p.id]
        title = p.title
      } else {
        productIds = course ? [course.id] : []
        title = `Пропозиція #${i + 1}`
      }
    }
    const currency: CurrencyCode = rng.chance(0.8) ? 'UAH' : rng.chance(0.7) ? 'USD' : 'EUR'
    const price = priceType === 'free' ? 0 : currency === 'UAH' ? rng.pick([490, 990, 1490, 2900, 4900, 7900, 9900]) : rng.pick([19, 29, 49, 99, 149, 249.5])
    const createdAt = timeBetween(rng, start - 30 * DAY, catalogueEnd + 60 * DAY)
    offerId += rng.int(1, 50)
    const hasDates = rng.chance(0.6)
    const discountStart = timeBetween(rng, createdAt, now, 2)
    ds.offers.push({
      id: offerId,
      code: rng.chars(12),
      title,
      description: rng.chance(0.6) ? `<p style="text-align: left">${title}. Доступ до всіх матеріалів.</p>` : null,
      shortDescription: rng.chance(0.5) ? `<p>${title}</p>` : null,
      priceType,
      price,
      currency,
      discount:
        priceType === 'fixed' && rng.chance(0.3)
          ? {
              id: i + 3,
              price: Math.round(price * 0.7),
              startAt: discountStart,
              endAt: rng.chance(0.7) ? discountStart + rng.int(3, 30) * DAY : null,
              salesLimit: rng.chance(0.2) ? 50 : null,
              createdAt: discountStart,
            }
          : null,
      limitOfSales: rng.chance(0.15) ? rng.pick([20, 50, 100, 1000]) : null,
      isDraft: rng.chance(0.05),
      hasSubscription: false,
      productIds,
      validityStart: hasDates ? createdAt : null,
      validityEnd: hasDates && rng.chance(0.3) ? createdAt + rng.int(200, 900) * DAY : null,
      accessDays: rng.chance(0.3) ? rng.pick([90, 180, 365]) : null,
      createdAt,
    })
  }
}

function pickNames(rng: Random): { set: NameSet; male: boolean } {
  return { set: rng.chance(0.72) ? UKRAINIAN : RUSSIAN, male: rng.chance(0.38) }
}

function generateContacts(ds: SimDataset, rng: Random, start: number, now: number, count: number): void {
  const created: number[] = []
  // Growth: more sign-ups recently (density ∝ t).
  for (let i = 0; i < count; i++) created.push(floorToSecond(start + (now - HOUR - start) * Math.sqrt(rng.next())))
  created.sort((a, b) => a - b)
  const emails = new Set<string>()
  for (let i = 0; i < count; i++) {
    const { set, male } = pickNames(rng)
    const firstName = rng.pick(male ? set.male : set.female)
    const surname = rng.pick(set.surnames)
    const lastName = surname[male ? 0 : 1]
    const createdAt = created[i]
    const id = ds.nextId('contact')
    const email = uniqueEmail(rng, emails, firstName, lastName, createdAt)
    const phoneKind = rng.next()
    let phone: string | null = null
    let phoneNational: string | null = null
    let phoneCountry: string | null = null
    if (phoneKind < 0.72) {
      phoneNational = `${rng.pick(UA_OPERATORS)}${rng.int(1_000_000, 9_999_999)}`
      phone = `+380${phoneNational}`
      phoneCountry = 'UA'
    } else if (phoneKind < 0.8) {
      phoneNational = `${rng.pick(['50', '51', '60', '66', '69', '79', '88'])}${rng.int(1_000_000, 9_999_999)}`
      phone = `+48${phoneNational}`
      phoneCountry = 'PL'
    }
    const lastActivityAt = rng.chance(0.15) ? null : timeBetween(rng, createdAt, now, 0.35)
    const contact: SimContact = {
      id,
      userId: null,
      email,
      firstName: rng.chance(0.03) ? null : firstName,
      middleName: rng.chance(0.08) ? rng.pick(set.patronymics)[male ? 0 : 1] : null,
      lastName: rng.chance(0.12) ? null : lastName,
      phone,
      phoneNational,
      phoneCountry,
      sex: rng.chance(0.4) ? (male ? 'male' : 'female') : null,
      age: rng.chance(0.2) ? rng.int(18, 64) : null,
      city: rng.chance(0.3) ? rng.pick(CITIES) : null,
      createdAt,
      updatedAt: timeBetween(rng, createdAt, lastActivityAt ?? createdAt + DAY),
      lastActivityAt,
      tagIds: rng.sample(ds.tags, rng.chance(0.35) ? 0 : rng.int(1, 4)).map((t) => t.id),
      visits: [],
      customFields: [],
      broken: i % BROKEN_EVERY === BROKEN_OFFSET ? (Math.floor(i / BROKEN_EVERY) % 2 === 0 ? 'null-id' : 'zero-created-at') : null,
    }
    if (contact.updatedAt > now) contact.updatedAt = now
    if (rng.chance(0.4)) {
      const visits = rng.int(1, 3)
      for (let v = 0; v < visits; v++) contact.visits.push(makeVisit(ds, rng, v === 0 ? createdAt - rng.int(1, 30) * MINUTE : timeBetween(rng, createdAt, now)))
      contact.visits.sort((a, b) => a.createdAt - b.createdAt)
    }
    if (rng.chance(0.3)) {
      for (const field of rng.sample(ds.customFields, rng.int(1, 2)))
        contact.customFields.push({ id: ds.nextId('fieldValue'), fieldId: field.id, value: customFieldValue(rng, field, contact) })
    }
    ds.contacts.push(contact)
  }
}

function uniqueEmail(rng: Random, used: Set<string>, first: string, last: string, createdAt: number): string {
  const f = transliterate(first)
  const l = transliterate(last)
  const year = new Date(createdAt).getUTCFullYear() % 100
  const candidates = [`${f}.${l}`, `${l}${rng.int(70, 99)}`, `${f[0]}${l}`, `${f}_${l}${year}`, `${f}${l}${rng.int(1, 999)}`]
  let local = rng.pick(candidates)
  while (used.has(local)) local = `${f}.${l}${rng.int(1, 99_999)}`
  used.add(local)
  const email = `${local}@${rng.pick(EMAIL_DOMAINS)}`
  // A few people typed their address with capitals; KWIGA stores it as entered.
  return rng.chance(0.02) ? email.charAt(0).toUpperCase() + email.slice(1) : email
}

function makeVisit(ds: SimDataset, rng: Random, at: number): SimVisit {
  const tagged = rng.chance(0.75)
  const path = rng.pick(['/', '/courses', `/courses/${ds.courses[0]?.slug ?? 'intro'}`, '/webinar', '/o/offer'])
  const utmSource = tagged ? rng.pick(UTM.source) : null
  const utmMedium = tagged ? rng.pick(UTM.medium) : null
  const params = tagged ? `utm_source=${utmSource}&utm_medium=${utmMedium}` : null
  const domain = `${ds.schoolSlug}.kwiga.com`
  const ref = rng.chance(0.6) ? rng.pick(['l.instagram.com', 'www.google.com', 't.me', 'm.facebook.com', 'www.youtube.com']) : null
  const ua = rng.chance(0.3) ? { city: 'Warszawa', country: 'PL' } : { city: rng.pick(['Київ', 'Львів', 'Харків', 'Одеса', 'Дніпро']), country: 'UA' }
  return {
    id: ds.nextId('visit'),
    createdAt: floorToSecond(at),
    ip: `${rng.pick([46, 91, 93, 176, 188, 194])}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`,
    landingUrl: `https://${domain}${path}${params ? `?${params}` : ''}`,
    landingDomain: domain,
    landingPath: path,
    landingParams: params,
    referrerUrl: ref ? `https://${ref}/` : null,
    referrerDomain: ref,
    utmSource,
    utmCampaign: tagged && rng.chance(0.8) ? rng.pick(UTM.campaign) : null,
    utmMedium,
    utmTerm: tagged && rng.chance(0.3) ? rng.pick(UTM.term) : null,
    utmContent: tagged && rng.chance(0.3) ? rng.pick(UTM.content) : null,
    city: rng.chance(0.9) ? ua.city : null,
    countryCode: ua.country,
    browser: rng.pick(BROWSERS),
  }
}

function customFieldValue(rng: Random, field: SimCustomField, contact: SimContact): string {
  switch (field.type) {
    case 'enum':
      return rng.pick(field.options!)[0]
    case 'date':
      return `${rng.int(1965, 2005)}-${String(rng.int(1, 12)).padStart(2, '0')}-${String(rng.int(1, 28)).padStart(2, '0')}`
    default:
      return field.id === 18 ? `@${transliterate(contact.firstName ?? 'user')}${rng.int(1, 999)}` : (contact.city ?? rng.pick(CITIES))
  }
}

function generateSales(ds: SimDataset, rng: Random, now: number, usersPerCourse: number): void {
  const eligible = ds.contacts.filter((c) => c.broken === null)
  const offersByProduct = new Map<number, SimOffer[]>()
  for (const offer of ds.offers) for (const pid of offer.productIds) push(offersByProduct, pid, offer)

  for (const course of ds.courses) {
    const enrolled = rng.sample(eligible, usersPerCourse).sort((a, b) => a.createdAt - b.createdAt)
    const offers = (offersByProduct.get(course.productId) ?? []).filter((o) => !o.isDraft)
    for (const contact of enrolled) {
      let offer: SimOffer | undefined
      if (offers.length) {
        const free = offers.filter((o) => o.priceType === 'free')
        const paid = offers.filter((o) => o.priceType !== 'free')
        offer = free.length && (rng.chance(0.2) || !paid.length) ? rng.pick(free) : rng.pick(paid.length ? paid : offers)
      }
      const earliest = Math.max(contact.createdAt, course.createdAt, offer?.createdAt ?? 0)
      const enrolledAt = timeBetween(rng, earliest, Math.min(now, earliest + 90 * DAY))
      if (offer) {
        const status: PaidStatus = offer.price === 0 ? 'paid' : rng.chance(0.9) ? 'paid' : rng.chance(0.6) ? 'partially_paid' : 'refunded'
        const order = buildOrder(ds, rng, contact, offer, status, enrolledAt, now)
        ds.orders.push(order)
        ds.subscriptions.push(...grantSubscriptions(ds, contact, order, offer))
      } else {
        // No offer sells the course: access was granted by hand from the cabinet.
        ds.subscriptions.push({
          id: ds.nextId('subscription'),
          contactId: contact.id,
          userId: 0,
          productId: course.productId,
          orderId: null,
          offerId: null,
          creatorId: rng.pick(ds.managers).id,
          startAt: enrolledAt,
          endAt: null,
          paidAt: null,
          revoked: false,
          createdAt: enrolledAt,
          updatedAt: enrolledAt,
        })
      }
      ds.courseUsers.push(makeProgress(ds, rng, course, contact, enrolledAt, now))
    }
  }

  // Abandoned checkouts and purchases of non-course products.
  const nonCourseOffers = ds.offers.filter((o) => o.productIds.every((pid) => ds.products.find((p) => p.id === pid)?.productableType !== 'course'))
  for (const contact of eligible) {
    if (!ds.offers.length || !rng.chance(0.14)) continue
    const n = rng.chance(0.8) ? 1 : 2
    for (let k = 0; k < n; k++) {
      const buysInfo = nonCourseOffers.length > 0 && rng.chance(0.4)
      const offer = buysInfo ? rng.pick(nonCourseOffers) : rng.pick(ds.offers)
      const at = timeBetween(rng, Math.max(contact.createdAt, offer.createdAt), now)
      const status: PaidStatus = buysInfo ? 'paid' : 'not_paid'
      const order = buildOrder(ds, rng, contact, offer, status, at, now)
      ds.orders.push(order)
      if (status === 'paid') ds.subscriptions.push(...grantSubscriptions(ds, contact, order, offer))
    }
  }
  ds.orders.sort((a, b) => a.createdAt - b.createdAt)
  // Order ids follow creation time, like an auto-increment.
  const orderIds = ds.orders.map((o) => o.id).sort((a, b) => a - b)
  const paymentIds = ds.orders.flatMap((o) => o.payments.map((p) => p.id)).sort((a, b) => a - b)
  const transactionIds = ds.orders.flatMap((o) => o.payments.flatMap((p) => p.transactions.map((t) => t.id))).sort((a, b) => a - b)
  const remap = new Map<number, number>()
  let nextPayment = 0
  let nextTransaction = 0
  ds.orders.forEach((o, i) => {
    remap.set(o.id, orderIds[i])
    o.id = orderIds[i]
    for (const p of o.payments) {
      p.id = paymentIds[nextPayment++]
      p.orderId = o.id
      for (const t of p.transactions) {
        t.id = transactionIds[nextTransaction++]
        t.paymentId = p.id
        t.orderId = o.id
      }
    }
  })
  for (const s of ds.subscriptions) if (s.orderId !== null) s.orderId = remap.get(s.orderId) ?? s.orderId

  const byContact = new Map(ds.contacts.map((c) => [c.id, c]))
  for (const o of ds.orders) {
    const c = byContact.get(o.contactId)!
    if (o.createdAt > (c.lastActivityAt ?? -Infinity)) c.lastActivityAt = o.createdAt
  }
  for (const cu of ds.courseUsers) {
    const c = byContact.get(cu.contactId)!
    if (cu.lastActiveAt !== null && cu.lastActiveAt > (c.lastActivityAt ?? -Infinity)) c.lastActivityAt = cu.lastActiveAt
  }
}

function buildOrder(ds: SimDataset, rng: Random, contact: SimContact, offer: SimOffer, status: PaidStatus, createdAt: number, now: number): SimOrder {
  const orderId = ds.nextId('order')
  const amount = offer.discount && offer.discount.startAt <= createdAt && (offer.discount.endAt ?? Infinity) >= createdAt ? offer.discount.price : offer.price
  const order: SimOrder = {
    id: orderId,
    contactId: contact.id,
    offerId: offer.id,
    productIds: offer.productIds.slice(),
    typeId: 1,
    stageId: status === 'not_paid' ? 43 : status === 'refunded' ? 45 : 44,
    managerIds: rng.chance(0.3) ? [rng.pick(ds.managers).id] : [],
    amount,
    currency: offer.currency,
    paidStatus: status,
    firstPaidAt: null,
    paidAt: null,
    createdAt,
    updatedAt: createdAt,
    payments: [],
  }
  if (amount === 0) {
    // Free orders are marked paid at once and carry no payment.
    order.firstPaidAt = order.paidAt = createdAt
    return order
  }
  const cap = (t: number) => Math.min(t, now)
  const payment = (share: number, st: PaymentStatus, at: number, installment: boolean): SimPayment => {
    const paidAt = st === 2 || st === 4 ? cap(at + rng.int(1, 20) * MINUTE) : null
    const p: SimPayment = {
      id: ds.nextId('payment'),
      orderId,
      status: st,
      paymentType: installment ? 'installment' : rng.chance(0.2) ? null : 'one_time',
      paymentForm: rng.chance(0.15) ? null : rng.chance(0.9) ? 'online' : 'manual',
      amount: Math.round(amount * share * 100) / 100,
      currency: offer.currency,
      paidAt,
      createdAt: cap(at),
      updatedAt: Math.max(paidAt ?? 0, cap(at + rng.int(1, 30) * MINUTE)),
      transactions: [],
    }
    const txn = (txStatus: SimTransaction['status'], t: number): SimTransaction => ({
      id: ds.nextId('transaction'),
      merchantId: rng.pick([2, 3, 7]),
      paymentId: p.id,
      orderId,
      status: txStatus,
      failureReason: txStatus === 'Declined' ? rng.pick(['Cardholder session expired', 'Insufficient funds', 'Declined by issuer']) : null,
      price: p.amount,
      currency: p.currency,
      payerAccount: txStatus === 'Declined' ? null : rng.chars(13, 'ABCDEFGHJKLMNPQRSTUVWXYZ0123456789'),
      cardMask: txStatus === 'Declined' && rng.chance(0.5) ? null : `${rng.pick(['53', '41', '44', '51'])}****${rng.int(1000, 9999)}`,
      rrn: txStatus === 'Declined' ? null : rng.int(100_000_000_000, 399_999_999_999),
      fee: rng.chance(0.5) ? Math.round(p.amount * 2.75) / 100 : null,
      createdAt: cap(t),
    })
    if (st === 2 || st === 4) {
      if (rng.chance(0.22)) p.transactions.push(txn('Declined', at))
      p.transactions.push(txn('Approved', at + rng.int(1, 10) * MINUTE))
      if (st === 4) p.transactions.push(txn('Refunded', at + rng.int(1, 14) * DAY))
    } else if (st === 3) {
      p.transactions.push(txn('Declined', at))
    }
    return p
  }
  switch (status) {
    case 'paid':
      order.payments.push(payment(1, 2, createdAt, false))
      break
    case 'refunded':
      order.payments.push(payment(1, 4, createdAt, false))
      break
    case 'partially_paid': {
      const parts = rng.int(2, 3)
      for (let k = 0; k < parts; k++) {
        const due = createdAt + k * 30 * DAY
        order.payments.push(payment(1 / parts, k === 0 || due < now - 7 * DAY ? 2 : 1, due, true))
      }
      if (order.payments.every((p) => p.status === 2)) order.paidStatus = 'paid'
      break
    }
    case 'not_paid':
      order.payments.push(payment(1, rng.chance(0.6) ? 1 : 3, createdAt, false))
      break
  }
  const paid = order.payments.filter((p) => p.paidAt !== null)
  if (paid.length) {
    order.firstPaidAt = paid[0].paidAt
    order.paidAt = paid[paid.length - 1].paidAt
  }
  order.updatedAt = Math.max(createdAt, ...order.payments.flatMap((p) => [p.updatedAt, ...p.transactions.map((t) => t.createdAt)]))
  return order
}

function grantSubscriptions(ds: SimDataset, contact: SimContact, order: SimOrder, offer: SimOffer, creatorId?: number): SimSubscription[] {
  const start = order.firstPaidAt ?? order.createdAt
  return order.productIds.map((productId) => ({
    id: ds.nextId('subscription'),
    contactId: contact.id,
    userId: contact.userId ?? 0,
    productId,
    orderId: order.id,
    offerId: offer.id,
    creatorId: creatorId ?? contact.userId ?? 0,
    startAt: start,
    endAt: offer.accessDays ? start + offer.accessDays * DAY : null,
    paidAt: order.paidAt,
    revoked: order.paidStatus === 'refunded',
    createdAt: start,
    updatedAt: Math.max(start, order.updatedAt),
  }))
}

function makeProgress(ds: SimDataset, rng: Random, course: SimCourse, contact: SimContact, enrolledAt: number, now: number): SimCourseUser {
  const cu: SimCourseUser = {
    id: ds.nextId('enrolment'),
    courseId: course.id,
    contactId: contact.id,
    userId: 0,
    enrolledAt,
    availableLessons: course.type === 'marathon' || rng.chance(0.15) ? rng.int(1, course.lessons.length) : null,
    lessonProgress: [],
    quizProgress: [],
    lastActiveAt: null,
  }
  const reachable = cu.availableLessons ?? course.lessons.length
  const u = rng.next()
  const target = u < 0.2 ? 0 : u > 0.8 ? reachable : rng.int(1, reachable)
  let t = enrolledAt + rng.int(5, 72 * 60) * MINUTE
  for (let i = 0; i < target && t < now; i++) {
    const lesson = course.lessons[i]
    const watchStart = t
    const watchEnd = watchStart + rng.int(8, 70) * MINUTE
    const last = i === target - 1
    const abandonedMidLesson = last && rng.chance(0.35)
    const lp: SimLessonProgress = {
      lessonId: lesson.id,
      isWatched: true,
      isCompleted: false,
      quizzingStatus: 1,
      watchingStartAt: watchStart,
      watchingEndAt: abandonedMidLesson && rng.chance(0.5) ? null : Math.min(watchEnd, now),
      quizzingStartAt: null,
      quizzingEndAt: null,
      completedAt: null,
      createdAt: watchStart,
      updatedAt: Math.min(watchEnd, now),
    }
    let allPassed = true
    let qt = watchEnd
    for (const quizId of lesson.quizIds) {
      if (abandonedMidLesson) {
        allPassed = false
        break
      }
      const quiz = course.quizzes.find((q) => q.id === quizId)!
      const outcome = rng.next()
      const status: QuizAttemptStatus = outcome < 0.78 ? 1 : outcome < 0.9 ? 2 : outcome < 0.96 ? 3 : 4
      const startedAt = Math.min(qt + rng.int(1, 30) * MINUTE, now)
      const finishedAt = status === 3 ? null : Math.min(startedAt + rng.int(3, 40) * MINUTE, now)
      cu.quizProgress.push({
        lessonId: lesson.id,
        quizId,
        status,
        scores: status === 1 ? Math.round(quiz.scoresMax * (0.6 + rng.next() * 0.4)) : status === 2 ? Math.round(quiz.scoresMax * rng.next() * 0.5) : 0,
        scoresMax: quiz.scoresMax,
        startedAt,
        finishedAt,
        checkedAt: finishedAt !== null && rng.chance(0.3) ? Math.min(finishedAt + rng.int(1, 48) * HOUR, now) : null,
        lastActivityAt: finishedAt ?? startedAt,
        attemptNumber: status === 1 && rng.chance(0.25) ? 2 : 1,
      })
      if (status !== 1) allPassed = false
      lp.quizzingStartAt ??= startedAt
      lp.quizzingEndAt = finishedAt
      qt = finishedAt ?? startedAt
    }
    lp.updatedAt = Math.max(lp.updatedAt, lp.quizzingEndAt ?? lp.quizzingStartAt ?? 0)
    if (!abandonedMidLesson && allPassed) {
      lp.isCompleted = true
      lp.completedAt = Math.min(Math.max(lp.updatedAt, lp.watchingEndAt ?? 0) + MINUTE, now)
      lp.updatedAt = lp.completedAt
      lp.quizzingStatus = 4
    } else {
      lp.quizzingStatus = lesson.quizIds.length ? (cu.quizProgress.some((q) => q.lessonId === lesson.id && q.status === 4) ? 2 : 3) : 3
    }
    cu.lessonProgress.push(lp)
    t = lp.updatedAt + rng.int(2, 7 * 24) * HOUR
    if (!lp.isCompleted) break
  }
  const times = [...cu.lessonProgress.map((p) => p.updatedAt), ...cu.quizProgress.map((q) => q.lastActivityAt)]
  cu.lastActiveAt = times.length ? Math.max(...times) : null
  return cu
}

/** Buyers and students get a student account; about half of the other contacts registered one too. */
function assignUserAccounts(ds: SimDataset, rng: Random): void {
  const needsAccount = new Set<number>([...ds.subscriptions.map((s) => s.contactId), ...ds.courseUsers.map((c) => c.contactId)])
  for (const c of ds.contacts) if (needsAccount.has(c.id) || (c.broken === null && rng.chance(0.5))) c.userId = ds.nextId('user')
  const userOf = new Map(ds.contacts.map((c) => [c.id, c.userId]))
  for (const s of ds.subscriptions) {
    s.userId = userOf.get(s.contactId) ?? 0
    if (s.creatorId === 0) s.creatorId = s.userId
  }
  for (const cu of ds.courseUsers) cu.userId = userOf.get(cu.contactId) ?? 0
}

function generateCertificates(ds: SimDataset, rng: Random, now: number): void {
  for (const cu of ds.courseUsers) {
    const course = ds.courses.find((c) => c.id === cu.courseId)!
    const completed = cu.lessonProgress.filter((p) => p.isCompleted)
    if (completed.length !== course.lessons.length || course.lessons.length === 0) continue
    const finishedAt = Math.max(...completed.map((p) => p.completedAt ?? 0))
    const issuedAt = finishedAt + rng.int(1, 600) * MINUTE
    ds.certificates.push({
      id: ds.nextId('certificate'),
      uuid: rng.uuid(),
      number: `${rng.int(1000, 9999)}-${String(ds.certificates.length + 1).padStart(4, '0')}`,
      contactId: cu.contactId,
      userId: cu.userId,
      courseId: course.id,
      title: course.title,
      templateId: 7,
      points: cu.quizProgress.reduce((sum, q) => sum + q.scores, 0),
      issuedAt: Math.min(issuedAt, now),
      finishedAt,
    })
  }
}

function generateCoupons(ds: SimDataset, rng: Random, start: number, now: number, count: number): void {
  let id = 1 + rng.int(0, 40)
  const created: number[] = []
  for (let i = 0; i < count; i++) created.push(timeBetween(rng, start, now))
  created.sort((a, b) => a - b)
  const codes = new Set<string>()
  for (let i = 0; i < count; i++) {
    const createdAt = created[i]
    const isFixed = rng.chance(0.4)
    let code = rng.chance(0.5)
      ? `${rng.pick(['SPRING', 'WEBINAR', 'BLACKFRIDAY', 'VIP', 'KWIGA', 'START', 'ZNYZHKA'])}-${rng.int(10, 99)}`
      : `Kwiga${rng.chars(4, 'ABCDEFGHJKLMNPQRSTUVWXYZ')}-${rng.chars(2, 'ABCDEFGHJKLMNPQRSTUVWXYZ')}`
    while (codes.has(code)) code += rng.chars(1, 'ABCDEFGHJKLMNPQRSTUVWXYZ')
    codes.add(code)
    const totalUses = rng.chance(0.4) ? 0 : rng.pick([1, 10, 50, 100])
    const usedAmount = totalUses === 0 ? rng.int(0, 40) : rng.int(0, totalUses)
    // Expiry is entered as a local end of day in the cabinet time zone.
    let expiresAt: number | null = null
    if (rng.chance(0.5)) {
      const d = new Date(createdAt + rng.int(14, 120) * DAY)
      const wall = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 23, 59, 59)
      expiresAt = zonedWallTimeToUtc(wall, CABINET_TIMEZONE.name)
    }
    const deletedAt = rng.chance(0.1) ? timeBetween(rng, createdAt, now) : null
    const expired = expiresAt !== null && expiresAt < now
    ds.coupons.push({
      id: (id += rng.int(1, 3)),
      code,
      reward: isFixed ? rng.pick([100, 200, 300, 500]) : rng.pick([10, 15, 20, 30, 50]),
      isFixed,
      isDisposable: totalUses === 1,
      isActive: !expired && deletedAt === null && rng.chance(0.85),
      usedAmount,
      totalUses,
      totalUsesPerUser: rng.chance(0.7) ? 1 : null,
      contactId: rng.chance(0.1) && ds.contacts.length ? rng.pick(ds.contacts).id : null,
      offerIds: rng.chance(0.3) && ds.offers.length ? rng.sample(ds.offers, rng.int(1, 2)).map((o) => o.id) : [],
      expiresAt,
      createdAt,
      updatedAt: timeBetween(rng, createdAt, deletedAt ?? now),
      deletedAt,
      creatorId: rng.pick(ds.managers).id,
    })
  }
}

function generateContactLists(ds: SimDataset, rng: Random, start: number, now: number, count: number): void {
  let id = rng.int(1, 20)
  for (let i = 0; i < count; i++) {
    const isDefault = i === 0
    const createdAt = isDefault ? start - 30 * DAY : timeBetween(rng, start, now - DAY)
    const pool = ds.contacts.filter((c) => c.createdAt >= createdAt - 365 * DAY)
    const members = isDefault
      ? ds.contacts.slice(0, Math.min(ds.contacts.length, 1 + Math.floor(ds.contacts.length * 0.02)))
      : rng.sample(pool, Math.floor(pool.length * (0.02 + rng.next() * 0.25)))
    ds.contactLists.push({
      id: (id += rng.int(1, 4)),
      title: isDefault ? 'Мой первый список' : CONTACT_LIST_TITLES[(i - 1) % CONTACT_LIST_TITLES.length],
      description: isDefault
        ? 'Данный список создаётся автоматически с вашим контактом внутри. Вы можете его отредактировать под свои потребности.'
        : rng.chance(0.5)
          ? 'Описание'
          : null,
      isDefault,
      createdAt,
      updatedAt: timeBetween(rng, createdAt, now),
      contactIds: members.map((c) => c.id).sort((a, b) => a - b),
    })
  }
}

/** Deterministic per-entity decision used by the renderer for wire-format quirks. */
export function quirk(ds: SimDataset, kind: number, id: number, rate: number): boolean {
  return hashUnit(ds.seed, kind, id) < rate
}
