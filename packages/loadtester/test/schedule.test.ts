import { describe, expect, it } from 'vitest'
import { ArrivalSchedule, seededRandom } from '../src/index.js'

function all(s: ArrivalSchedule): number[] {
  const times: number[] = []
  for (let t = s.next(); t >= 0 && times.length < 1_000_000; t = s.next()) times.push(t)
  return times
}

describe('ArrivalSchedule', () => {
  it('a constant rate gives exactly rate × duration evenly spaced arrivals', () => {
    const times = all(new ArrivalSchedule([{ rate: 5000, durationMs: 3000 }], 5000, false, Math.random))
    expect(times.length).toBe(15_000)
    expect(times[0]).toBe(0)
    expect(times[1]).toBeCloseTo(0.2, 9)
    expect(times[14_999]).toBeCloseTo(2999.8, 6)
  })

  it('a ramp sends the integral of its rate, the later half more than the earlier', () => {
    // 0 → 1000 req/s over 2 s, then 1000 → 0 over 1 s: 1000 + 500 arrivals.
    const times = all(
      new ArrivalSchedule(
        [
          { rate: 1000, durationMs: 2000 },
          { rate: 0, durationMs: 1000 },
        ],
        0,
        false,
        Math.random,
      ),
    )
    expect(times.length).toBe(1500)
    const firstSecond = times.filter((t) => t < 1000).length
    const secondSecond = times.filter((t) => t >= 1000 && t < 2000).length
    expect(firstSecond).toBe(250)
    expect(secondSecond).toBe(750)
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThan(times[i - 1] as number)
  })

  it('Poisson arrivals keep the mean rate and have exponential gaps', () => {
    const s = new ArrivalSchedule([{ rate: 10_000, durationMs: 10_000 }], 10_000, true, seededRandom(7))
    const times = all(s)
    expect(Math.abs(times.length - 100_000)).toBeLessThan(1500) // ±4.7 σ
    const gaps = times.slice(1).map((t, i) => t - (times[i] as number))
    // An exponential's standard deviation equals its mean; evenly spaced gaps would have none.
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length
    const sd = Math.sqrt(gaps.reduce((a, g) => a + (g - mean) ** 2, 0) / gaps.length)
    expect(sd / mean).toBeGreaterThan(0.95)
    expect(sd / mean).toBeLessThan(1.05)
  })
})
