import { type Counters, type ErrorKind, errorCount } from './counters.js'
import { decodeHistogram, type Histogram } from './histogram.js'
import type { IntervalStats } from './interval.js'

/** One point of a run's per-interval series, as reports and progress lines show it (latencies in µs). */
export interface SeriesPoint {
  index: number
  startMs: number
  durationMs: number
  sent: number
  responses: number
  /** Responses per second in this interval. */
  rate: number
  errors: number
  errorsByKind: Record<ErrorKind, number>
  notSent: number
  statuses: Record<string, number>
  /** Latency from the intended send: p50, p90, p99, p99.9, max (µs). */
  latency: { p50: number; p90: number; p99: number; p999: number; max: number }
  /** Service time from the actual send: p50, p99, max (µs). */
  service: { p50: number; p99: number; max: number }
  /** Schedule lag (actual − intended send), open model: p50, p99, max (µs). */
  lag: { p50: number; p99: number; max: number }
}

function pcts(h: Histogram | undefined, ps: readonly number[]): number[] {
  if (h === undefined || h.totalCount === 0) return ps.map(() => 0)
  return ps.map((p) => (p === 100 ? h.maxValue : h.getValueAtPercentile(p)))
}

const decoded = (encoded: string): Histogram | undefined =>
  encoded === '' ? undefined : decodeHistogram(encoded)

/** Summarises one interval delta (possibly merged from many engines) as a series point. */
export function seriesPoint(d: IntervalStats): SeriesPoint {
  return pointOf(
    d.index,
    d.startMs,
    d.durationMs,
    d.counters,
    decoded(d.latency),
    decoded(d.service),
    decoded(d.lag),
  )
}

/** A series point from live histograms (the engine's, before it resets them). */
export function pointOf(
  index: number,
  startMs: number,
  durationMs: number,
  c: Counters,
  latency: Histogram | undefined,
  service: Histogram | undefined,
  lag: Histogram | undefined,
): SeriesPoint {
  const [p50, p90, p99, p999, max] = pcts(latency, [50, 90, 99, 99.9, 100]) as [
    number,
    number,
    number,
    number,
    number,
  ]
  const [s50, s99, smax] = pcts(service, [50, 99, 100]) as [number, number, number]
  const [l50, l99, lmax] = pcts(lag, [50, 99, 100]) as [number, number, number]
  const d = { index, startMs, durationMs }
  return {
    index: d.index,
    startMs: d.startMs,
    durationMs: d.durationMs,
    sent: c.sent,
    responses: c.responses,
    rate: d.durationMs > 0 ? (c.responses * 1000) / d.durationMs : 0,
    errors: errorCount(c),
    errorsByKind: { ...c.errors },
    notSent: c.notSent,
    statuses: { ...c.statuses },
    latency: { p50, p90, p99, p999, max },
    service: { p50: s50, p99: s99, max: smax },
    lag: { p50: l50, p99: l99, max: lmax },
  }
}
