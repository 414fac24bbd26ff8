import type { RunResult } from '../engine/load-engine.js'
import { type Counters, errorCount } from '../stats/counters.js'
import { type LatencySummary, summarize } from '../stats/histogram.js'
import type { StatsAccumulator } from '../stats/interval.js'
import type { SeriesPoint } from '../stats/series.js'

/** Stats of one request name in a report. */
export interface NameReport {
  counters: Counters
  /** Responses per second over the run. */
  rate: number
  /** Failed requests / (responses + failed), 0..1. */
  errorRate: number
  latency: LatencySummary
  service: LatencySummary
}

/** What the run was asked to do, echoed in the report. */
export interface RunSettings {
  model: 'open' | 'closed'
  target?: string
  scenario?: string
  rate?: number
  stages?: readonly { rate: number; durationMs: number }[]
  connections?: number
  pipelining?: number
  arrivals?: string
  /** Number of engines (agents) that ran shares of the test. @default 1 */
  agents?: number
}

/**
 * The JSON report of a run (`--json`, `--report x.json`): every percentile (µs), the per-interval series, the
 * per-name stats. `version` changes when a field changes meaning.
 */
export interface Report {
  version: 1
  /** ISO time of the run's start. */
  startedAt: string
  /** Scheduled length, ms. */
  durationMs: number
  settings: RunSettings
  counters: Counters
  /** Failed requests of every kind. */
  errors: number
  /** errors / (responses + errors), 0..1. */
  errorRate: number
  /** Responses per second over the scheduled length. */
  rate: number
  /** Requests sent per second over the scheduled length. */
  sendRate: number
  /** Latency from the intended send time (coordinated-omission corrected), µs. */
  latency: LatencySummary
  /** Service time from the actual send, µs. */
  service: LatencySummary
  /** Schedule lag (actual − intended send), µs; open model. */
  lag: LatencySummary
  /** Requests abandoned at the end (drain ran out of time, or destroyed). */
  abandoned: number
  names: Record<string, NameReport>
  series: SeriesPoint[]
}

function errorRate(c: Counters): number {
  const e = errorCount(c)
  return e + c.responses === 0 ? 0 : e / (e + c.responses)
}

/** Builds the report from merged totals and the per-interval series (an engine's, or merged from agents). */
export function buildReport(
  totals: StatsAccumulator,
  series: readonly SeriesPoint[],
  info: { startMs: number; durationMs: number; settings: RunSettings; abandoned?: number },
): Report {
  const secs = info.durationMs / 1000
  const names: Record<string, NameReport> = {}
  for (const [name, h] of [...totals.names].sort(([a], [b]) => a.localeCompare(b))) {
    names[name] = {
      counters: h.counters,
      rate: secs > 0 ? h.counters.responses / secs : 0,
      errorRate: errorRate(h.counters),
      latency: summarize(h.latency),
      service: summarize(h.service),
    }
  }
  return {
    version: 1,
    startedAt: new Date(info.startMs).toISOString(),
    durationMs: info.durationMs,
    settings: info.settings,
    counters: totals.counters,
    errors: errorCount(totals.counters),
    errorRate: errorRate(totals.counters),
    rate: secs > 0 ? totals.counters.responses / secs : 0,
    sendRate: secs > 0 ? totals.counters.sent / secs : 0,
    latency: summarize(totals.latency),
    service: summarize(totals.service),
    lag: summarize(totals.lag),
    abandoned: info.abandoned ?? 0,
    names,
    series: [...series],
  }
}

/** The report of one engine's run. */
export function reportOf(result: RunResult, settings: RunSettings): Report {
  return buildReport(result.totals, result.series, {
    startMs: result.startMs,
    durationMs: result.durationMs,
    settings,
    abandoned: result.abandoned,
  })
}
