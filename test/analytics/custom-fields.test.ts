import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestWarehouse, type TestWarehouse } from '../support/database.js'
import { FIELDS_1, load, loadFirst } from './analyst-data.js'
import { jsonRows } from './support.js'

const userValues = (wh: TestWarehouse) =>
  jsonRows(wh, `select user_id, title, field_id, value from getcourse.user_field_values where account = 'msk' order by user_id, title`)

describe.each([
  { where: 'server', embedded: false },
  { where: 'embedded PGlite', embedded: true },
])('custom fields as rows on $where', ({ embedded }) => {
  let wh: TestWarehouse
  beforeAll(async () => {
    wh = await createTestWarehouse({ embedded })
    await loadFirst(wh)
  }, 120_000)
  afterAll(async () => wh?.dispose())

  it('GetCourse: every non-empty cell whose title maps to one field of its context is a row with that field id', async () => {
    // Город: two user fields share the title, so it names neither; «Комментарий, "важный"» is no field;
    // Пусто was an empty cell. Those stay in extra only.
    expect(await userValues(wh)).toEqual([{ user_id: 1, title: 'Размер', field_id: 100, value: 'M' }])
    const deals = await jsonRows(wh, `select deal_id, title, field_id, value from getcourse.deal_field_values where account = 'msk' order by deal_id, title`)
    expect(deals).toEqual([{ deal_id: 11, title: 'Откуда узнали', field_id: 101, value: 'Из ВК, друзья' }])
  })

  it('a renamed field keeps its id: values exported under the old title map to it, a re-exported entity is not duplicated', async () => {
    // The dictionary is read again: field 100 is now "Размер одежды".
    await load(
      wh,
      'getcourse.fields',
      ['account', 'id'],
      FIELDS_1.map((f) => (f.id === 100 ? { ...f, title: 'Размер одежды' } : f)),
    )
    // User 1, exported before the rename, still maps; user 2 is exported under the new title.
    await load(wh, 'getcourse.users', ['account', 'id'], [{ account: 'msk', id: 2, email: 'boris@example.com', extra: { 'Размер одежды': 'L' } }])
    expect((await userValues(wh)).filter((v) => v.field_id === 100)).toEqual([
      { user_id: 1, title: 'Размер', field_id: 100, value: 'M' },
      { user_id: 2, title: 'Размер одежды', field_id: 100, value: 'L' },
    ])
    // User 1 re-exported after the rename: one value for the field, under the new title.
    await load(
      wh,
      'getcourse.users',
      ['account', 'id'],
      [{ account: 'msk', id: 1, email: 'Anna@Example.com ', extra: { 'Размер одежды': 'XL', Город: 'Москва' } }],
    )
    expect(await userValues(wh)).toEqual([
      { user_id: 1, title: 'Размер одежды', field_id: 100, value: 'XL' },
      { user_id: 2, title: 'Размер одежды', field_id: 100, value: 'L' },
    ])
    const map = await jsonRows(wh, `select context_type, title, field_id, matched_by from getcourse.field_title_map where account = 'msk' order by 1, 2`)
    expect(map).toEqual([
      { context_type: 'deal', title: 'Откуда узнали', field_id: 101, matched_by: 'current' },
      { context_type: 'user', title: 'Размер', field_id: 100, matched_by: 'former' },
      { context_type: 'user', title: 'Размер одежды', field_id: 100, matched_by: 'current' },
    ])
  })

  it('a title that becomes unique again maps again (values rebuilt when the dictionary changes)', async () => {
    await load(wh, 'getcourse.fields', ['account', 'id'], [{ account: 'msk', id: 103, title: 'Город (старый)', type: 'select', context_type: 'user' }])
    const rows = await jsonRows(wh, `select title, field_id from getcourse.user_field_values where account = 'msk' and user_id = 1 and title = 'Город'`)
    expect(rows).toEqual([{ title: 'Город', field_id: 102 }])
  })

  it('KWIGA: contact additional_fields become rows; a load without the key keeps them, an empty list clears them', async () => {
    const read = () => jsonRows(wh, `select contact_id, field_id, title, value, display_value from kwiga.contact_field_values order by contact_id, field_id`)
    const olena = [
      { contact_id: 501, field_id: 31, title: 'Місто', value: 'Київ', display_value: 'Київ' },
      // A list value is kept as its JSON text; the item without a field id is left out.
      { contact_id: 501, field_id: 32, title: 'Інтереси', value: '[1, 2]', display_value: 'Python, SQL' },
    ]
    expect(await read()).toEqual(olena)
    const contact = { cabinet: 'main', contact_id: 501, email: 'olena@example.com', created_at: '2025-01-05T10:00:00Z' }
    await load(wh, 'kwiga.contacts', ['cabinet', 'contact_id'], [{ ...contact, raw: { id: 501, name: 'Олена Ш.' } }])
    expect(await read()).toEqual(olena)
    await load(wh, 'kwiga.contacts', ['cabinet', 'contact_id'], [{ ...contact, raw: { id: 501, additional_fields: [] } }])
    expect(await read()).toEqual([])
  })
})
