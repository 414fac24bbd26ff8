/**
 * One stage of an open-model run: the arrival rate ramps linearly to `rate` (req/s) over `durationMs`,
 * starting from the previous stage's rate (the first from `startRate`, default 0), as k6's ramping arrival rate.
 */
export interface Stage {
  /** Arrival rate at the end of the stage, requests per second. */
  rate: number
  /** Length of the stage, ms. */
  durationMs: number
}

interface Segment {
  startMs: number
  durationMs: number
  /** Rate at the segment's start and end, requests per ms. */
  r0: number
  r1: number
  /** Arrivals in the whole segment: the integral of the rate. */
  total: number
}

/**
 * Intended send times of an open-model run, ms from its start. Arrival k (0-based) is sent when the integral
 * of the rate reaches u_k: u_k = k for evenly spaced arrivals, a running sum of exponential(1) draws for
 * Poisson arrivals, so both follow ramps exactly and never depend on how the server answers.
 */
export class ArrivalSchedule {
  readonly #segments: Segment[] = []
  readonly #poisson: boolean
  readonly #random: () => number
  #segment = 0
  /** Position in "arrival space" within the current segment. */
  #u = 0
  /** Total scheduled length, ms. */
  readonly durationMs: number
  /** Arrivals the schedule calls for in total (exact for evenly spaced arrivals, expected for Poisson). */
  readonly expectedCount: number

  constructor(stages: readonly Stage[], startRate: number, poisson: boolean, random: () => number) {
    let at = 0
    let previous = startRate / 1000
    let total = 0
    for (const s of stages) {
      const r1 = s.rate / 1000
      const seg = {
        startMs: at,
        durationMs: s.durationMs,
        r0: previous,
        r1,
        total: ((previous + r1) / 2) * s.durationMs,
      }
      this.#segments.push(seg)
      total += seg.total
      at += s.durationMs
      previous = r1
    }
    this.durationMs = at
    this.expectedCount = total
    this.#poisson = poisson
    this.#random = random
    // Evenly spaced: the first arrival is at u = 0 (t = 0 of a constant rate). Poisson: after a first draw.
    this.#u = poisson ? this.#draw() : 0
  }

  #draw(): number {
    return -Math.log(1 - this.#random())
  }

  /** The next intended send time (ms from the start), or `-1` when the schedule is over. */
  next(): number {
    while (this.#segment < this.#segments.length) {
      const seg = this.#segments[this.#segment] as Segment
      if (this.#u < seg.total) {
        const t = seg.startMs + timeAt(seg, this.#u)
        this.#u += this.#poisson ? this.#draw() : 1
        return t
      }
      this.#u -= seg.total
      this.#segment++
    }
    return -1
  }
}

/** Solves ∫₀ᵗ rate = u for t within a segment whose rate ramps linearly from r0 to r1. */
function timeAt(seg: Segment, u: number): number {
  const a = (seg.r1 - seg.r0) / (2 * seg.durationMs)
  const b = seg.r0
  if (Math.abs(a) < 1e-15) return u / b
  // a t² + b t − u = 0, the root within [0, duration].
  return (-b + Math.sqrt(b * b + 4 * a * u)) / (2 * a)
}
