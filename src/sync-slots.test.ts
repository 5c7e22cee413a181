import { describe, expect, it } from 'vitest'
import { Slots } from './sync.js'

const tick = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

describe('Slots', () => {
  it('lends the slot of a waiting task to the next one, and never lets more than `size` work at once', async () => {
    const slots = new Slots(2)
    let working = 0
    let maxWorking = 0
    const events: string[] = []
    const work = async (ms: number) => {
      working++
      maxWorking = Math.max(maxWorking, working)
      await tick(ms)
      working--
    }
    for (let i = 1; i <= 6; i++) {
      void slots.queue.add(async () => {
        events.push(`start ${i}`)
        await work(5)
        await slots.idle(tick(40)) // e.g. an export forming
        await work(5)
        events.push(`end ${i}`)
      })
    }
    await slots.queue.onIdle()
    expect(maxWorking).toBeLessThanOrEqual(2)
    expect(events.filter((e) => e.startsWith('end'))).toHaveLength(6)
    // All six started while the first two were still waiting: their slots were lent, not held.
    expect(events.indexOf('start 6')).toBeLessThan(events.indexOf('end 1'))
    expect(slots.active).toBe(0)
    expect(slots.queue.concurrency).toBe(2)
  })

  it('a task coming back from waiting gets a slot before accounts that have not started', async () => {
    const slots = new Slots(1)
    const order: string[] = []
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    void slots.queue.add(async () => {
      order.push('a works')
      await slots.idle(gate)
      order.push('a back')
      await tick(5)
      order.push('a done')
    })
    void slots.queue.add(async () => {
      order.push('b works')
      release() // a's wait ends while b holds the only working slot
      await tick(20)
      order.push('b done')
    })
    void slots.queue.add(async () => {
      order.push('c works')
    })
    await slots.queue.onIdle()
    expect(order).toEqual(['a works', 'b works', 'b done', 'a back', 'a done', 'c works'])
  })
})
