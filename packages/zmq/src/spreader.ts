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
}

interface Sent {
  lane: Lane
  at: number
}

/**
 * Chooses, per envelope, which lane of a `req`, `dealer` or `push` route connected to several addresses
 * carries it. A request (`$id`) goes to the connected lane with the fewest requests in flight, as the
 * worker pool does with credit, so a slow peer gets less work; anything else goes round robin over the
 * connected lanes. Envelopes chosen for the same lane in one writer pass leave in one batch frame.
 */
export class Spreader {
  readonly lanes: Lane[] = []
  readonly #sent = new Map<unknown, Sent>()
  readonly #forgetAfterMs: number
  #next = 0
  #lastSweep = 0

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
    const start = this.#next
    this.#next = (start + 1) % n
    const id = envelope.head.$id
    let best: Lane | undefined
    for (let i = 0; i < n; i++) {
      const lane = lanes[(start + i) % n]
      if (lane.peers === 0) continue
      if (id === undefined) {
        best = lane
        break
      }
      if (best === undefined || lane.inflight < best.inflight) best = lane
    }
    best ??= lanes[start]
    if (id !== undefined) {
      const now = performance.now()
      if (now - this.#lastSweep > 1000) this.#sweep(now)
      const old = this.#sent.get(id)
      if (old !== undefined) old.lane.inflight--
      this.#sent.set(id, { lane: best, at: now })
      best.inflight++
    }
    return best
  }

  /** A reply came back: its request is no longer in flight. */
  answered(re: unknown): void {
    const sent = this.#sent.get(re)
    if (sent === undefined) return
    this.#sent.delete(re)
    sent.lane.inflight--
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
