import { describe, expect, it } from 'vitest'
import { orderDetails } from './normalize-order-details.js'

describe('orderDetails', () => {
  it('reads managers, the UtmList (first value of each list) and the funnel of the order stage (docs/kwiga.md §3.6, §3.8)', () => {
    const item = {
      id: 71,
      managers: [
        { id: 5, name: 'Марія Коваль', email: 'm@example.com' },
        { id: '6', first_name: 'Ігор', last_name: 'Б.' },
        { name: 'no id' },
        { id: 8, email: 'only@example.com' },
      ],
      utm: { utm_source: ['', 'instagram', 'fb'], utm_medium: [], utm_campaign: 'весна, "акція"', utm_term: null },
      order_stage: {
        id: 3,
        title: 'Нове',
        order_group: { id: 22, slug: 'voronka-1', title: null, order: 4 },
        order_funnel: { id: '1', title: 'Воронка за замовчуванням' },
      },
    }
    expect(orderDetails(item)).toEqual({
      manager_ids: ['5', '6', '8'],
      manager_names: ['Марія Коваль', 'Ігор Б.', 'only@example.com'],
      utm_source: 'instagram',
      utm_medium: null,
      utm_campaign: 'весна, "акція"',
      utm_term: null,
      utm_content: null,
      order_group_id: '22',
      order_group_title: 'voronka-1',
      order_funnel_id: '1',
      order_funnel_title: 'Воронка за замовчуванням',
    })
  })

  it('absent keys are NULL, an empty managers list is an empty list', () => {
    expect(orderDetails({ id: 1 })).toEqual({
      manager_ids: null,
      manager_names: null,
      utm_source: null,
      utm_medium: null,
      utm_campaign: null,
      utm_term: null,
      utm_content: null,
      order_group_id: null,
      order_group_title: null,
      order_funnel_id: null,
      order_funnel_title: null,
    })
    expect(orderDetails({ id: 1, managers: [], order_stage: { id: 2, title: 'x' } })).toMatchObject({
      manager_ids: [],
      manager_names: [],
      order_group_id: null,
      order_funnel_title: null,
    })
  })
})
