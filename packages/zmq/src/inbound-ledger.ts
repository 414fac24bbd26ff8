import { deferred, type Deferred } from '@dripdrop/core/internal'

/** What {@link InboundLedger.admit} decided. */
export type Admission = 'ok' | 'peer-full' | 'route-full'

/**
 * The bytes of requests a `rep`/`router` route has handed to its handlers and not answered yet, per peer and
 * for the route. A request is admitted while its peer holds less than `maxPeerBytes` and the route less than
 * `maxRouteBytes`; it is released when its reply (`$re`) is sent or when the route drops it unanswered
 * (expired). One request is always admitted when nothing is held, whatever its size.
 */
export class InboundLedger {
  readonly #maxRouteBytes: number
  readonly #maxPeerBytes: number
  readonly #peers = new Map<string, { bytes: number; ids: Map<unknown, number> }>()
  #bytes = 0
  #room: Deferred | undefined

  constructor(maxRouteBytes: number, maxPeerBytes: number) {
    this.#maxRouteBytes = maxRouteBytes
    this.#maxPeerBytes = maxPeerBytes
  }

  /** Bytes held, all peers. */
  get bytes(): number {
    return this.#bytes
  }

  admit(peer: string, id: unknown, bytes: number): Admission {
    let entry = this.#peers.get(peer)
    if (entry !== undefined && entry.bytes + bytes > this.#maxPeerBytes) return 'peer-full'
    if (this.#bytes > 0 && this.#bytes + bytes > this.#maxRouteBytes) return 'route-full'
    if (entry === undefined) {
      entry = { bytes: 0, ids: new Map() }
      this.#peers.set(peer, entry)
    }
    entry.ids.set(id, (entry.ids.get(id) ?? 0) + bytes)
    entry.bytes += bytes
    this.#bytes += bytes
    return 'ok'
  }

  release(peer: string, id: unknown): void {
    const entry = this.#peers.get(peer)
    const bytes = entry?.ids.get(id)
    if (entry === undefined || bytes === undefined) return
    entry.ids.delete(id)
    entry.bytes -= bytes
    this.#bytes -= bytes
    if (entry.ids.size === 0) this.#peers.delete(peer)
    if (this.#room !== undefined) {
      const room = this.#room
      this.#room = undefined
      room.resolve()
    }
  }

  /** Resolves at the next release (the route budget may have room again). */
  whenReleased(): Promise<void> {
    this.#room ??= deferred()
    return this.#room.promise
  }

  /** Forgets everything and wakes a waiting reader (the socket is closing). */
  clear(): void {
    this.#peers.clear()
    this.#bytes = 0
    this.#room?.resolve()
    this.#room = undefined
  }
}
