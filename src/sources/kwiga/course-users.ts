import type { Db } from '../../db/index.js'
import { requireUpstream } from '../../db/runs.js'
import type { TableWrite } from '../../db/upsert.js'
import { z } from 'zod'
import type { RejectInput } from '../../contract.js'
import { crawlPlanSchema, filterSince, later, normalizeEach, replaceWrite, runCrawl, type CrawlStep } from './crawl.js'
import type { Page } from './pages.js'
import { indexProgram, normalizeCourseUser, programOf, type CourseUserRows, type ProgramIndex } from './program.js'
import { resumablePlan, type KwigaStreamDef, type StreamKit } from './stream-context.js'

/** Newest course activity loaded, per course id. */
const watermarksSchema = z.record(z.string(), z.string().nullable())
type CourseWatermarks = z.infer<typeof watermarksSchema>

const courseUsersStateSchema = z.object({
  watermarks: watermarksSchema.optional(),
  lastFullAt: z.string().nullable().optional(),
  plan: crawlPlanSchema(watermarksSchema).optional(),
})
type CourseUsersState = z.infer<typeof courseUsersStateSchema>

const INCLUDE = 'course_program,lesson_progress,module_progress,quiz_progress'

/** Course ids of the cabinet, as loaded by the `courses` stream (which runs before this one). */
export async function loadedCourseIds(db: Db, cabinet: string): Promise<string[]> {
  const rows = await db.selectFrom('kwiga.courses').select('course_id').where('cabinet', '=', cabinet).orderBy('course_id').execute()
  return rows.map((r) => String(r.course_id))
}

/**
 * Participants of every course with progress and the program tree (§5), 250 per page (the
 * documented maximum). Incremental per course on `last_activity_from` (UTC course activity) minus
 * the overlap; new enrolments without activity and revoked access show on the periodic full read.
 */
export function courseUsersStream(cabinet: string): KwigaStreamDef<CourseUsersState> {
  return { state: courseUsersStateSchema, run: (k) => courseUsers(k, cabinet) }
}

async function* courseUsers(k: StreamKit<CourseUsersState>, cabinet: string) {
  const saved: CourseUsersState = k.ctx.state ?? {}
  const watermarks = saved.watermarks ?? {}
  const startedAt = new Date(k.ctx.clock.now()).toISOString()
  await requireUpstream(k.ctx.db, k.ctx.runId, { source: 'kwiga', account: cabinet, stream: 'courses' }, 'course users are read per course of that list')
  const courseIds = await loadedCourseIds(k.ctx.db, cabinet)
  if (!courseIds.length) k.ctx.log.warn('no courses loaded for this cabinet yet: run the courses stream first')
  const plan = resumablePlan<CourseWatermarks>(k.ctx, () => {
    const full = k.full(Object.keys(watermarks).length ? watermarks : null, saved.lastFullAt ?? null)
    const steps = courseIds.map((courseId): CrawlStep => {
      const since = full ? null : watermarks[courseId]
      const query: [string, string][] = [['include', INCLUDE]]
      if (since) query.push(['last_activity_from', filterSince(since, k.options.overlapMs)])
      return { label: `course ${courseId} users`, path: `/courses/${courseId}/users`, query, pageSize: 250, idPath: ['user', 'id'] }
    })
    return { steps, step: 0, page: 1, candidate: { ...watermarks }, full }
  })
  const programs = new Map<string, ProgramIndex>()
  yield* runCrawl({
    ctx: k.ctx,
    client: k.client,
    plan,
    saved: { ...saved },
    load: (step, page, candidate) => {
      const courseId = step.path.split('/')[2]!
      if (page.notFound) {
        k.ctx.log.warn({ courseId }, 'course not found (404) while reading its users; skipped')
        return { writes: [], rejects: [], candidate }
      }
      const { writes, rejects, users, missed } = courseUsersPage(cabinet, courseId, page, programs)
      let newest = candidate[courseId] ?? null
      for (const u of users) newest = later(newest, u.user.last_active_at as string | null)
      return { writes, rejects, missed, candidate: { ...candidate, [courseId]: newest } }
    },
    finish: (candidate) => ({ watermarks: candidate, lastFullAt: plan.full ? startedAt : (saved.lastFullAt ?? null) }),
    // A full read of a course lists all its participants (README "Deletions").
    listed: (step) => [{ table: 'kwiga.course_users', key: ['cabinet', 'course_id', 'user_id'], scope: { cabinet, course_id: step.path.split('/')[2]! } }],
  })
}

/** Rows of one page. The tree comes with every page; it is stored (and indexed) once per course. */
export function courseUsersPage(
  cabinet: string,
  courseId: string,
  page: Page,
  programs: Map<string, ProgramIndex>,
): { writes: TableWrite[]; rejects: RejectInput[]; users: CourseUserRows[]; missed: (string | null)[] } {
  const writes: TableWrite[] = []
  const tree = programOf(page.body)
  if (tree && !programs.has(courseId)) {
    const index = indexProgram(cabinet, courseId, tree)
    programs.set(courseId, index)
    writes.push(replaceWrite('kwiga.course_nodes', ['cabinet', 'course_id', 'node_id'], index.nodes, ['cabinet', 'course_id'], [[cabinet, courseId]]))
  }
  const program = programs.get(courseId) ?? null
  const rejects: RejectInput[] = []
  const missed: (string | null)[] = []
  // A participant is rejected only when it has no usable user id: its key is unknown.
  const users = normalizeEach(
    page.items,
    rejects,
    (item) => normalizeCourseUser(cabinet, courseId, item, program),
    missed,
    () => null,
  )
  for (const u of users) rejects.push(...u.rejects)
  const keyOf = (u: CourseUserRows) => [cabinet, courseId, u.user.user_id]
  const progress = (pick: (u: CourseUserRows) => Record<string, unknown>[] | null) => {
    const loaded = users.filter((u) => pick(u) !== null)
    return { rows: loaded.flatMap((u) => pick(u)!), parents: loaded.map(keyOf) }
  }
  const lessons = progress((u) => u.lessons)
  const modules = progress((u) => u.modules)
  const quizzes = progress((u) => u.quizzes)
  const parent = ['cabinet', 'course_id', 'user_id']
  writes.push(
    { table: 'kwiga.course_users', key: parent, rows: users.map((u) => u.user) },
    replaceWrite('kwiga.lesson_progress', [...parent, 'lesson_id'], lessons.rows, parent, lessons.parents),
    replaceWrite('kwiga.module_progress', [...parent, 'module_id'], modules.rows, parent, modules.parents),
    replaceWrite('kwiga.quiz_progress', [...parent, 'course_lesson_id', 'quiz_id'], quizzes.rows, parent, quizzes.parents),
  )
  return { writes, rejects, users, missed }
}
