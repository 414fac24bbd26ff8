import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import { createCodec, type DripdropError, Node, type Route } from '@dripdrop/core'
import { type CurveOptions, zmqTransport } from '@dripdrop/zmq'
import type * as hdr from 'hdr-histogram-js'
import { ReportError } from '../errors.js'
import {
  DEFAULT_LIMITS,
  MESSAGE,
  type ReportLimits,
  type ReportMessage,
  validateMessage,
} from '../protocol.js'
import { decodeLatency, emptyLatency } from '../reporter/latency.js'
import { MemoryStore } from '../store/memory-store.js'
import type { InstanceStatus, Member, MonitorStore, StoreHealth } from '../store/store.js'
import { type DetectorOptions, type FilledDetectorOptions, fillDetector, judge } from './detector.js'
import { CollectorEvents, type InstanceEvent } from './events.js'
import { PrometheusExporter } from './prometheus.js'
import { findLinks, type Link } from './topology.js'
import {
  applyReport,
  type InstanceState,
  newInstanceState,
  recordGap,
  type RouteRates,
  SERIES_METRICS,
} from './instance-state.js'

/** Options of `new Collector()`. */
export interface CollectorOptions {
  /** Address the collector's PULL route binds, e.g. `tcp://0.0.0.0:7100` or `tcp://127.0.0.1:*`. */
  bind: string
  /** Where series, snapshots and members live. @default new MemoryStore() */
  store?: MonitorStore
  /** Failure detector parameters. */
  detector?: DetectorOptions
  /** Largest report frame accepted, bytes; larger frames are refused (`DD_ERR_DECODE_TOO_LARGE`). @default 1048576 (1 MiB) */
  maxMessageBytes?: number
  /** Instances known at once; a new one beyond is refused (`DD_ERR_MONITOR_CAPACITY`) unless a `left`/`down` one can be forgotten. @default 10000 */
  maxInstances?: number
  /** Reports + heartbeats accepted from one instance in one second; beyond, refused (`DD_ERR_MONITOR_FLOOD`). @default 50 */
  maxMessagesPerSecond?: number
  /** `left` and `down` instances are forgotten this long after they were last heard from, ms. @default 600000 (10 min) */
  forgetAfterMs?: number
  /** Limits of one report (see {@link ReportLimits}). */
  limits?: Partial<ReportLimits>
  /**
   * CURVE on the backchannel (`@dripdrop/zmq`'s `CurveOptions`): the collector's key pair and, with `allow`,
   * the reporters' public keys. A reporter without a listed key is refused at the handshake: counted in
   * `stats.refused.DD_ERR_HANDSHAKE` (and `report:error`), none of its reports is read.
   * @default undefined (plain text: anyone who reaches `bind` can feed reports)
   */
  curve?: CurveOptions
}

/** Counters of the collector itself. */
export interface CollectorStats {
  reports: number
  heartbeats: number
  goodbyes: number
  /** Messages refused, by code (`DD_ERR_MONITOR_*`, `DD_ERR_DECODE_*`). */
  refused: Record<string, number>
  /** Latency deltas that did not decode (the rest of their report was kept). */
  latencyDecodeErrors: number
  /** Times the detector found the collector itself stalled and held judgement. */
  stalls: number
}

/** One instance as the query API returns it. */
export interface InstanceInfo extends Member {
  heartbeatIntervalMs: number
  intervalMs: number
  /** The latest report (undefined until the first arrives). */
  report: ReportMessage | undefined
}

type State = 'idle' | 'starting' | 'open' | 'closing' | 'closed'

const MAX_HISTOGRAMS = 10_000

/**
 * Receives the reports of every monitored process on one PULL route, keeps the latest snapshot and
 * per-second series in its store, tells who is `up`, `suspect`, `down` or `left`, derives the topology and
 * exports Prometheus text.
 *
 * @example
 * ```ts
 * const collector = new Collector({ bind: 'tcp://0.0.0.0:7100' })
 * collector.events.on('instance:down', ({ instance }) => page(instance))
 * await collector.start()
 * collector.instances() // [{ instance: 'api-1', status: 'up', … }]
 * ```
 */
