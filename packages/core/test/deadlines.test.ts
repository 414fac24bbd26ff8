import { afterEach, describe, expect, it, vi } from 'vitest'
import { Deadlines } from '../src/internal.js'

afterEach(() => {
  vi.useRealTimers()
})

describe('Deadlines', () => {
  it('expires live items at their deadline and skips settled ones', async () => {
    vi.useFakeTimers()
    const live = new Set<number>()
    const expired: number[] = []
    const d = new Deadlines<number>(
      (n) => live.has(n),
      (n) => {
        live.delete(n)
        expired.push(n)
      },
    )
    for (let i = 0; i < 10; i++) {
      live.add(i)
      d.add(i, i % 2 === 0 ? 100 : 50)
    }
    live.delete(3)
    live.delete(4)
    await vi.advanceTimersByTimeAsync(60)
    expect(expired).toEqual([1, 5, 7, 9])
    await vi.advanceTimersByTimeAsync(60)
    expect(expired).toEqual([1, 5, 7, 9, 0, 2, 6, 8])
    expect(d.size).toBe(0)
  })

  it('drops settled heads as new items come in, so fast traffic keeps it small', () => {
    const live = new Set<number>()
    const d = new Deadlines<number>(
      (n) => live.has(n),
      () => {},
    )
    for (let i = 0; i < 10_000; i++) {
      live.add(i)
      d.add(i, 10_000)
      live.delete(i)
    }
    expect(d.size).toBeLessThan(3000)
    d.clear()
    expect(d.size).toBe(0)
  })
})
