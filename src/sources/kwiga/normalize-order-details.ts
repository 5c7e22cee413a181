import { arrayAt, id, isItem, objectAt, text, type Item } from './values.js'

/** The order columns analysts ask for that the order item carries nested (docs/kwiga.md §3.6, §3.8). */
export interface OrderDetails {
  manager_ids: string[] | null
  manager_names: string[] | null
  utm_source: string | null
  utm_medium: string | null
  utm_campaign: string | null
  utm_term: string | null
  utm_content: string | null
  order_group_id: string | null
  order_group_title: string | null
  order_funnel_id: string | null
  order_funnel_title: string | null
}

/**
 * `managers` (UserSimple[], conditional: NULL when absent, `{}` when sent empty; managers without a
 * usable id are left out of both lists so they stay aligned), `utm` (UtmList: arrays of the values
 * seen, the first taken; a plain string is taken whole) and the funnel of `order_stage`.
 */
export function orderDetails(item: Item): OrderDetails {
  const managers = arrayAt(item, 'managers')
  let ids: string[] | null = null
  let names: string[] | null = null
  if (managers) {
    ids = []
    names = []
    for (const m of managers) {
      const managerId = isItem(m) ? id(m.id) : null
      if (managerId === null) continue
      const u = m as Item
      ids.push(managerId)
      names.push(text(u.name) ?? ([text(u.first_name), text(u.last_name)].filter(Boolean).join(' ') || text(u.email) || `#${managerId}`))
    }
  }
  const utm = objectAt(item, 'utm')
  const stage = objectAt(item, 'order_stage')
  const group = stage ? objectAt(stage, 'order_group') : null
  const funnel = stage ? objectAt(stage, 'order_funnel') : null
  return {
    manager_ids: ids,
    manager_names: names,
    utm_source: utm ? utmValue(utm.utm_source) : null,
    utm_medium: utm ? utmValue(utm.utm_medium) : null,
    utm_campaign: utm ? utmValue(utm.utm_campaign) : null,
    utm_term: utm ? utmValue(utm.utm_term) : null,
    utm_content: utm ? utmValue(utm.utm_content) : null,
    order_group_id: group ? id(group.id) : null,
    order_group_title: group ? (text(group.title) ?? text(group.slug)) : null,
    order_funnel_id: funnel ? id(funnel.id) : null,
    order_funnel_title: funnel ? text(funnel.title) : null,
  }
}

function utmValue(value: unknown): string | null {
  if (Array.isArray(value)) {
    for (const v of value) {
      const t = text(v)
      if (t) return t
    }
    return null
  }
  return text(value)
}
