import { Redis, type RedisOptions } from 'ioredis'
import { StoreError } from '../errors.js'
import type { ReportMessage } from '../protocol.js'
import { MemoryStore, type MemoryStoreOptions } from './memory-store.js'
import type { Member, MonitorStore, StoreHealth } from './store.js'

/** Options of {@link RedisStore}. */
export interface RedisStoreOptions extends MemoryStoreOptions {
  /** `redis://host:port/db`. @default process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' */
  url?: string
  /** Prefix of every key this store writes. @default 'dd:mon:' */
  keyPrefix?: string
  /** Time to live of per-second series and snapshots, s. @default 3600 (s) */
  ttlSeconds?: number
  /**
   * Seconds of series kept in memory while Redis is unreachable; beyond, the oldest are dropped and reported
   * as a gap in {@link StoreHealth.gaps}.
   * @default 300 (s)
   */
  maxBufferedSeconds?: number
  /** Extra ioredis options (never `keyPrefix`: use the option above). */
  redis?: RedisOptions
}

/**
 * The Redis store (ioredis): everything {@link MemoryStore} keeps, written through to Redis once a second, so
 * that a collector restarted on the same Redis finds the members, their latest snapshots and the series.
 *
 * Keys (all under `keyPrefix`):
 * - `s:<second>`: hash, field = series key (`instance|node/route|metric`), value = count in that second; TTL.
 * - `snap:<instance>`: the latest report as JSON; TTL.
 * - `members`: sorted set, member = instance, score = last seen (ms).
 * - `member:info`: hash, field = instance, value = the member record as JSON.
 *
 * Redis down: reads keep coming from memory, writes wait in a bounded buffer (`maxBufferedSeconds`) and are
 * written back when Redis returns; seconds that did not fit are reported in `health().gaps`.
 *
 * @example
 * ```ts
 * const collector = new Collector({ bind: 'tcp://0.0.0.0:7100', store: new RedisStore({ url: 'redis://redis:6379' }) })
 * ```
 */
export class RedisStore implements MonitorStore {
  readonly keyPrefix: string
  readonly ttlSeconds: number
  readonly maxBufferedSeconds: number
  readonly #memory: MemoryStore
  readonly #redis: Redis
  /** Completed seconds waiting to be written: second → series key → value. */
  readonly #pending = new Map<number, Map<string, number>>()
  readonly #dirtyMembers = new Set<string>()
  readonly #deleted = new Set<string>()
  readonly #gaps: StoreHealth['gaps'] = []
  readonly #outages: StoreHealth['outages'] = []
  #started: Promise<void> | undefined
  #closed: Promise<void> | undefined
  #writing = false
  #connected = false

