import { describe, expect, it } from 'vitest'
import {
  buildReport,
  checkThresholds,
  createHistogram,
  emptyInterval,
  parseThreshold,
  StatsAccumulator,
} from '../src/index.js'
import { encodeHistogram } from '../src/index.js'

function report(latenciesUs: number[], responses: number, refused: number, durationMs: number) {
  const h = createHistogram()
  for (const v of latenciesUs) h.recordValue(v)
  const d = emptyInterval(0, 0, durationMs)
  d.latency = encodeHistogram(h)
  d.service = encodeHistogram(h)
  d.counters.responses = responses
  d.counters.sent = responses + refused
  d.counters.errors.refused = refused
  return buildReport(new StatsAccumulator().add(d), [], {
    startMs: 0,
    durationMs,
    settings: { model: 'open' },
  })
}

describe('thresholds', () => {
  it('parses metrics, operators and units', () => {
    expect(parseThreshold('p99<50ms')).toMatchObject({ metric: 'p99', op: '<', value: 50_000 })
    expect(parseThreshold('p99.9 <= 1s')).toMatchObject({ metric: 'p99.9', op: '<=', value: 1_000_000 })
    expect(parseThreshold('service.p50<200us')).toMatchObject({ metric: 'service.p50', value: 200 })
    expect(parseThreshold('errors<0.1%')).toMatchObject({ metric: 'errors%', value: 0.001 })
    expect(parseThreshold('errors<10')).toMatchObject({ metric: 'errors', value: 10 })
    expect(parseThreshold('rate>4900')).toMatchObject({ metric: 'rate', op: '>', value: 4900 })
    for (const bad of ['p99<50', 'p99<fast', 'rate>5ms', 'latency<1ms', 'p0<1ms', 'p101<1ms'])
      expect(() => parseThreshold(bad)).toThrow(expect.objectContaining({ code: 'DD_ERR_THRESHOLD_INVALID' }))
  })

  it('holds or breaks against a report', () => {
    // 1000 responses at 1 ms and 10 at 100 ms: p99 is 1 ms, p99.9 is 100 ms. 10 refused of 1010.
    const r = report([...Array(1000).fill(1000), ...Array(10).fill(100_000)], 1010, 10, 2000)
    const verdict = (e: string) => checkThresholds(r, [parseThreshold(e)])[0]?.ok
    expect(verdict('p99<2ms')).toBe(true)
    expect(verdict('p99.9<2ms')).toBe(false)
    expect(verdict('max>=99ms')).toBe(true)
    expect(verdict('errors<1%')).toBe(true)
    expect(verdict('errors<0.5%')).toBe(false)
    expect(verdict('errors<=10')).toBe(true)
    expect(verdict('rate>500')).toBe(true)
    expect(verdict('rate>506')).toBe(false)
  })
})
