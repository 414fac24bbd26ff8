import type { Envelope } from '@dripdrop/codec'
import type { ZmqSocket } from './wire.js'

/** One ZeroMQ socket of a spreading route: one per `connect` address, plus one for its binds if any. */
export interface Lane {
  readonly socket: ZmqSocket
  /** The connect address, or `bind` for the socket that holds the binds. */
  address: string
  /** Live connections: 0 or 1 for a connect lane, any number for the bind lane. */
  peers: number
  /** Requests sent on this lane and not answered yet (`$id` sent, `$re` not back). */
  inflight: number
  /**
   * Estimated time one request takes there, in ms: a moving average of each reply's latency divided by the
   * requests that were in flight on the lane when it was sent (0 until the first reply).
   */
  serviceMs: number
}

interface Sent {
  lane: Lane
  at: number
  depth: number
}

// One request in this many goes to an idle lane whatever its estimate, so a lane that was slow once (a GC
// pause, a cold cache) is measured again instead of being starved for ever.
const PROBE_EVERY = 256

/**
 * Chooses, per envelope, which lane of a `req`, `dealer` or `push` route connected to several addresses
 * carries it. A request (`$id`) goes to the connected lane where it should be answered first: the fewest
 * requests in flight, weighted by the lane's measured time per request (`(inflight + 1) × serviceMs`), so a
 * peer 10x slower gets work only when the fast one has 10x more queued; before any reply, the fewest in
 * flight. Anything else goes round robin over the connected lanes. Envelopes chosen for the same lane in one
 * writer pass leave in one batch frame.
 */
export class Spreader {
  readonly lanes: Lane[] = []
  readonly #sent = new Map<unknown, Sent>()
  readonly #forgetAfterMs: number
  #next = 0
  #lastSweep = 0
  #picks = 0

  /** @param forgetAfterMs a request with no reply after this long is no longer counted in flight */
  constructor(forgetAfterMs: number) {
    this.#forgetAfterMs = forgetAfterMs
  }

  /** True when at least one lane has a live connection. */
  get anyUp(): boolean {
    for (const lane of this.lanes) if (lane.peers > 0) return true
    return false
  }

  /** The lane for one envelope; counts a request in flight on it. */
  pick(envelope: Envelope): Lane {
    const lanes = this.lanes
    const n = lanes.length
    // Lanes come and go at run time (route.connect/disconnect): the cursor may point past the end.
    const start = this.#next % n
    this.#next = (start + 1) % n
    const id = envelope.head.$id
    let best: Lane | undefined
    let bestCost = 0
    const probe = id !== undefined && ++this.#picks % PROBE_EVERY === 0
    for (let i = 0; i < n; i++) {
      const lane = lanes[(start + i) % n]
      if (lane.peers === 0) continue
      if (id === undefined || (probe && lane.inflight === 0)) {
        best = lane
        break
      }
      const cost = (lane.inflight + 1) * lane.serviceMs
      if (best === undefined || cost < bestCost || (cost === bestCost && lane.inflight < best.inflight)) {
        best = lane
        bestCost = cost
      }
    }
    best ??= lanes[start]
    if (id !== undefined) {
      const now = performance.now()
      if (now - this.#lastSweep > 1000) this.#sweep(now)
      const old = this.#sent.get(id)
      if (old !== undefined) old.lane.inflight--
      best.inflight++
      this.#sent.set(id, { lane: best, at: now, depth: best.inflight })
    }
    return best
  }

  /** A reply came back: its request is no longer in flight. */
  answered(re: unknown): void {
    const sent = this.#sent.get(re)
    if (sent === undefined) return
    this.#sent.delete(re)
    const lane = sent.lane
    lane.inflight--
    const sample = (performance.now() - sent.at) / sent.depth
    lane.serviceMs = lane.serviceMs === 0 ? sample : lane.serviceMs * 0.8 + sample * 0.2
  }

  /** A lane lost its connection: what was in flight on it will not be answered from there. */
  down(lane: Lane): void {
    lane.inflight = 0
    for (const [id, sent] of this.#sent) if (sent.lane === lane) this.#sent.delete(id)
  }

  // Requests that timed out are never answered: stop counting them after a while.
  #sweep(now: number): void {
    this.#lastSweep = now
    for (const [id, sent] of this.#sent) {
      if (now - sent.at < this.#forgetAfterMs) break
      this.#sent.delete(id)
      sent.lane.inflight--
    }
  }
}
