import { describe, expect, it } from 'vitest'
import { VirtualClock } from './clock.js'

describe('VirtualClock', () => {
  it('overlaps the sleeps of concurrent actors and jumps to the earliest wake-up', async () => {
    const clock = new VirtualClock(0)
    const woke: [string, number][] = []
    const actor = async (name: string, ms: number[]) => {
      for (const m of ms) {
        await clock.sleep(m)
        woke.push([name, clock.now()])
      }
    }
    await Promise.all([actor('a', [300, 300]), actor('b', [500])])
    expect(woke).toEqual([
      ['a', 300],
      ['b', 500],
      ['a', 600],
    ])
  })

  it('keeps whole milliseconds, like Date.now(), so stored times equal measured ones', async () => {
    const clock = new VirtualClock(1000.7)
    expect(clock.now()).toBe(1000)
    await clock.sleep(1.2)
    expect(clock.now()).toBe(1002)
    const before = clock.now()
    await clock.sleep(99.5)
    expect(new Date(clock.now()).getTime() - new Date(before).getTime()).toBe(clock.now() - before)
    expect(clock.now() - before).toBe(100)
  })

  it('does not advance while work is in flight', async () => {
    const clock = new VirtualClock(0)
    let release!: () => void
    const work = clock.busy(new Promise<void>((resolve) => (release = resolve)))
    const slept = clock.sleep(1000).then(() => clock.now())
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(clock.now()).toBe(0)
    release()
    await work
    expect(await slept).toBe(1000)
  })
})
