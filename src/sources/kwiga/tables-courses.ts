import type { Generated, Int8, Int8List, Json, Numeric, Timestamp } from './column-types.js'

/** Kysely types of the course tables: course users, the course tree, lesson, module and quiz progress (migrations/0003_kwiga.sql). */

export interface KwigaCourseUsersTable {
  cabinet: string
  course_id: Int8
  user_id: Int8
  contact_id: Int8 | null
  user_name: string | null
  user_email: string | null
  course_points: Numeric | null
  lessons_available_count: number | null
  is_full_access: boolean | null
  lessons_count: number | null
  lessons_count_viewed: number | null
  lessons_viewed_percentage: Numeric | null
  lessons_count_completed: number | null
  lessons_completion_percentage: Numeric | null
  quizzes_count: number | null
  quizzes_count_completed: number | null
  quizzes_completion_percentage: Numeric | null
  scores_max: Numeric | null
  quizzes_scores: Numeric | null
  product_scores: Numeric | null
  scores: Numeric | null
  is_completed: boolean | null
  completed_at: Timestamp | null
  last_active_at: Timestamp | null
  current_lesson_id: Int8 | null
  next_lesson_id: Int8 | null
  current_dripping_date: Timestamp | null
  next_dripping_date: Timestamp | null
  subscription_is_active: boolean | null
  subscription_is_paid: boolean | null
  subscription_start_at: Timestamp | null
  subscription_end_at: Timestamp | null
  subscription_state_id: number | null
  subscription_state_label: string | null
  raw: Json
  synced_at: Generated<Timestamp>
  deleted_at: Timestamp | null
}

export interface KwigaCourseNodesTable {
  cabinet: string
  course_id: Int8
  node_id: Int8
  parent_node_id: Int8 | null
  position: number | null
  depth: number
  nodeble_type: string | null
  nodeble_id: Int8 | null
  title: string | null
  slug: string | null
  ancestor_lesson_id: Int8 | null
  quiz_ids: Generated<Int8List>
  raw: Json
  synced_at: Generated<Timestamp>
}

export interface KwigaLessonProgressTable {
  cabinet: string
  course_id: Int8
  user_id: Int8
  lesson_id: Int8
  node_id: Int8 | null
  is_watched: boolean | null
  is_completed: boolean | null
  quizzing_status_id: number | null
  quizzing_status_slug: string | null
  watching_start_at: Timestamp | null
  watching_end_at: Timestamp | null
  quizzing_start_at: Timestamp | null
  quizzing_end_at: Timestamp | null
  completed_at: Timestamp | null
  created_at: Timestamp | null
  updated_at: Timestamp | null
  synced_at: Generated<Timestamp>
}

export interface KwigaModuleProgressTable {
  cabinet: string
  course_id: Int8
  user_id: Int8
  module_id: Int8
  node_id: Int8 | null
  is_watched: boolean | null
  is_completed: boolean | null
  quizzing_status_id: number | null
  quizzing_status_slug: string | null
  watching_start_at: Timestamp | null
  watching_end_at: Timestamp | null
  quizzing_start_at: Timestamp | null
  quizzing_end_at: Timestamp | null
  completed_at: Timestamp | null
  created_at: Timestamp | null
  updated_at: Timestamp | null
  synced_at: Generated<Timestamp>
}

export interface KwigaQuizProgressTable {
  cabinet: string
  course_id: Int8
  user_id: Int8
  course_lesson_id: Int8
  quiz_id: Int8
  node_id: Int8 | null
  status_id: number | null
  status_slug: string | null
  scores: Numeric | null
  scores_max: Numeric | null
  started_at: Timestamp | null
  finished_at: Timestamp | null
  checked_at: Timestamp | null
  last_activity_at: Timestamp | null
  attempt_number: number | null
  synced_at: Generated<Timestamp>
}
