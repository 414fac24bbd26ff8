import type { Envelope } from '@dripdrop/codec'
import { Queue } from '@dripdrop/core/internal'
import type { Routing } from './wire.js'

interface Waiter {
  envelope: Envelope
  to: Routing | undefined
  resolve: () => void
  reject: (err: Error) => void
}

/**
 * About how many bytes an envelope will take once encoded, without encoding it and without allocating: the
 * name, and a body that is bytes or a string, or an object or array of them one level deep (other values
 * count a few bytes each). Large payloads are bytes or strings in practice; this is what the byte bound sees.
 */
export function estimateBytes(envelope: Envelope): number {
  return 16 + envelope.name.length + bodyBytes(envelope.body, 1)
}

function bodyBytes(value: unknown, depth: number): number {
  if (typeof value === 'string') return value.length
  if (value instanceof Uint8Array) return value.byteLength
  if (value === null || typeof value !== 'object' || depth === 0) return 9
  let n = 1
  let seen = 0
  for (const key in value) {
    n += key.length + bodyBytes((value as Record<string, unknown>)[key], depth - 1)
    if (++seen >= 64) break
  }
  return n
}

/**
 * The bounded outbound queue of one socket. An envelope is admitted while fewer than `capacity` wait and
 * their estimated size ({@link estimateBytes}) is under `maxBytes` (one is always admitted); past that the
 * caller gets a promise that resolves, in order, when the writer has taken enough out (backpressure). `to`
 * is the routing of a `sendTo()` (ROUTER), kept beside each envelope.
 */
export class Outbox {
  readonly #capacity: number
  readonly #maxBytes: number
  readonly envelopes = new Queue<Envelope>()
  readonly targets = new Queue<Routing | undefined>()
  readonly #sizes = new Queue<number>()
  readonly #waiters = new Queue<Waiter>()
  /** Estimated bytes of the envelopes admitted and not taken yet. */
  bytes = 0

  constructor(capacity: number, maxBytes = Number.POSITIVE_INFINITY) {
    this.#capacity = capacity
    this.#maxBytes = maxBytes
  }

  /** Envelopes queued, admitted or not. */
  get length(): number {
    return this.envelopes.length + this.#waiters.length
  }

  /** True when an envelope can be admitted at once. */
  hasRoom(): boolean {
    return this.#waiters.length === 0 && this.#fits()
  }

  #fits(): boolean {
    return this.envelopes.length < this.#capacity && (this.bytes < this.#maxBytes || this.bytes === 0)
  }

  push(envelope: Envelope, to: Routing | undefined): void {
    const size = estimateBytes(envelope)
    this.envelopes.push(envelope)
    this.targets.push(to)
    this.#sizes.push(size)
    this.bytes += size
  }

  /** Takes the next envelope out (its target is dropped: read `targets.peek()` first). */
  take(): Envelope {
    this.targets.shift()
    this.bytes -= this.#sizes.shift()
    return this.envelopes.shift()
  }

  /** Queues a sender that waits for room. */
  wait(envelope: Envelope, to: Routing | undefined): Promise<void> {
    return new Promise((resolve, reject) => this.#waiters.push({ envelope, to, resolve, reject }))
  }

  /** Moves waiting senders into the queue while there is room, resolving their promises. */
  refill(): void {
    const waiters = this.#waiters
    while (waiters.length > 0 && this.#fits()) {
      const w = waiters.shift()
      this.push(w.envelope, w.to)
      w.resolve()
    }
  }

  /** Drops everything; waiting senders reject with `err`. Returns how many envelopes were dropped. */
  clear(err: Error): number {
    let n = this.envelopes.clear()
    this.targets.clear()
    this.#sizes.clear()
    this.bytes = 0
    while (this.#waiters.length > 0) {
      this.#waiters.shift().reject(err)
      n++
    }
    return n
  }
}
