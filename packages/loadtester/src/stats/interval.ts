import { addCounters, type Counters, emptyCounters } from './counters.js'
import { createHistogram, decodeHistogram, encodeHistogram, type Histogram } from './histogram.js'

/** The counters and histograms of one request name in one interval. */
export interface NameInterval {
  counters: Counters
  /** Latency from the intended send time (coordinated-omission corrected), encoded with `encodeHistogram`. */
  latency: string
  /** Service time from the actual send, encoded with `encodeHistogram`. */
  service: string
}

/**
 * What an engine reports every interval (1 s by default): a **delta**, the samples and counts of that interval
 * only. Deltas from many engines (agents) and many intervals merge exactly with {@link mergeIntervals} or a
 * {@link StatsAccumulator}: the merged percentiles equal those of one histogram of all samples.
 * Plain JSON, so it can cross a process or a network as is.
 */
export interface IntervalStats {
  /** Index of the interval from the run's start (0 = the first `intervalMs`). */
  index: number
  /** Wall-clock start of the interval, epoch ms. */
  startMs: number
  /** Length of the interval in ms (the last one may be shorter). */
  durationMs: number
  /** Counts of every name together. */
  counters: Counters
  /** Latency from the intended send time, all names. */
  latency: string
  /** Service time from the actual send, all names. */
  service: string
  /** Schedule lag (actual send − intended send, µs), open model only; `''` when empty. */
  lag: string
  /** Per request name. */
  names: Record<string, NameInterval>
}

/** The totals of one request name. */
export class NameHistograms {
  readonly counters: Counters = emptyCounters()
  readonly latency: Histogram = createHistogram()
  readonly service: Histogram = createHistogram()

  add(n: NameInterval): void {
    addCounters(this.counters, n.counters)
    if (n.latency !== '') this.latency.add(decodeHistogram(n.latency))
    if (n.service !== '') this.service.add(decodeHistogram(n.service))
  }

  encode(): NameInterval {
    return {
      counters: structuredClone(this.counters),
      latency: encodeHistogram(this.latency),
      service: encodeHistogram(this.service),
    }
  }
}

/**
 * Merges interval deltas into live histograms and counters: the totals of a run, of several agents, or of one
 * second across agents. Adding is exact (same histogram shape everywhere), so the order does not matter.
 *
 * @example
 * ```ts
 * const total = new StatsAccumulator()
 * engine.events.on('engine:interval', (delta) => total.add(delta))
 * total.latency.getValueAtPercentile(99) // µs
 * ```
 */
export class StatsAccumulator {
  readonly counters: Counters = emptyCounters()
  readonly latency: Histogram = createHistogram()
  readonly service: Histogram = createHistogram()
  readonly lag: Histogram = createHistogram()
  readonly names = new Map<string, NameHistograms>()
  /** Earliest interval start seen, epoch ms (`Infinity` before any). */
  startMs = Number.POSITIVE_INFINITY
  /** Latest interval end seen, epoch ms (0 before any). */
  endMs = 0

  /** Adds one interval delta. */
  add(delta: IntervalStats): this {
    addCounters(this.counters, delta.counters)
    if (delta.latency !== '') this.latency.add(decodeHistogram(delta.latency))
    if (delta.service !== '') this.service.add(decodeHistogram(delta.service))
    if (delta.lag !== '') this.lag.add(decodeHistogram(delta.lag))
    for (const [name, n] of Object.entries(delta.names)) {
      let h = this.names.get(name)
      if (h === undefined) this.names.set(name, (h = new NameHistograms()))
      h.add(n)
    }
    this.startMs = Math.min(this.startMs, delta.startMs)
    this.endMs = Math.max(this.endMs, delta.startMs + delta.durationMs)
    return this
  }

  /**
   * Adds live histograms and counters (an engine's own interval, before it resets them), sparing the
   * encode/decode round trip of {@link add}.
   */
  addLive(
    live: {
      counters: Counters
      latency: Histogram
      service: Histogram
      lag: Histogram
      names: Iterable<[string, { counters: Counters; latency: Histogram; service: Histogram }]>
    },
    startMs: number,
    durationMs: number,
  ): this {
    addCounters(this.counters, live.counters)
    if (live.latency.totalCount > 0) this.latency.add(live.latency)
    if (live.service.totalCount > 0) this.service.add(live.service)
    if (live.lag.totalCount > 0) this.lag.add(live.lag)
    for (const [name, n] of live.names) {
      let h = this.names.get(name)
      if (h === undefined) this.names.set(name, (h = new NameHistograms()))
      addCounters(h.counters, n.counters)
      if (n.latency.totalCount > 0) h.latency.add(n.latency)
      if (n.service.totalCount > 0) h.service.add(n.service)
    }
    this.startMs = Math.min(this.startMs, startMs)
    this.endMs = Math.max(this.endMs, startMs + durationMs)
    return this
  }

  /** The sum as one interval (index and start of the earliest added). */
  toInterval(index = 0): IntervalStats {
    const names: Record<string, NameInterval> = {}
    for (const [name, h] of this.names) names[name] = h.encode()
    const startMs = Number.isFinite(this.startMs) ? this.startMs : 0
    return {
      index,
      startMs,
      durationMs: Math.max(0, this.endMs - startMs),
      counters: structuredClone(this.counters),
      latency: encodeHistogram(this.latency),
      service: encodeHistogram(this.service),
      lag: encodeHistogram(this.lag),
      names,
    }
  }
}

/**
 * Merges interval deltas exactly: counters add, histograms add bucket by bucket. Use it for one second reported
 * by many agents (same `index`), or for a whole run. The result takes the smallest `index`.
 *
 * @example
 * ```ts
 * const second = mergeIntervals([fromAgentA, fromAgentB])
 * ```
 */
export function mergeIntervals(deltas: readonly IntervalStats[]): IntervalStats {
  const acc = new StatsAccumulator()
  let index = Number.POSITIVE_INFINITY
  for (const d of deltas) {
    acc.add(d)
    index = Math.min(index, d.index)
  }
  return acc.toInterval(Number.isFinite(index) ? index : 0)
}

/** An empty interval. */
export function emptyInterval(index: number, startMs: number, durationMs: number): IntervalStats {
  return {
    index,
    startMs,
    durationMs,
    counters: emptyCounters(),
    latency: '',
    service: '',
    lag: '',
    names: {},
  }
}
