/**
 * A FIFO ring buffer with O(1) push and shift that never shrinks its storage (a queue that was busy once
 * will be busy again). `Array.prototype.shift` is O(n) past V8's small-array fast path, and truncating an
 * array to reuse it costs more than the ring's index arithmetic.
 */
export class Queue<T> {
  #items: (T | undefined)[]
  #mask: number
  #head = 0
  #length = 0

  constructor(initialCapacity = 16) {
    let capacity = 16
    while (capacity < initialCapacity) capacity *= 2
    this.#items = new Array(capacity)
    this.#mask = capacity - 1
  }

  get length(): number {
    return this.#length
  }

  push(item: T): void {
    if (this.#length === this.#items.length) this.#grow()
    this.#items[(this.#head + this.#length) & this.#mask] = item
    this.#length++
  }

  /** Removes and returns the oldest item. Call only when `length > 0`. */
  shift(): T {
    const item = this.#items[this.#head] as T
    this.#items[this.#head] = undefined
    this.#head = (this.#head + 1) & this.#mask
    this.#length--
    return item
  }

  /** The oldest item without removing it. */
  peek(): T | undefined {
    return this.#length === 0 ? undefined : this.#items[this.#head]
  }

  /** Removes everything and returns how many items there were. */
  clear(): number {
    const n = this.#length
    this.#items.fill(undefined)
    this.#head = 0
    this.#length = 0
    return n
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = 0; i < this.#length; i++) yield this.#items[(this.#head + i) & this.#mask] as T
  }

  #grow(): void {
    const old = this.#items
    const next = new Array<T | undefined>(old.length * 2)
    for (let i = 0; i < this.#length; i++) next[i] = old[(this.#head + i) & this.#mask]
    this.#items = next
    this.#mask = next.length - 1
    this.#head = 0
  }
}
