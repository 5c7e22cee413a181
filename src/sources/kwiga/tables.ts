import type {
  KwigaContactListMembersTable,
  KwigaContactListsTable,
  KwigaCouponsTable,
  KwigaCourseOffersTable,
  KwigaCoursesTable,
  KwigaOfferProductsTable,
  KwigaOffersTable,
  KwigaProductsTable,
  KwigaTimezonesTable,
} from './tables-catalogue.js'
import type {
  KwigaCertificatesTable,
  KwigaContactOffersTable,
  KwigaContactProductChecksTable,
  KwigaContactProductsTable,
  KwigaContactFieldValuesTable,
  KwigaContactTagsTable,
  KwigaContactsTable,
  KwigaOrderProductsTable,
  KwigaOrderStatusHistoryTable,
  KwigaOrdersTable,
  KwigaPaymentsTable,
  KwigaProductSubscriptionsTable,
  KwigaTagsTable,
  KwigaTransactionsTable,
} from './tables-contacts.js'
import type {
  KwigaCourseNodesTable,
  KwigaCourseUsersTable,
  KwigaLessonProgressTable,
  KwigaModuleProgressTable,
  KwigaQuizProgressTable,
} from './tables-courses.js'

/** Kysely types of the `kwiga.*` tables (migrations/0003_kwiga.sql). */

export type * from './tables-catalogue.js'
export type * from './tables-contacts.js'
export type * from './tables-courses.js'

export interface KwigaTables {
  'kwiga.timezones': KwigaTimezonesTable
  'kwiga.products': KwigaProductsTable
  'kwiga.offers': KwigaOffersTable
  'kwiga.offer_products': KwigaOfferProductsTable
  'kwiga.courses': KwigaCoursesTable
  'kwiga.course_offers': KwigaCourseOffersTable
  'kwiga.coupons': KwigaCouponsTable
  'kwiga.contact_lists': KwigaContactListsTable
  'kwiga.contact_list_members': KwigaContactListMembersTable
  'kwiga.contacts': KwigaContactsTable
  'kwiga.tags': KwigaTagsTable
  'kwiga.contact_tags': KwigaContactTagsTable
  'kwiga.contact_offers': KwigaContactOffersTable
  'kwiga.orders': KwigaOrdersTable
  'kwiga.order_status_history': KwigaOrderStatusHistoryTable
  'kwiga.contact_field_values': KwigaContactFieldValuesTable
  'kwiga.order_products': KwigaOrderProductsTable
  'kwiga.payments': KwigaPaymentsTable
  'kwiga.transactions': KwigaTransactionsTable
  'kwiga.certificates': KwigaCertificatesTable
  'kwiga.contact_products': KwigaContactProductsTable
  'kwiga.product_subscriptions': KwigaProductSubscriptionsTable
  'kwiga.contact_product_checks': KwigaContactProductChecksTable
  'kwiga.course_users': KwigaCourseUsersTable
  'kwiga.course_nodes': KwigaCourseNodesTable
  'kwiga.lesson_progress': KwigaLessonProgressTable
  'kwiga.module_progress': KwigaModuleProgressTable
  'kwiga.quiz_progress': KwigaQuizProgressTable
}
