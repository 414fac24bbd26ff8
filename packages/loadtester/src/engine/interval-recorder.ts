import { type Counters, type ErrorKind, emptyCounters, errorCount } from '../stats/counters.js'
import { createHistogram, encodeHistogram, type Histogram } from '../stats/histogram.js'
import type { IntervalStats, NameInterval, StatsAccumulator } from '../stats/interval.js'
import { pointOf, type SeriesPoint } from '../stats/series.js'

class Slot {
  counters: Counters = emptyCounters()
  readonly latency: Histogram = createHistogram()
  readonly service: Histogram = createHistogram()
  /** Responses by status 0..599 on the hot path (a typed-array increment, no string keys); see settle(). */
  readonly statusCounts = new Uint32Array(600)

  /** Moves the status counts into `counters.statuses`; called before the counters are read. */
  settle(): void {
    const counts = this.statusCounts
    for (let status = 0; status < counts.length; status++) {
      const n = counts[status] as number
      if (n > 0) {
        this.counters.statuses[status] = (this.counters.statuses[status] ?? 0) + n
        counts[status] = 0
      }
    }
  }

  flush(): NameInterval {
    return {
      counters: structuredClone(this.counters),
      latency: encodeHistogram(this.latency),
      service: encodeHistogram(this.service),
    }
  }

  reset(): void {
    this.statusCounts.fill(0)
    this.counters = emptyCounters()
    this.latency.reset()
    this.service.reset()
  }
}

function record(slot: Slot, status: number, latencyUs: number, serviceUs: number, bytes: number): void {
  const c = slot.counters
  c.responses++
  c.bytes += bytes
  if (status >= 0 && status < 600) slot.statusCounts[status]++
  else c.statuses[status] = (c.statuses[status] ?? 0) + 1
  slot.latency.recordValue(latencyUs)
  slot.service.recordValue(serviceUs)
}

/**
 * Records the current interval's samples (overall and per name) in live histograms, and hands them out as an
 * {@link IntervalStats} delta on `flush()`, which starts the next interval empty. Memory is flat: a few
 * histograms per name, no sample arrays.
 */
export class IntervalRecorder {
  readonly #all = new Slot()
  readonly #lag: Histogram = createHistogram()
  readonly #names = new Map<string, Slot>()

  #slot(name: string): Slot {
    let s = this.#names.get(name)
    if (s === undefined) this.#names.set(name, (s = new Slot()))
    return s
  }

  /** A request was handed to a connection. */
  sent(name: string): void {
    this.#all.counters.sent++
    this.#slot(name).counters.sent++
  }

  /** Schedule lag of one request: actual − intended send time (µs), open model. */
  lag(lagUs: number): void {
    this.#lag.recordValue(lagUs)
  }

  /** A response arrived: latency from the intended send, service time from the actual send (µs). */
  response(name: string, status: number, latencyUs: number, serviceUs: number, bytes: number): void {
    record(this.#all, status, latencyUs, serviceUs, bytes)
    record(this.#slot(name), status, latencyUs, serviceUs, bytes)
  }

  /** A request failed without a response. */
  error(name: string, kind: ErrorKind): void {
    this.#all.counters.errors[kind]++
    this.#slot(name).counters.errors[kind]++
  }

  /** A scheduled request was never sent. */
  notSent(name: string, count = 1): void {
    this.#all.counters.notSent += count
    this.#slot(name).counters.notSent += count
  }

  /**
   * Ends the interval: adds it to `totals` (live histograms, no encoding), summarises it as a series point,
   * and encodes it as an {@link IntervalStats} delta only when `encode` (someone listens for deltas). The
   * recorder then starts the next interval empty.
   */
  flush(
    index: number,
    startMs: number,
    durationMs: number,
    totals: StatsAccumulator,
    encode: boolean,
  ): { point: SeriesPoint; delta: IntervalStats | undefined } {
    const all = this.#all
    all.settle()
    for (const [, slot] of this.#names) slot.settle()
    const active = [...this.#names].filter(
      ([, n]) => n.counters.sent + n.counters.responses + n.counters.notSent + errorCount(n.counters) > 0,
    )
    totals.addLive(
      { counters: all.counters, latency: all.latency, service: all.service, lag: this.#lag, names: active },
      startMs,
      durationMs,
    )
    const point = pointOf(index, startMs, durationMs, all.counters, all.latency, all.service, this.#lag)
    let delta: IntervalStats | undefined
    if (encode) {
      // A name idle for the whole interval is left out of the delta (it merges as zeros anyway).
      const names: Record<string, NameInterval> = {}
      for (const [name, slot] of active) names[name] = slot.flush()
      const a = all.flush()
      delta = {
        index,
        startMs,
        durationMs,
        counters: a.counters,
        latency: a.latency,
        service: a.service,
        lag: encodeHistogram(this.#lag),
        names,
      }
    }
    all.reset()
    for (const [, slot] of this.#names) slot.reset()
    this.#lag.reset()
    return { point, delta }
  }
}
