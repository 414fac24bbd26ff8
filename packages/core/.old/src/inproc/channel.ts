import type { InprocSocket } from './inproc-socket.js'

/**
 * The meeting point of every socket on one `inproc://` address. Sockets join by role; either side may
 * bind or connect, and in either order, as with ZeroMQ's inproc transport.
 */
export class InprocChannel {
  readonly address: string
  /** The socket that bound the address, if any. */
  binder: InprocSocket | undefined
  readonly pullers: InprocSocket[] = []
  readonly subscribers: InprocSocket[] = []
  readonly responders: InprocSocket[] = []
  /** Senders whose head-of-line envelope waits for room in a receiver. */
  readonly blocked = new Set<InprocSocket>()
  #members = 0
  #next = 0

  constructor(address: string) {
    this.address = address
  }

  join(socket: InprocSocket, list: InprocSocket[] | undefined): void {
    this.#members++
    if (list) {
      list.push(socket)
      this.wake()
    }
  }

  leave(socket: InprocSocket, list: InprocSocket[] | undefined): void {
    this.#members--
    if (this.binder === socket) this.binder = undefined
    this.blocked.delete(socket)
    if (list) {
      const at = list.indexOf(socket)
      if (at >= 0) list.splice(at, 1)
    }
    if (this.#members === 0) channels.delete(this.address)
  }

  /** Round-robin over `list` for a receiver with room; undefined when all are full (or there are none). */
  pick(list: InprocSocket[]): InprocSocket | undefined {
    const n = list.length
    for (let i = 0; i < n; i++) {
      const s = list[(this.#next + i) % n]
      if (s.hasRoom()) {
        this.#next = (this.#next + i + 1) % n
        return s
      }
    }
    return undefined
  }

  /** Room appeared somewhere: let blocked senders retry, oldest first. */
  wake(): void {
    if (this.blocked.size === 0) return
    for (const s of [...this.blocked]) s.flush()
  }
}

const channels = new Map<string, InprocChannel>()

/** The channel of an address, created on first use and forgotten when its last socket leaves. */
export function channelOf(address: string): InprocChannel {
  let channel = channels.get(address)
  if (channel === undefined) {
    channel = new InprocChannel(address)
    channels.set(address, channel)
  }
  return channel
}
