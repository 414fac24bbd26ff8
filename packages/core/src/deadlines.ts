/**
 * Deadlines for many pending operations with one timer. Most callers use a few distinct timeouts, so
 * entries are kept in one FIFO per timeout value: within a FIFO deadlines are in order, and the timer only
 * ever needs the head of each FIFO. Adding is O(1) amortized, and settled entries at the head are dropped as
 * new ones come in, so a steady stream of fast requests keeps the FIFOs short. The timer is armed for the
 * earliest live deadline only and is not re-armed once nothing is live; `clear()` (a route's close) stops it. A timer per request costs
 * about a microsecond to arm and clear, which this keeps off the request hot path.
 */
// Date.now(), not performance.now(): it is read once per request and costs a third as much. A wall-clock
// step can make a timeout fire early or late once; timeouts are coarse limits, not measurements.
export class Deadlines<T> {
  readonly #queues = new Map<number, Fifo<T>>()
  readonly #onExpire: (item: T) => void
  readonly #isLive: (item: T) => boolean
  #timer: NodeJS.Timeout | undefined
  #timerAt = Number.POSITIVE_INFINITY

  /**
   * @param isLive false once an item settled some other way; such items are skipped, never expired.
   * @param onExpire runs for an item still live at its deadline.
   */
  constructor(isLive: (item: T) => boolean, onExpire: (item: T) => void) {
    this.#isLive = isLive
    this.#onExpire = onExpire
  }

  /**
   * Tracks `item`; `onExpire(item)` runs after `timeoutMs` unless it settled first. `now` saves a clock
   * read when the caller has just made one.
   */
  add(item: T, timeoutMs: number, now = Date.now()): void {
    const at = now + timeoutMs
    let q = this.#queues.get(timeoutMs)
    if (q === undefined) {
      q = { items: [], ats: [], head: 0 }
      this.#queues.set(timeoutMs, q)
    }
    this.#skipSettled(q)
    q.items.push(item)
    q.ats.push(at)
    if (at < this.#timerAt) this.#arm(at)
  }

  /** Entries still tracked, settled ones not yet swept included. */
  get size(): number {
    let n = 0
    for (const q of this.#queues.values()) n += q.items.length - q.head
    return n
  }

  /** Stops the timer and forgets every entry. */
  clear(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
    this.#queues.clear()
  }

  #skipSettled(q: Fifo<T>): void {
    while (q.head < q.items.length && !this.#isLive(q.items[q.head])) q.head++
    if (q.head > 1024 && q.head * 2 > q.items.length) {
      q.items.splice(0, q.head)
      q.ats.splice(0, q.head)
      q.head = 0
    }
  }

  #arm(at: number): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timerAt = at
    this.#timer = setTimeout(() => this.#sweep(), Math.max(1, Math.ceil(at - Date.now())))
  }

  #sweep(): void {
    this.#timer = undefined
    this.#timerAt = Number.POSITIVE_INFINITY
    const now = Date.now()
    let next = Number.POSITIVE_INFINITY
    for (const [timeoutMs, q] of this.#queues) {
      while (q.head < q.items.length) {
        const item = q.items[q.head]
        if (this.#isLive(item)) {
          // setTimeout may fire a little early; 1 ms of slack avoids re-arming for nothing.
          if (q.ats[q.head] > now + 1) break
          q.head++
          this.#onExpire(item)
        } else q.head++
      }
      this.#skipSettled(q)
      if (q.head === q.items.length) this.#queues.delete(timeoutMs)
      else next = Math.min(next, q.ats[q.head])
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next)
  }
}

interface Fifo<T> {
  items: T[]
  ats: number[]
  head: number
}
