import type { Insertable } from 'kysely'
import { RejectError } from '../../errors.js'
import { rejected, type RejectInput } from '../../contract.js'
import type * as T from './tables.js'
import { arrayAt, bool, decimal, enumIntAt, id, int, isItem, json, objectAt, text, time, without, type Item } from './values.js'

/**
 * Course users, the program tree and progress stitching (reference §5). The tree arrives once per
 * page at the top level, as `course_program` (docs) or `course_structure` (example, §4.7); progress
 * rows carry nodeble ids (`lesson_id`, `module_id`, `course_lesson_id`) that equal a node's
 * `course_nodeble_id`.
 */

type Row<K extends keyof T.KwigaTables> = Insertable<T.KwigaTables[K]>

export interface ProgramIndex {
  nodes: Row<'kwiga.course_nodes'>[]
  /** `${nodeble_type}:${nodeble_id}` → node id. */
  byNodeble: Map<string, string>
  /** `${lesson nodeble id}:${quiz id}` → id of the node that holds the quiz. */
  quizNode: Map<string, string>
}

/** The program tree of a course-users page, or null when the page carries none. */
export function programOf(body: unknown): unknown[] | null {
  if (!isItem(body)) return null
  return arrayAt(body, 'course_program') ?? arrayAt(body, 'course_structure')
}

const LESSON = 'course_lesson'

/** Flatten the tree depth-first, remembering the nearest ancestor lesson of each node. */
export function indexProgram(cabinet: string, courseId: string, tree: readonly unknown[]): ProgramIndex {
  const index: ProgramIndex = { nodes: [], byNodeble: new Map(), quizNode: new Map() }
  const walk = (list: readonly unknown[], parent: string | null, depth: number, lesson: string | null) => {
    for (const raw of list) {
      if (!isItem(raw)) continue
      const nodeId = id(raw.id)
      if (nodeId === null) continue
      // Two documented node shapes (§3.2 vs the include example, §4.8): accept both.
      const nodeble = objectAt(raw, 'course_nodeble') ?? {}
      const type = text(raw.course_nodeble_type) ?? text(raw.nodeble_type) ?? text(raw.type)
      const nodebleId = id(raw.course_nodeble_id) ?? id(raw.nodeble_id) ?? id(nodeble.id)
      const ownLesson = type === LESSON ? nodebleId : lesson
      const quizIds = (arrayAt(raw, 'quizzes') ?? []).map((q) => (isItem(q) ? id(q.id) : null)).filter((q): q is string => q !== null)
      index.nodes.push({
        cabinet,
        course_id: courseId,
        node_id: nodeId,
        parent_node_id: id(raw.parent_id) ?? parent,
        position: int(raw.order),
        depth,
        nodeble_type: type,
        nodeble_id: nodebleId,
        // Sections put their label in `name`, modules and lessons in `title` (§4.8).
        title: text(nodeble.title) ?? text(nodeble.name) ?? text(raw.title) ?? text(raw.name),
        slug: text(nodeble.slug) ?? text(raw.slug),
        ancestor_lesson_id: type === LESSON ? null : lesson,
        quiz_ids: quizIds,
        raw: json(without(raw, ['children'])),
      })
      if (type && nodebleId !== null) index.byNodeble.set(`${type}:${nodebleId}`, nodeId)
      if (ownLesson !== null) for (const quiz of quizIds) index.quizNode.set(`${ownLesson}:${quiz}`, nodeId)
      walk(arrayAt(raw, 'children') ?? [], nodeId, depth + 1, ownLesson)
    }
  }
  walk(tree, null, 0, null)
  return index
}

export interface CourseUserRows {
  user: Row<'kwiga.course_users'>
  /** Null when the page carried no such array (`include` not honoured): stored rows stay. */
  lessons: Row<'kwiga.lesson_progress'>[] | null
  modules: Row<'kwiga.module_progress'>[] | null
  quizzes: Row<'kwiga.quiz_progress'>[] | null
  rejects: RejectInput[]
}