export class Collector {
  /** `instance:*`, `report:error`, `store:error`. */
  readonly events = new CollectorEvents()
  readonly stats: CollectorStats = {
    reports: 0,
    heartbeats: 0,
    goodbyes: 0,
    refused: {},
    latencyDecodeErrors: 0,
    stalls: 0,
  }
  readonly store: MonitorStore
  readonly #detector: FilledDetectorOptions
  readonly #limits: ReportLimits
  readonly #maxInstances: number
  readonly #maxPerSecond: number
  readonly #forgetAfterMs: number
  readonly #node: Node
  readonly #route: Route
  readonly #instances = new Map<string, InstanceState>()
  readonly #latency = new Map<string, { role: string; route: string; name: string; h: hdr.Histogram }>()
  readonly #prometheus: PrometheusExporter
  #state: State = 'idle'
  #started: Promise<void> | undefined
  #closed: Promise<void> | undefined
  #checkTimer: NodeJS.Timeout | undefined
  #storeTimer: NodeJS.Timeout | undefined
  #lastCheck = 0
  #metricsServer: Server | undefined

  constructor(options: CollectorOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    const known = new Set([
      'bind',
      'store',
      'detector',
      'maxMessageBytes',
      'maxInstances',
      'maxMessagesPerSecond',
      'forgetAfterMs',
      'limits',
      'curve',
    ])
    for (const key of Object.keys(options))
      if (!known.has(key)) throw new TypeError(`unknown option options.${key}`)
    if (typeof options.bind !== 'string' || !/^(tcp|ipc):\/\/./.test(options.bind)) {
      throw new TypeError('options.bind must be a tcp:// or ipc:// address, e.g. tcp://0.0.0.0:7100')
    }
    this.store = options.store ?? new MemoryStore()
    this.#detector = fillDetector(options.detector)
    this.#limits = { ...DEFAULT_LIMITS, ...options.limits }
    this.#maxInstances = positiveInt(options.maxInstances ?? 10_000, 'options.maxInstances')
    this.#maxPerSecond = positiveInt(options.maxMessagesPerSecond ?? 50, 'options.maxMessagesPerSecond')
    this.#forgetAfterMs = positiveInt(options.forgetAfterMs ?? 600_000, 'options.forgetAfterMs')
    const maxMessageBytes = positiveInt(options.maxMessageBytes ?? 1024 * 1024, 'options.maxMessageBytes')
    this.#node = new Node({
      name: 'dd.collector',
      transports: [zmqTransport(options.curve === undefined ? undefined : { curve: options.curve })],
      codec: createCodec('msgpack', { maxMessageBytes }),
    })
    // Budget per peer: ZeroMQ's receive queue is per connection, so at most 16 frames of `maxMessageBytes`
    // wait for one reporter (reporters send ~5 a second; a flooding one is pushed back, not buffered).
    this.#route = this.#node.route('dd.monitor', {
      type: 'pull',
      bind: options.bind,
      socketHighWaterMark: 16,
    })
    this.#route.on('*', (envelope) => {
      try {
        this.#ingest(envelope.name, envelope.body)
      } catch (err) {
        // The outermost catch of the network callback: nothing a peer sends ends the collector.
        this.#refuse(
          new ReportError(`report could not be handled: ${(err as Error)?.message}`, 'DD_ERR_MONITOR_SHAPE'),
        )
      }
    })
    this.#node.events.on('route:error', ({ error }) => this.#refuse(error))
    this.#prometheus = new PrometheusExporter(this)
  }

  /** `idle`, `starting`, `open`, `closing` or `closed`. */
  get state(): State {
    return this.#state
  }

  /** The bound endpoint, real port included (once started). */
  get endpoint(): string {
    return this.#route.endpoints[0] ?? ''
  }

  /** Counters of the collector's PULL route (decode errors of frames land in `decodeErrors`). */
  get routeStats() {
    return this.#route.stats.snapshot()
  }

  /** Loads the store (a restarted collector finds its members and history), binds, starts the detector. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      this.#state = 'starting'
      await this.store.start()
      const now = performance.now()
      for (const m of this.store.members()) {
        // Members found in the store get one full detection period from now before they can be judged.
        this.#instances.set(m.instance, newInstanceState(m, now))
      }
      await this.#node.start()
      this.#state = 'open'
      this.#lastCheck = performance.now()
      this.#checkTimer = setInterval(() => this.#check(), this.#detector.checkIntervalMs)
      this.#storeTimer = setInterval(() => this.#storeTick(), 1000)
    })()
    return this.#started
  }

  /** Stops receiving, writes back what the store holds (within `timeoutMs`), releases the port. Same promise twice. */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closed ??= (async () => {
      this.#state = 'closing'
      clearInterval(this.#checkTimer)
      clearInterval(this.#storeTimer)
      await this.#node.close({ timeoutMs: options.timeoutMs ?? 1000 })
      await this.#closeMetricsServer()
      await this.store.close()
      this.#state = 'closed'
    })()
    return this.#closed
  }

  /** Stops at once; returns the messages and buffered store seconds dropped. */
  destroy(): number {
    clearInterval(this.#checkTimer)
    clearInterval(this.#storeTimer)
    this.#state = 'closed'
    this.#metricsServer?.closeAllConnections()
    this.#metricsServer?.close()
    return this.#node.destroy() + this.store.destroy()
  }

  // ---- query API ----

  /** Every known instance with its status and latest report. */
  instances(): InstanceInfo[] {
    return [...this.#instances.values()].map((s) => this.#info(s))
  }

  /** One instance, or `undefined`. */
  instance(instance: string): InstanceInfo | undefined {
    const s = this.#instances.get(instance)
    return s === undefined ? undefined : this.#info(s)
  }

  /**
   * Per-second values of a counter over the last `windowSeconds` (oldest first, 0 where nothing was
   * counted). `metric` is one of {@link SERIES_METRICS} for a route, or `count` for a message name (handlers wrapped with `reporter.timed()`).
   *
   * @example
   * ```ts
   * collector.series({ instance: 'api-1', route: 'api/users', metric: 'messagesIn', windowSeconds: 60 })
   * ```
   */
  series(query: { instance: string; route: string; name?: string; metric: string; windowSeconds?: number }): {
    fromSecond: number
    values: number[]
  } {
    const to = Math.floor(Date.now() / 1000)
    const from = to - (query.windowSeconds ?? 60) + 1
    const key =
      query.name === undefined
        ? `${query.instance}|${query.route}|${query.metric}`
        : `${query.instance}|${query.route}#${query.name}|${query.metric}`
    const values = this.store.series(key, from, to)
    return { fromSecond: to - values.length + 1, values }
  }

  /** Rates of every route of every live instance, over each one's last report interval. */
  routeRates(): RouteRates[] {
    const out: RouteRates[] = []
    for (const s of this.#instances.values()) {
      if (s.member.status === 'left' || s.member.status === 'down') continue
      for (const r of s.rates.values()) out.push(r)
    }
    return out
  }

  /** The busiest routes by a rate (`messagesIn` by default), highest first. */
  topRoutes(options: { metric?: string; limit?: number } = {}): RouteRates[] {
    const metric = options.metric ?? 'messagesIn'
    return this.routeRates()
      .sort((a, b) => (b.rates[metric] ?? 0) - (a.rates[metric] ?? 0))
      .slice(0, options.limit ?? 10)
  }

  /** Links between instances: a route's `connect` endpoint matched to another instance's bound endpoint. */
  links(): Link[] {
    const live = [...this.#instances.values()].filter(
      (s) => s.member.status !== 'left' && s.member.status !== 'down',
    )
    return findLinks(
      live.map((s) => ({
        instance: s.member.instance,
        host: s.member.host,
        report: this.store.snapshot(s.member.instance),
        rates: s.rates,
      })),
    )
  }

  /** Handler latency merged over every instance of a role (µs), exact (HdrHistogram add). */
  latency(): {
    role: string
    route: string
    name: string
    count: number
    p50Us: number
    p99Us: number
    maxUs: number
  }[] {
    return [...this.#latency.values()].map(({ role, route, name, h }) => ({
      role,
      route,
      name,
      count: h.totalCount,
      p50Us: h.getValueAtPercentile(50),
      p99Us: h.getValueAtPercentile(99),
      maxUs: h.maxValue,
    }))
  }

  /** The store's health: Redis outages, buffered seconds, gaps. */
  storeHealth(): StoreHealth {
    return this.store.health()
  }

  /** Prometheus text exposition (prom-client `Registry.metrics()`). */
  metrics(): Promise<string> {
    return this.#prometheus.metrics()
  }

  /**
   * Serves {@link Collector.metrics} over HTTP at `GET /metrics` (node:http), for Prometheus to scrape. Closed
   * with the collector. Resolves with the URL (real port included).
   *
   * @param options.port @default 0 (any free port)
   * @param options.host @default '127.0.0.1'
   * @example
   * ```ts
   * const { url } = await collector.serveMetrics({ port: 9464, host: '0.0.0.0' })
   * ```
   */
  serveMetrics(options: { port?: number; host?: string } = {}): Promise<{ url: string }> {
    if (this.#metricsServer !== undefined) throw new TypeError('serveMetrics() was already called')
    const server = createServer((req, res) => {
      if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
        res.statusCode = 404
        res.end()
        return
      }
      this.metrics().then(
        (text) => {
          res.setHeader('content-type', this.metricsContentType)
          res.end(text)
        },
        () => {
          res.statusCode = 500
          res.end()
        },
      )
    })
    this.#metricsServer = server
    const host = options.host ?? '127.0.0.1'
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port ?? 0, host, () => {
        const { port } = server.address() as AddressInfo
        resolve({ url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics` })
      })
    })
  }

  async #closeMetricsServer(): Promise<void> {
    const server = this.#metricsServer
    if (server === undefined) return
    server.closeIdleConnections()
    await new Promise((resolve) => server.close(resolve))
  }

  /** The content type of {@link Collector.metrics} for an HTTP response. */
  get metricsContentType(): string {
    return this.#prometheus.contentType
  }

  // ---- ingestion ----

  #ingest(name: string, body: unknown): void {
    const msg = (() => {
      try {
        return validateMessage(name, body, this.#limits)
      } catch (err) {
        this.#refuse(err as ReportError)
        return undefined
      }
    })()
    if (msg === undefined) return
    const id = msg.body.instance
    const now = performance.now()
    const wall = Date.now()
    let s = this.#instances.get(id)
    if (s === undefined) {
      if (msg.type === MESSAGE.goodbye) return
      if (this.#instances.size >= this.#maxInstances && !this.#evictOne()) {
        this.#refuse(
          new ReportError(
            `collector knows ${this.#maxInstances} instances already`,
            'DD_ERR_MONITOR_CAPACITY',
            id,
          ),
        )
        return
      }
      s = newInstanceState(
        {
          instance: id,
          role: '',
          host: '',
          pid: 0,
          startedAt: msg.body.startedAt,
          status: 'up',
          lastSeen: wall,
        },
        now,
      )
      this.#instances.set(id, s)
      this.#emit('instance:up', s, undefined)
    }
    // Flood control per instance and second.
    const second = Math.floor(wall / 1000)
    if (s.floodSecond !== second) {
      s.floodSecond = second
      s.floodCount = 0
    }
    if (++s.floodCount > this.#maxPerSecond) {
      this.#refuse(
        new ReportError(
          `instance "${id}" sent over ${this.#maxPerSecond} messages in one second`,
          'DD_ERR_MONITOR_FLOOD',
          id,
        ),
      )
      return
    }
    const m = s.member
    if (msg.body.startedAt < m.startedAt) return // a late message of the previous process
    if (msg.body.startedAt > m.startedAt) {
      const previous = m.status
      const previousStartedAt = m.startedAt
      m.startedAt = msg.body.startedAt
      m.status = 'up'
      s.prev.clear()
      s.prevNames.clear()
      s.rates.clear()
      s.gaps.fill(0)
      s.longestGap = 0
      s.seenAt = now
      m.lastSeen = wall
      this.events.emit('instance:restarted', {
        instance: id,
        role: m.role,
        previous,
        lastSeen: wall,
        startedAt: m.startedAt,
        previousStartedAt,
      })
    } else if (m.status === 'left') {
      return // queued behind the goodbye
    } else if (m.status !== 'down') {
      const interval = s.heartbeatIntervalMs > 0 ? s.heartbeatIntervalMs : s.intervalMs
      recordGap(s, now - s.seenAt, 2 * this.#detector.downAfterMissed * interval)
    }
    s.seenAt = now
    m.lastSeen = wall
    if (msg.type === MESSAGE.goodbye) {
      this.stats.goodbyes++
      const previous = m.status
      m.status = 'left'
      this.store.setMember({ ...m })
      this.#emit('instance:left', s, previous)
      return
    }
    if (m.status !== 'up') {
      const previous = m.status
      m.status = 'up'
      this.#emit('instance:up', s, previous)
    }
    if (msg.type === MESSAGE.heartbeat) {
      this.stats.heartbeats++
      s.heartbeatIntervalMs = msg.body.heartbeatIntervalMs
      return
    }
    this.stats.reports++
    const merge = applyReport(s, msg.body, second, this.store)
    for (const n of merge) this.#mergeLatency(s.member.role, n.route, n.name, n.latencyUs)
  }

  #mergeLatency(role: string, route: string, name: string, base64: string): void {
    const key = `${role}|${route}|${name}`
    let entry = this.#latency.get(key)
    if (entry === undefined) {
      if (this.#latency.size >= MAX_HISTOGRAMS) return
      entry = { role, route, name, h: emptyLatency() }
      this.#latency.set(key, entry)
    }
    try {
      const delta = decodeLatency(base64)
      entry.h.add(delta)
    } catch {
      this.stats.latencyDecodeErrors++
    }
  }

  // ---- detector ----

  #check(): void {
    const now = performance.now()
    const late = now - this.#lastCheck - this.#detector.checkIntervalMs
    this.#lastCheck = now
    if (late > Math.max(100, 2 * this.#detector.checkIntervalMs)) {
      // The collector itself was stalled: heartbeats may be waiting unread in its socket. Silence during a
      // stall is not the instances' fault, so it is not counted against them.
      this.stats.stalls++
      for (const s of this.#instances.values()) s.seenAt += late
      return
    }
    for (const s of this.#instances.values()) {
      const m = s.member
      if (m.status === 'left' || m.status === 'down') continue
      const interval = s.heartbeatIntervalMs > 0 ? s.heartbeatIntervalMs : s.intervalMs
      const status = judge(now - s.seenAt, interval, this.#detector, s.longestGap)
      if (status === m.status) continue
      const previous = m.status
      m.status = status
      this.store.setMember({ ...m })
      this.#emit(
        status === 'down' ? 'instance:down' : status === 'suspect' ? 'instance:suspect' : 'instance:up',
        s,
        previous,
      )
    }
  }

  #storeTick(): void {
    const wall = Date.now()
    for (const [id, s] of this.#instances) {
      const st = s.member.status
      if ((st === 'left' || st === 'down') && wall - s.member.lastSeen > this.#forgetAfterMs) {
        this.#instances.delete(id)
        this.store.deleteMember(id)
      }
    }
    try {
      this.store.tick(wall)
    } catch (err) {
      this.events.emit('store:error', { error: err as DripdropError })
    }
  }

  #evictOne(): boolean {
    let oldest: InstanceState | undefined
    for (const s of this.#instances.values()) {
      if (s.member.status !== 'left' && s.member.status !== 'down') continue
      if (oldest === undefined || s.member.lastSeen < oldest.member.lastSeen) oldest = s
    }
    if (oldest === undefined) return false
    this.#instances.delete(oldest.member.instance)
    this.store.deleteMember(oldest.member.instance)
    return true
  }

  #info(s: InstanceState): InstanceInfo {
    return {
      ...s.member,
      heartbeatIntervalMs: s.heartbeatIntervalMs,
      intervalMs: s.intervalMs,
      report: this.store.snapshot(s.member.instance),
    }
  }

  #emit(
    event: 'instance:up' | 'instance:suspect' | 'instance:down' | 'instance:left',
    s: InstanceState,
    previous: InstanceStatus | undefined,
  ): void {
    const payload: InstanceEvent = {
      instance: s.member.instance,
      role: s.member.role,
      previous,
      lastSeen: s.member.lastSeen,
    }
    this.events.emit(event, payload)
  }

  #refuse(error: DripdropError): void {
    const code = typeof error?.code === 'string' ? error.code : 'DD_ERR_MONITOR_SHAPE'
    this.stats.refused[code] = (this.stats.refused[code] ?? 0) + 1
    this.events.emit('report:error', { error })
  }
}

function positiveInt(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(`${path} must be a positive integer, got ${String(value)}`)
  }
  return value
}
