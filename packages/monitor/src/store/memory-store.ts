import type { ReportMessage } from '../protocol.js'
import type { Member, MonitorStore, StoreHealth } from './store.js'

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * Seconds of per-second series kept per key. Memory is 8 bytes per key and second (a key is one counter of
   * one route of one instance: 1,000 instances × 20 routes × 5 counters × 120 s ≈ 96 MB).
   * @default 120 (s)
   */
  windowSeconds?: number
}

/** One key's window: a ring of per-second values, each slot stamped with its second. */
class Ring {
  readonly values: Float32Array
  readonly seconds: Int32Array
  constructor(size: number) {
    this.values = new Float32Array(size)
    this.seconds = new Int32Array(size)
  }
}

/**
 * The embedded store (the default): everything in this process's memory, nothing to install, lost on
 * restart. Series are bounded rings of `windowSeconds`.
 */
export class MemoryStore implements MonitorStore {
  readonly windowSeconds: number
  readonly #rings = new Map<string, Ring>()
  readonly #snapshots = new Map<string, ReportMessage>()
  readonly #members = new Map<string, Member>()

  constructor(options: MemoryStoreOptions = {}) {
    const w = options.windowSeconds ?? 120
    if (!Number.isSafeInteger(w) || w < 2 || w > 86_400) {
      throw new TypeError('options.windowSeconds must be an integer from 2 to 86400 (s)')
    }
    this.windowSeconds = w
  }

  start(): Promise<void> {
    return Promise.resolve()
  }

  add(second: number, key: string, delta: number): void {
    let ring = this.#rings.get(key)
    if (ring === undefined) {
      ring = new Ring(this.windowSeconds)
      this.#rings.set(key, ring)
    }
    const i = second % this.windowSeconds
    if (ring.seconds[i] !== second) {
      ring.seconds[i] = second
      ring.values[i] = 0
    }
    ring.values[i] += delta
  }

  series(key: string, fromSecond: number, toSecond: number): number[] {
    const ring = this.#rings.get(key)
    const out: number[] = []
    for (let s = Math.max(fromSecond, toSecond - this.windowSeconds + 1); s <= toSecond; s++) {
      const i = s % this.windowSeconds
      out.push(ring !== undefined && ring.seconds[i] === s ? ring.values[i] : 0)
    }
    return out
  }

  keys(): IterableIterator<string> {
    return this.#rings.keys()
  }

  /** Removes every series key that starts with `prefix` (an instance that was forgotten). */
  deleteKeys(prefix: string): void {
    for (const k of this.#rings.keys()) if (k.startsWith(prefix)) this.#rings.delete(k)
  }

  putSnapshot(instance: string, report: ReportMessage): void {
    this.#snapshots.set(instance, report)
  }

  snapshot(instance: string): ReportMessage | undefined {
    return this.#snapshots.get(instance)
  }

  setMember(member: Member): void {
    this.#members.set(member.instance, member)
  }

  deleteMember(instance: string): void {
    this.#members.delete(instance)
    this.#snapshots.delete(instance)
    this.deleteKeys(`${instance}|`)
  }

  member(instance: string): Member | undefined {
    return this.#members.get(instance)
  }

  members(): Member[] {
    return [...this.#members.values()]
  }

  tick(_nowMs: number): void {}

  health(): StoreHealth {
    return { kind: 'memory', connected: true, bufferedSeconds: 0, gaps: [], outages: [] }
  }

  close(): Promise<void> {
    return Promise.resolve()
  }

  destroy(): number {
    return 0
  }
}
