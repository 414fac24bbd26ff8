import { ThresholdError } from '../errors.js'
import type { Report } from './report.js'

/** A parsed threshold: `metric op value`, with the value in the metric's unit (µs, req/s, 0..1 or a count). */
export interface Threshold {
  expression: string
  metric: string
  op: '<' | '<=' | '>' | '>='
  value: number
}

/** A threshold checked against a report. */
export interface ThresholdResult {
  threshold: Threshold
  /** The measured value, in the metric's unit. */
  actual: number
  ok: boolean
}

const EXPR = /^\s*([a-z][a-z0-9.]*)\s*(<=|>=|<|>)\s*([0-9]*\.?[0-9]+)\s*(us|µs|ms|s|%)?\s*$/i

/**
 * Parses a threshold. Metrics: `p50`, `p99`, `p99.9` (any percentile), `max`, `mean` of the latency from the
 * intended send; the same prefixed `service.` for the service time (`service.p99<20ms`); `errors` (a
 * rate with `%`, else a count); `rate` (responses/s); `notSent` (a count, or a rate of scheduled with `%`).
 * Latency values need a unit: `us`, `ms` or `s`.
 *
 * @example
 * ```ts
 * parseThreshold('p99<50ms') // { metric: 'p99', op: '<', value: 50000 }
 * parseThreshold('errors<0.1%') // { metric: 'errors%', op: '<', value: 0.001 }
 * ```
 */
export function parseThreshold(expression: string): Threshold {
  const m = EXPR.exec(expression)
  if (m === null)
    throw new ThresholdError(
      expression,
      'expected <metric><op><value>, e.g. p99<50ms, errors<0.1%, rate>4900',
    )
  const [, rawMetric, op, rawValue, unit] = m as unknown as [
    string,
    string,
    Threshold['op'],
    string,
    string | undefined,
  ]
  let metric = rawMetric.toLowerCase()
  const value = Number(rawValue)
  const latency = /^(service\.)?(p\d+(\.\d+)?|max|mean|min)$/.test(metric)
  if (latency) {
    const p = /p(\d+(\.\d+)?)$/.exec(metric)
    if (p !== null && !(Number(p[1]) > 0 && Number(p[1]) <= 100))
      throw new ThresholdError(expression, 'a percentile must be in (0, 100]')
    if (unit === undefined || unit === '%')
      throw new ThresholdError(expression, 'a latency needs a unit: us, ms or s')
    const scale = unit === 's' ? 1_000_000 : unit === 'ms' ? 1000 : 1
    return { expression, metric, op, value: value * scale }
  }
  if (metric === 'errors' || metric === 'notsent') {
    if (metric === 'notsent') metric = 'notSent'
    if (unit === '%') return { expression, metric: `${metric}%`, op, value: value / 100 }
    if (unit !== undefined) throw new ThresholdError(expression, `${metric} takes a count or a percentage`)
    return { expression, metric, op, value }
  }
  if (metric === 'rate') {
    if (unit !== undefined)
      throw new ThresholdError(expression, 'rate is in responses per second, without a unit')
    return { expression, metric, op, value }
  }
  throw new ThresholdError(
    expression,
    `unknown metric "${rawMetric}" (p50, p99, p99.9, max, mean, service.p99, errors, rate, notSent)`,
  )
}

/** The measured value of a threshold's metric in a report. */
export function metricValue(report: Report, metric: string): number {
  const service = metric.startsWith('service.')
  const m = service ? metric.slice('service.'.length) : metric
  const lat = service ? report.service : report.latency
  if (m === 'max') return lat.max
  if (m === 'min') return lat.min
  if (m === 'mean') return lat.mean
  if (m.startsWith('p')) {
    const p = m.slice(1)
    return lat.percentiles[p] ?? Number.NaN
  }
  if (metric === 'errors') return report.errors
  if (metric === 'errors%') return report.errorRate
  if (metric === 'rate') return report.rate
  if (metric === 'notSent') return report.counters.notSent
  if (metric === 'notSent%') {
    const scheduled = report.counters.sent + report.counters.notSent
    return scheduled === 0 ? 0 : report.counters.notSent / scheduled
  }
  return Number.NaN
}

/**
 * Checks thresholds against a report. A percentile not among the report's (`p42`) is computed when `histogram`
 * lookups are given, else it fails as NaN; use the standard ones (p50 p75 p90 p95 p99 p99.9 p99.99).
 */
export function checkThresholds(
  report: Report,
  thresholds: readonly Threshold[],
  percentile?: (metric: 'latency' | 'service', p: number) => number,
): ThresholdResult[] {
  return thresholds.map((t) => {
    let actual = metricValue(report, t.metric)
    if (Number.isNaN(actual) && percentile !== undefined) {
      const p = /^(service\.)?p(\d+(\.\d+)?)$/.exec(t.metric)
      if (p !== null) actual = percentile(p[1] === undefined ? 'latency' : 'service', Number(p[2]))
    }
    const ok =
      !Number.isNaN(actual) &&
      (t.op === '<'
        ? actual < t.value
        : t.op === '<='
          ? actual <= t.value
          : t.op === '>'
            ? actual > t.value
            : actual >= t.value)
    return { threshold: t, actual, ok }
  })
}
