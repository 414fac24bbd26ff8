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
 * The bounded outbound queue of one socket. `admit()` takes an envelope while fewer than `capacity` wait;
 * past that the caller gets a promise that resolves, in order, when the writer has taken enough out
 * (backpressure). `to` is the routing of a `sendTo()` (ROUTER), kept beside each envelope.
 */
export class Outbox {
  readonly #capacity: number
  readonly envelopes = new Queue<Envelope>()
  readonly targets = new Queue<Routing | undefined>()
  readonly #waiters = new Queue<Waiter>()

  constructor(capacity: number) {
    this.#capacity = capacity
  }

  /** Envelopes queued, admitted or not. */
  get length(): number {
    return this.envelopes.length + this.#waiters.length
  }

  /** True when an envelope can be admitted at once. */
  hasRoom(): boolean {
    return this.#waiters.length === 0 && this.envelopes.length < this.#capacity
  }

  push(envelope: Envelope, to: Routing | undefined): void {
    this.envelopes.push(envelope)
    this.targets.push(to)
  }

  /** Queues a sender that waits for room. */
  wait(envelope: Envelope, to: Routing | undefined): Promise<void> {
    return new Promise((resolve, reject) => this.#waiters.push({ envelope, to, resolve, reject }))
  }

  /** Moves waiting senders into the queue while there is room, resolving their promises. */
  refill(): void {
    const waiters = this.#waiters
    while (waiters.length > 0 && this.envelopes.length < this.#capacity) {
      const w = waiters.shift()
      this.push(w.envelope, w.to)
      w.resolve()
    }
  }

  /** Drops everything; waiting senders reject with `err`. Returns how many envelopes were dropped. */
  clear(err: Error): number {
    let n = this.envelopes.clear()
    this.targets.clear()
    while (this.#waiters.length > 0) {
      this.#waiters.shift().reject(err)
      n++
    }
    return n
  }
}
