import { type Counters, type ErrorKind, emptyCounters, errorCount } from '../stats/counters.js'
import { createHistogram, encodeHistogram, type Histogram } from '../stats/histogram.js'
import type { IntervalStats, NameInterval } from '../stats/interval.js'

class Slot {
  counters: Counters = emptyCounters()
  readonly latency: Histogram = createHistogram()
  readonly service: Histogram = createHistogram()

  flush(): NameInterval {
    const out = {
      counters: this.counters,
      latency: encodeHistogram(this.latency),
      service: encodeHistogram(this.service),
    }
    this.counters = emptyCounters()
    this.latency.reset()
    this.service.reset()
    return out
  }
}

function record(slot: Slot, status: number, latencyUs: number, serviceUs: number, bytes: number): void {
  const c = slot.counters
  c.responses++
  c.bytes += bytes
  c.statuses[status] = (c.statuses[status] ?? 0) + 1
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

  /** The interval so far as a delta; the recorder starts the next interval empty. */
  flush(index: number, startMs: number, durationMs: number): IntervalStats {
    const all = this.#all.flush()
    const names: Record<string, NameInterval> = {}
    for (const [name, slot] of this.#names) {
      const n = slot.flush()
      // A name idle for the whole interval is left out of the delta (it merges as zeros anyway).
      if (n.counters.sent + n.counters.responses + n.counters.notSent + errorCount(n.counters) > 0)
        names[name] = n
    }
    const lag = encodeHistogram(this.#lag)
    this.#lag.reset()
    return {
      index,
      startMs,
      durationMs,
      counters: all.counters,
      latency: all.latency,
      service: all.service,
      lag,
      names,
    }
  }
}
