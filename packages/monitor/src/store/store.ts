import type { ReportMessage } from '../protocol.js'

/** Liveness of an instance as the collector's failure detector sees it. */
export type InstanceStatus = 'up' | 'suspect' | 'down' | 'left'

/** What the store remembers of one instance (its membership record). */
export interface Member {
  instance: string
  role: string
  host: string
  pid: number
  startedAt: number
  status: InstanceStatus
  /** When the collector last heard from it, ms since the epoch (collector clock). */
  lastSeen: number
}

/** How the store is doing: Redis outages, buffered writes, seconds lost. */
export interface StoreHealth {
  /** `memory`, or `redis`. */
  kind: string
  /** False while the backing store is unreachable (the collector keeps serving from memory). */
  connected: boolean
  /** Seconds of series waiting to be written back. */
  bufferedSeconds: number
  /** Seconds of series that could not be written back (buffer full during an outage): the reported gap. */
  gaps: { fromSecond: number; toSecond: number }[]
  /** Outages seen, collector clock, ms since the epoch (`to` undefined while it lasts); the last 100. */
  outages: { from: number; to: number | undefined }[]
}

/**
 * Where the collector keeps per-second series, the latest report of each instance and the membership.
 * Reads are always served from memory; a persistent store (Redis) also writes through and reloads on start.
 * The default is {@link MemoryStore}.
 */
export interface MonitorStore {
  /** Opens the store and loads what it remembers. A second call returns the same promise. */
  start(): Promise<void>
  /** Adds `delta` to the counter `key` for the second `second` (seconds since the epoch). */
  add(second: number, key: string, delta: number): void
  /** Per-second values of `key` from `fromSecond` to `toSecond` inclusive (0 where nothing was counted). */
  series(key: string, fromSecond: number, toSecond: number): number[]
  /** Every series key known. */
  keys(): IterableIterator<string>
  putSnapshot(instance: string, report: ReportMessage): void
  snapshot(instance: string): ReportMessage | undefined
  setMember(member: Member): void
  deleteMember(instance: string): void
  members(): Member[]
  /** Called once a second by the collector: write-back and pruning. */
  tick(nowMs: number): void
  health(): StoreHealth
  close(): Promise<void>
  /** Drops what is not written; returns the number of buffered seconds dropped. */
  destroy(): number
}
