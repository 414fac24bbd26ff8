import type * as zmq from 'zeromq'

/** A peer's key: its ZeroMQ routing id (the first routing part) as a latin1 string. */
export function peerKey(id: Uint8Array): string {
  return Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1')
}

interface Parked {
  messages: Uint8Array[][]
  bytes: number
}

/** What {@link ParkedReplies.retry} reports for each message it gives up. */
export type GiveUp = (parts: Uint8Array[], err: unknown) => void

/**
 * Replies (ROUTER sends) for peers whose libzmq pipe is full, kept in order and bounded in bytes per peer.
 *
 * The ROUTER sends with a zero timeout, so a peer that has not drained its pipe answers EAGAIN at once and the
 * one writer every peer shares never stalls on it. libzmq's pipe is bounded in messages (its high-water mark,
 * derived from bytes and so small for large `maxMessageBytes`), and a burst of replies to a peer that does
 * read can outrun it: such replies wait here and are retried on a short timer. Past `maxPeerQueueBytes` for
 * one peer, the peer is taken as not reading and what does not fit is dropped (the caller counts it).
 */
export class ParkedReplies {
  readonly #byPeer = new Map<string, Parked>()
  readonly #maxPeerBytes: number
  #bytes = 0

  constructor(maxPeerBytes: number) {
    this.#maxPeerBytes = maxPeerBytes
  }

  /** Peers with replies waiting. */
  get size(): number {
    return this.#byPeer.size
  }

  /** Bytes of frames waiting, all peers. */
  get bytes(): number {
    return this.#bytes
  }

  /** True when replies to this peer are waiting (a new one must queue behind them, in order). */
  has(key: string): boolean {
    return this.#byPeer.has(key)
  }

  /** Queues a message for a peer; false when it does not fit the peer's byte budget (nothing is kept). */
  park(key: string, parts: Uint8Array[]): boolean {
    const bytes = parts[parts.length - 1].byteLength
    let parked = this.#byPeer.get(key)
    // One message always fits, whatever its size (up to maxMessageBytes), or a large reply could never leave.
    if (parked !== undefined && parked.bytes + bytes > this.#maxPeerBytes) return false
    if (parked === undefined) {
      parked = { messages: [], bytes: 0 }
      this.#byPeer.set(key, parked)
    }
    parked.messages.push(parts)
    parked.bytes += bytes
    this.#bytes += bytes
    return true
  }

  /**
   * Sends what the pipes now take, in order per peer; stops at a peer's first EAGAIN. A peer that is gone
   * (EHOSTUNREACH) or any other failure gives up that peer's messages through `giveUp`.
   */
  async retry(socket: zmq.Router, giveUp: GiveUp): Promise<void> {
    for (const [key, parked] of this.#byPeer) {
      while (parked.messages.length > 0) {
        const parts = parked.messages[0]
        try {
          await socket.send(parts)
        } catch (err) {
          if ((err as { code?: string }).code === 'EAGAIN' && !socket.closed) break
          for (const m of parked.messages) giveUp(m, err)
          this.#bytes -= parked.bytes
          parked.messages.length = 0
          parked.bytes = 0
          break
        }
        parked.messages.shift()
        const bytes = parts[parts.length - 1].byteLength
        parked.bytes -= bytes
        this.#bytes -= bytes
      }
      if (parked.messages.length === 0) this.#byPeer.delete(key)
    }
  }

  /** Drops everything; returns the messages dropped, for counting. */
  clear(): Uint8Array[][] {
    const all: Uint8Array[][] = []
    for (const parked of this.#byPeer.values()) all.push(...parked.messages)
    this.#byPeer.clear()
    this.#bytes = 0
    return all
  }
}