export function normalizeCourseUser(cabinet: string, courseId: string, raw: unknown, program: ProgramIndex | null): CourseUserRows {
  if (!isItem(raw)) throw new RejectError('course user is not an object')
  const userObject = objectAt(raw, 'user')
  const contact = objectAt(raw, 'contact')
  const userId = id(userObject?.id) ?? id(raw.user_id) ?? id(contact?.user_id)
  if (userId === null) throw new RejectError('course user has no usable user.id')
  const key = { cabinet, course_id: courseId, user_id: userId }
  const progress = objectAt(raw, 'course_progress') ?? {}
  const subscription = objectAt(raw, 'subscription')
  const state = subscription ? enumIntAt(subscription, 'state') : { id: null, label: null }
  const user: Row<'kwiga.course_users'> = {
    ...key,
    contact_id: id(contact?.id) ?? id(raw.contact_id),
    user_name: text(userObject?.name),
    user_email: text(userObject?.email),
    course_points: decimal(raw.course_points),
    lessons_available_count: int(raw.lessons_available_count),
    is_full_access: bool(raw.is_full_access),
    // The include example trims course_progress (§4.35): every field is optional.
    lessons_count: int(progress.lessons_count),
    lessons_count_viewed: int(progress.lessons_count_viewed),
    lessons_viewed_percentage: decimal(progress.lessons_viewed_percentage),
    lessons_count_completed: int(progress.lessons_count_completed),
    lessons_completion_percentage: decimal(progress.lessons_completion_percentage),
    quizzes_count: int(progress.quizzes_count),
    quizzes_count_completed: int(progress.quizzes_count_completed),
    quizzes_completion_percentage: decimal(progress.quizzes_completion_percentage),
    scores_max: decimal(progress.scores_max),
    quizzes_scores: decimal(progress.quizzes_scores),
    product_scores: decimal(progress.product_scores),
    scores: decimal(progress.scores),
    is_completed: bool(progress.is_completed),
    completed_at: time(progress.completed_at),
    // The course's own last activity only: the contact's cabinet-wide `last_activity_at` is another fact.
    last_active_at: time(progress.last_active_at),
    current_lesson_id: id(objectAt(progress, 'current_lesson')?.id),
    next_lesson_id: id(objectAt(progress, 'next_lesson')?.id),
    current_dripping_date: time(progress.current_dripping_date),
    next_dripping_date: time(progress.next_dripping_date),
    subscription_is_active: subscription ? bool(subscription.is_active) : null,
    subscription_is_paid: subscription ? bool(subscription.is_paid) : null,
    subscription_start_at: subscription ? time(subscription.start_at) : null,
    subscription_end_at: subscription ? time(subscription.end_at) : null,
    subscription_state_id: state.id,
    subscription_state_label: state.label,
    raw: json(without(raw, ['lesson_progress', 'module_progress', 'quiz_progress'])),
  }
  const rejects: RejectInput[] = []
  const nodeOf = (type: string, nodebleId: string) => program?.byNodeble.get(`${type}:${nodebleId}`) ?? null
  const lessons = mapProgress(raw, 'lesson_progress', 'lesson_id', rejects, (p, lessonId) => ({
    ...key,
    lesson_id: lessonId,
    node_id: nodeOf(LESSON, lessonId),
    ...stepColumns(p),
  }))
  const modules = mapProgress(raw, 'module_progress', 'module_id', rejects, (p, moduleId) => ({
    ...key,
    module_id: moduleId,
    node_id: nodeOf('course_module', moduleId),
    ...stepColumns(p),
  }))
  const quizzes = mapProgress(raw, 'quiz_progress', 'quiz_id', rejects, (p, quizId) => {
    const lessonId = id(p.course_lesson_id)
    if (lessonId === null) return null
    const status = enumIntAt(p, 'status')
    return {
      ...key,
      course_lesson_id: lessonId,
      quiz_id: quizId,
      node_id: program?.quizNode.get(`${lessonId}:${quizId}`) ?? null,
      status_id: status.id,
      status_slug: isItem(p.status) ? text(p.status.slug) : status.label,
      scores: decimal(p.scores),
      scores_max: decimal(p.scores_max),
      started_at: time(p.started_at),
      finished_at: time(p.finished_at),
      checked_at: time(p.checked_at),
      last_activity_at: time(p.last_activity_at),
      attempt_number: int(p.attempt_number),
    }
  })
  return { user, lessons, modules, quizzes, rejects }
}

function mapProgress<R>(raw: Item, key: string, idKey: string, rejects: RejectInput[], map: (p: Item, id: string) => R | null): R[] | null {
  const list = arrayAt(raw, key)
  if (!list) return null
  const rows: R[] = []
  for (const p of list) {
    const entityId = isItem(p) ? id(p[idKey]) : null
    const row = entityId === null ? null : map(p as Item, entityId)
    if (row) rows.push(row)
    else rejects.push(rejected(`${key} record without a usable key`, p))
  }
  return rows
}

/** Columns shared by lesson and module progress. */
function stepColumns(p: Item) {
  const status = enumIntAt(p, 'quizzing_status')
  return {
    is_watched: bool(p.is_watched),
    is_completed: bool(p.is_completed),
    quizzing_status_id: status.id,
    quizzing_status_slug: isItem(p.quizzing_status) ? text(p.quizzing_status.slug) : status.label,
    watching_start_at: time(p.watching_start_at),
    watching_end_at: time(p.watching_end_at),
    quizzing_start_at: time(p.quizzing_start_at),
    quizzing_end_at: time(p.quizzing_end_at),
    completed_at: time(p.completed_at),
    created_at: time(p.created_at),
    updated_at: time(p.updated_at),
  }
}