  constructor(options: RedisStoreOptions = {}) {
    this.#memory = new MemoryStore(options)
    this.keyPrefix = options.keyPrefix ?? 'dd:mon:'
    this.ttlSeconds = options.ttlSeconds ?? 3600
    this.maxBufferedSeconds = options.maxBufferedSeconds ?? 300
    if (!Number.isSafeInteger(this.ttlSeconds) || this.ttlSeconds <= 0)
      throw new TypeError('options.ttlSeconds must be a positive integer (s)')
    if (!Number.isSafeInteger(this.maxBufferedSeconds) || this.maxBufferedSeconds <= 0) {
      throw new TypeError('options.maxBufferedSeconds must be a positive integer (s)')
    }
    this.#redis = new Redis(options.url ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
      lazyConnect: true,
      // Fail fast while Redis is down: the collector buffers instead of letting ioredis queue without bound.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times) => Math.min(100 * times, 1000),
      ...options.redis,
    })
    this.#redis.on('ready', () => {
      this.#connected = true
      const last = this.#outages.at(-1)
      if (last !== undefined && last.to === undefined) last.to = Date.now()
    })
    this.#redis.on('close', () => this.#down())
    // ioredis emits `error` on every failed reconnect; the outage is recorded by `close`.
    this.#redis.on('error', () => {})
  }

  get windowSeconds(): number {
    return this.#memory.windowSeconds
  }

  /** Connects and loads members, snapshots and the series of the window. Rejects when Redis is unreachable. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      try {
        await this.#redis.connect()
        this.#connected = true
        await this.#load()
      } catch (err) {
        throw new StoreError(
          `redis store: cannot connect or load: ${String((err as Error)?.message ?? err)}`,
          err,
        )
      }
    })()
    return this.#started
  }

  add(second: number, key: string, delta: number): void {
    this.#memory.add(second, key, delta)
    let s = this.#pending.get(second)
    if (s === undefined) {
      s = new Map()
      this.#pending.set(second, s)
      this.#trim()
    }
    s.set(key, (s.get(key) ?? 0) + delta)
  }

  series(key: string, fromSecond: number, toSecond: number): number[] {
    return this.#memory.series(key, fromSecond, toSecond)
  }

  keys(): IterableIterator<string> {
    return this.#memory.keys()
  }

  putSnapshot(instance: string, report: ReportMessage): void {
    this.#memory.putSnapshot(instance, report)
    this.#dirtyMembers.add(instance)
  }

  snapshot(instance: string): ReportMessage | undefined {
    return this.#memory.snapshot(instance)
  }

  setMember(member: Member): void {
    this.#memory.setMember(member)
    this.#dirtyMembers.add(member.instance)
    this.#deleted.delete(member.instance)
  }

  deleteMember(instance: string): void {
    this.#memory.deleteMember(instance)
    this.#dirtyMembers.delete(instance)
    this.#deleted.add(instance)
  }

  members(): Member[] {
    return this.#memory.members()
  }

  /** Writes back the completed seconds, dirty snapshots and members (when Redis is up). */
  tick(nowMs: number): void {
    this.flush(Math.floor(nowMs / 1000)).catch(() => {
      // flush() records outages itself; nothing may escape a timer.
    })
  }

  /**
   * Writes every second before `beforeSecond` (all of them by default) and the dirty members. Resolves
   * `false` when Redis was unreachable (the writes stay buffered).
   */
  async flush(beforeSecond = Number.POSITIVE_INFINITY): Promise<boolean> {
    if (this.#writing || !this.#connected || this.#redis.status !== 'ready') return false
    this.#writing = true
    try {
      return await this.#write(beforeSecond)
    } finally {
      this.#writing = false
    }
  }

  async #write(beforeSecond: number): Promise<boolean> {
    const seconds = [...this.#pending.keys()].filter((s) => s < beforeSecond).sort((a, b) => a - b)
    const members = [...this.#dirtyMembers]
    const deleted = [...this.#deleted]
    const p = this.#redis.pipeline()
    for (const second of seconds) {
      const fields = this.#pending.get(second) as Map<string, number>
      const key = `${this.keyPrefix}s:${second}`
      // A second is written once, complete: the collector buckets by its own clock and only flushes seconds
      // that have ended, so HSET (a few commands per second, not one per counter) is safe.
      let chunk: Record<string, number> = {}
      let n = 0
      for (const [k, v] of fields) {
        chunk[k] = v
        if (++n === 1000) {
          p.hset(key, chunk)
          chunk = {}
          n = 0
        }
      }
      if (n > 0) p.hset(key, chunk)
      p.expire(key, this.ttlSeconds)
    }
    for (const id of members) {
      const m = this.#memory.member(id)
      if (m !== undefined) {
        p.zadd(`${this.keyPrefix}members`, m.lastSeen, id)
        p.hset(`${this.keyPrefix}member:info`, id, JSON.stringify(m))
      }
      const snap = this.#memory.snapshot(id)
      if (snap !== undefined)
        p.set(`${this.keyPrefix}snap:${id}`, JSON.stringify(snap), 'EX', this.ttlSeconds)
    }
    for (const id of deleted) {
      p.zrem(`${this.keyPrefix}members`, id)
      p.hdel(`${this.keyPrefix}member:info`, id)
      p.del(`${this.keyPrefix}snap:${id}`)
    }
    try {
      const results = await p.exec()
      const failed = results?.find(([e]) => e !== null)
      if (failed) throw failed[0]
      for (const s of seconds) this.#pending.delete(s)
      for (const id of members) this.#dirtyMembers.delete(id)
      for (const id of deleted) this.#deleted.delete(id)
      return true
    } catch {
      this.#down()
      return false
    }
  }

  health(): StoreHealth {
    return {
      kind: 'redis',
      connected: this.#connected && this.#redis.status === 'ready',
      bufferedSeconds: this.#pending.size,
      gaps: this.#gaps.map((g) => ({ ...g })),
      outages: this.#outages.map((o) => ({ ...o })),
    }
  }

  /** Writes back everything (if Redis is up) and disconnects. A second call returns the same promise. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#started !== undefined) {
        await this.#waitWrite()
        await this.flush()
      }
      this.#redis.disconnect()
    })()
    return this.#closed
  }

  destroy(): number {
    const dropped = this.#pending.size
    this.#pending.clear()
    this.#redis.disconnect()
    return dropped
  }

  /** Deletes every key under this store's prefix (tests, or decommissioning). */
  async clear(): Promise<void> {
    let cursor = '0'
    do {
      const [next, keys] = await this.#redis.scan(cursor, 'MATCH', `${this.keyPrefix}*`, 'COUNT', 1000)
      cursor = next
      if (keys.length > 0) await this.#redis.del(...keys)
    } while (cursor !== '0')
  }

  async #waitWrite(): Promise<void> {
    for (let i = 0; i < 100 && this.#writing; i++) await new Promise((r) => setTimeout(r, 10))
  }

  async #load(): Promise<void> {
    const r = this.#redis
    const info = await r.hgetall(`${this.keyPrefix}member:info`)
    for (const json of Object.values(info)) {
      try {
        const m = JSON.parse(json) as Member
        if (typeof m?.instance === 'string') this.#memory.setMember(m)
      } catch {
        // A corrupt record is skipped, not fatal.
      }
    }
    const ids = this.#memory.members().map((m) => m.instance)
    if (ids.length > 0) {
      const snaps = await r.mget(...ids.map((id) => `${this.keyPrefix}snap:${id}`))
      ids.forEach((id, i) => {
        const json = snaps[i]
        if (json == null) return
        try {
          this.#memory.putSnapshot(id, JSON.parse(json) as ReportMessage)
        } catch {}
      })
    }
    const now = Math.floor(Date.now() / 1000)
    const p = r.pipeline()
    const seconds: number[] = []
    for (let s = now - this.windowSeconds + 1; s <= now; s++) {
      seconds.push(s)
      p.hgetall(`${this.keyPrefix}s:${s}`)
    }
    const results = (await p.exec()) ?? []
    results.forEach(([err, fields], i) => {
      if (err !== null || fields === null) return
      for (const [k, v] of Object.entries(fields as Record<string, string>))
        this.#memory.add(seconds[i], k, Number(v))
    })
  }

  #down(): void {
    if (this.#connected) this.#outages.push({ from: Date.now(), to: undefined })
    if (this.#outages.length > 100) this.#outages.shift()
    this.#connected = false
  }

  #trim(): void {
    while (this.#pending.size > this.maxBufferedSeconds) {
      const oldest = Math.min(...this.#pending.keys())
      this.#pending.delete(oldest)
      const last = this.#gaps.at(-1)
      if (last !== undefined && last.toSecond === oldest - 1) last.toSecond = oldest
      else this.#gaps.push({ fromSecond: oldest, toSecond: oldest })
      if (this.#gaps.length > 100) this.#gaps.shift()
    }
  }
}
