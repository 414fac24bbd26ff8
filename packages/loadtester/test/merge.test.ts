import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  createHistogram,
  decodeHistogram,
  emptyCounters,
  emptyInterval,
  encodeHistogram,
  type IntervalStats,
  mergeIntervals,
  PERCENTILES,
  StatsAccumulator,
} from '../src/index.js'

const samples = fc.array(fc.integer({ min: 0, max: 120_000_000 }), { minLength: 0, maxLength: 400 })

function interval(index: number, values: number[], service: number[]): IntervalStats {
  const lat = createHistogram()
  const svc = createHistogram()
  for (const v of values) lat.recordValue(v)
  for (const v of service) svc.recordValue(v)
  const counters = emptyCounters()
  counters.responses = values.length
  counters.sent = values.length
  counters.statuses['200'] = values.length
  return {
    ...emptyInterval(index, 1_000 * index, 1000),
    counters,
    latency: encodeHistogram(lat),
    service: encodeHistogram(svc),
    names: { a: { counters, latency: encodeHistogram(lat), service: encodeHistogram(svc) } },
  }
}

describe('merging interval deltas', () => {
  it('the encoding round-trips a histogram exactly', () => {
    fc.assert(
      fc.property(samples, (values) => {
        const h = createHistogram()
        for (const v of values) h.recordValue(v)
        const back = decodeHistogram(encodeHistogram(h))
        expect(back.totalCount).toBe(h.totalCount)
        for (const p of [...PERCENTILES, 100])
          expect(back.getValueAtPercentile(p)).toBe(h.getValueAtPercentile(p))
      }),
    )
  })

  it('merged percentiles equal those of one histogram of all samples, however the samples are split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(samples, samples), { minLength: 1, maxLength: 6 }),
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        (parts, p) => {
          const whole = createHistogram()
          const wholeService = createHistogram()
          for (const [lat, svc] of parts) {
            for (const v of lat) whole.recordValue(v)
            for (const v of svc) wholeService.recordValue(v)
          }
          const merged = mergeIntervals(parts.map(([lat, svc], i) => interval(i % 2, lat, svc)))
          const m = decodeHistogram(merged.latency)
          const s = decodeHistogram(merged.service)
          expect(m.totalCount).toBe(whole.totalCount)
          expect(s.totalCount).toBe(wholeService.totalCount)
          for (const q of [p, ...PERCENTILES, 100]) {
            expect(m.getValueAtPercentile(q)).toBe(whole.getValueAtPercentile(q))
            expect(s.getValueAtPercentile(q)).toBe(wholeService.getValueAtPercentile(q))
          }
          expect(merged.counters.responses).toBe(whole.totalCount)
          expect(merged.counters.statuses['200']).toBe(whole.totalCount)
          expect(decodeHistogram(merged.names.a?.latency ?? '').totalCount).toBe(whole.totalCount)
          expect(merged.index).toBe(0)
        },
      ),
      { numRuns: 60 },
    )
  })

  it('an accumulator gives the same totals whatever the order the deltas arrive in', () => {
    fc.assert(
      fc.property(fc.array(samples, { minLength: 1, maxLength: 5 }), (parts) => {
        const deltas = parts.map((values, i) => interval(i, values, values))
        const forward = new StatsAccumulator()
        for (const d of deltas) forward.add(d)
        const backward = new StatsAccumulator()
        for (const d of [...deltas].reverse()) backward.add(d)
        expect(backward.counters).toEqual(forward.counters)
        for (const q of [...PERCENTILES, 100]) {
          expect(backward.latency.getValueAtPercentile(q)).toBe(forward.latency.getValueAtPercentile(q))
          expect(backward.names.get('a')?.service.getValueAtPercentile(q)).toBe(
            forward.names.get('a')?.service.getValueAtPercentile(q),
          )
        }
        expect(forward.startMs).toBe(0)
        expect(forward.endMs).toBe(1000 * parts.length)
      }),
      { numRuns: 40 },
    )
  })
})
