/** Keys up to this many bytes are cached. */
const MAX_KEY_BYTES = 16
/** Entries kept per key length; a full bucket replaces its entries in turn. */
const ENTRIES_PER_LENGTH = 16

/**
 * Map keys seen before, by their bytes: the same few keys (`$id`, `name`, …) arrive in every frame, and
 * handing back the same string each time spares building it and lets V8 find the property at once (a fresh
 * string must be hashed and looked up in its string table on every property store). Only ASCII keys are
 * cached, so a cached string is exactly its bytes. Internal to the BERT decoder.
 */
export class KeyCache {
  readonly #bytes: Uint8Array[][] = Array.from({ length: MAX_KEY_BYTES + 1 }, () => [])
  readonly #strings: string[][] = Array.from({ length: MAX_KEY_BYTES + 1 }, () => [])
  readonly #next = new Uint8Array(MAX_KEY_BYTES + 1)

  /** The cached string for `b[start, start + n)`, or undefined. */
  get(b: Uint8Array, start: number, n: number): string | undefined {
    if (n > MAX_KEY_BYTES) return undefined
    const bucket = this.#bytes[n]
    outer: for (let i = 0; i < bucket.length; i++) {
      const entry = bucket[i]
      for (let j = 0; j < n; j++) if (entry[j] !== b[start + j]) continue outer
      return this.#strings[n][i]
    }
    return undefined
  }

  /** Remembers `s`, the ASCII text of `b[start, start + n)`. */
  set(b: Uint8Array, start: number, n: number, s: string): void {
    if (n > MAX_KEY_BYTES) return
    const bucket = this.#bytes[n]
    const at = bucket.length < ENTRIES_PER_LENGTH ? bucket.length : this.#next[n]++ % ENTRIES_PER_LENGTH
    bucket[at] = b.slice(start, start + n)
    this.#strings[n][at] = s
  }
}
