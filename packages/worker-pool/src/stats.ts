/** Percentiles of a duration, in milliseconds, over the most recent samples. */
export interface Percentiles {
  p50: number
  p90: number
  p99: number
}

/** A snapshot of a pool's counters, from {@link Pool.stats}. */
export interface PoolStats {
  /** Tasks admitted to the pending queue, waiting for a free worker slot. */
  queued: number
  /** Tasks beyond `maxQueue`, waiting for admission to the pending queue (their `defer()` has not returned work yet). */
  waiting: number
  /** `defer(…, { wait: false })` calls refused with `DD_ERR_QUEUE_FULL`. */
  refused: number
  /** Tasks whose caller aborted them (queued or running), `DD_ERR_ABORTED`. */
  aborted: number
  /** Tasks whose `queueTimeoutMs` passed before a worker could run them (never started), `DD_ERR_TIMEOUT`. */
  expired: number
  /** Tasks dispatched to a worker and not settled. */
  inFlight: number
  /** Tasks that resolved. */
  completed: number
  /** Tasks that rejected, for any reason (thrown, timeout, abort, crash, destroy). */
  failed: number
  /** Dispatches of a task after the first (a worker died under it). */
  retried: number
  /** Workers ready to take tasks: threads and remote workers. */
  workers: number
  /** Free plus used slots over all ready workers. */
  slots: number
  /** Used slots over all slots, 0..1 (0 when there is no worker). */
  utilization: number
  /** Time from `defer()` to dispatch, recent tasks. */
  waitMs: Percentiles
  /** Time from dispatch to result, recent tasks. */
  runMs: Percentiles
  /** Frames from remote workers that could not be decoded or came from an unknown peer, dropped. */
  badFrames: number
  /** Peers refused at the handshake on `listen`: with `curve`, no keys, a wrong server key, a key not allowed. */
  workersRefused: number
}

const SAMPLES = 1024

/** Keeps the last 1024 samples of a duration in a ring; percentiles are computed when asked. */
export class Samples {
  readonly #ring = new Float64Array(SAMPLES)
  #count = 0

  add(ms: number): void {
    this.#ring[this.#count++ & (SAMPLES - 1)] = ms
  }

  percentiles(): Percentiles {
    const n = Math.min(this.#count, SAMPLES)
    if (n === 0) return { p50: 0, p90: 0, p99: 0 }
    const sorted = this.#ring.slice(0, n).sort()
    const at = (p: number) => sorted[Math.min(n - 1, Math.floor(n * p))]
    return { p50: at(0.5), p90: at(0.9), p99: at(0.99) }
  }
}
