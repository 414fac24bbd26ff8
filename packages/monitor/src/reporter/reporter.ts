import { hostname } from 'node:os'
import { performance } from 'node:perf_hooks'
import { createCodec, type Handler, Node, type Route } from '@dripdrop/core'
import { type CurveOptions, zmqTransport } from '@dripdrop/zmq'
import {
  type GoodbyeMessage,
  type HeartbeatMessage,
  MESSAGE,
  MONITOR_PROTOCOL_VERSION,
  type NameReport,
  type ReportMessage,
  type RouteReport,
  type TrackedReport,
} from '../protocol.js'
import { NameStats } from './latency.js'
import { ProcessSampler } from './process-gauges.js'

/** Options of {@link Reporter} and `monitor()`. */
export interface ReporterOptions {
  /** The collector's address, e.g. `tcp://control:7100`. */
  collector: string
  /** The role this process plays (`api`, `resizer`…), a low-cardinality label. */
  role: string
  /** Unique name of this process. @default `${role}-${hostname}-${pid}` */
  instance?: string
  /** Full report interval, ms. @default 1000 (ms) */
  intervalMs?: number
  /** Heartbeat interval, ms. `0` turns heartbeats off (the collector then only sees reports). @default 250 (ms) */
  heartbeatIntervalMs?: number
  /**
   * Largest report, bytes: a report over it is dropped and counted (the collector refuses larger frames too).
   * @default 1048576 (1 MiB)
   */
  maxMessageBytes?: number
  /**
   * CURVE on the backchannel (`@dripdrop/zmq`'s `CurveOptions`): this process's key pair and the collector's
   * public key as `serverKey`. A collector with an allow-list refuses a reporter whose key is not on it.
   * @default undefined (plain text)
   */
  curve?: CurveOptions
}

/** Counters of the reporter itself. */
export interface ReporterStats {
  reportsSent: number
  heartbeatsSent: number
  /** Reports dropped: the collector was not taking them (queue full) or the report was over `maxMessageBytes`. */
  reportsDropped: number
  /** Heartbeats dropped because the collector was not taking them. */
  heartbeatsDropped: number
}

type State = 'idle' | 'starting' | 'open' | 'closing' | 'closed'

/** Reports and heartbeats waiting for the transport at most; beyond, new ones are dropped and counted. */
const MAX_PENDING_REPORTS = 2
const MAX_PENDING_HEARTBEATS = 8
/** ZeroMQ and dripdrop queue bounds of the backchannel route, in frames: with the two above, what a gone
 * collector can cost a process is bounded by (8 + 8 + 2) reports of at most `maxMessageBytes`. */
const ROUTE_HIGH_WATER_MARK = 8

interface NodeWatch {
  node: Node
  routes: Map<string, { errorsByCode: Record<string, number>; peers: number }>
  off: () => void
}

/**
 * Ships the traffic of one process's nodes to a collector over a dripdrop route (a ZeroMQ PUSH connected to
 * the collector's PULL): a full report every `intervalMs`, a tiny heartbeat every `heartbeatIntervalMs`, a
 * goodbye on `close()`. Several nodes report as one process. The app never waits on it: reports that the
 * collector does not take are dropped and counted.
 *
 * Most code calls `monitor(node, options)` (one reporter per process and collector) or imports
 * `@dripdrop/monitor/auto`.
 *
 * @example
 * ```ts
 * const reporter = new Reporter({ collector: 'tcp://127.0.0.1:7100', role: 'api' })
 * reporter.add(node)
 * await reporter.start()
 * ```
 */
export class Reporter {
  readonly instance: string
  readonly role: string
  readonly host = hostname()
  readonly pid = process.pid
  /** When this process started, ms since the epoch: the collector sees a restart as a new value. */
  readonly startedAt = Math.round(performance.timeOrigin)
  readonly intervalMs: number
  readonly heartbeatIntervalMs: number
  readonly collector: string
  readonly stats: ReporterStats = {
    reportsSent: 0,
    heartbeatsSent: 0,
    reportsDropped: 0,
    heartbeatsDropped: 0,
  }
  readonly #node: Node
  readonly #route: Route
  readonly #watches = new Map<Node, NodeWatch>()
  readonly #names = new Map<string, NameStats>()
  readonly #tracked = new Map<string, () => Record<string, number>>()
  #sampler: ProcessSampler | undefined
  #state: State = 'idle'
  #started: Promise<void> | undefined
  #closed: Promise<void> | undefined
  #reportTimer: NodeJS.Timeout | undefined
  #beatTimer: NodeJS.Timeout | undefined
  #seq = 0
  #beatSeq = 0
  #pendingReports = 0
  #pendingBeats = 0

  constructor(options: ReporterOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    const known = new Set([
      'collector',
      'role',
      'instance',
      'intervalMs',
      'heartbeatIntervalMs',
      'maxMessageBytes',
      'curve',
    ])
    for (const key of Object.keys(options))
      if (!known.has(key)) throw new TypeError(`unknown option options.${key}`)
    if (typeof options.collector !== 'string' || !/^(tcp|ipc):\/\/./.test(options.collector)) {
      throw new TypeError('options.collector must be a tcp:// or ipc:// address, e.g. tcp://control:7100')
    }
    if (typeof options.role !== 'string' || options.role === '' || options.role.length > 128) {
      throw new TypeError('options.role must be a non-empty string of at most 128 characters')
    }
    if (
      options.instance !== undefined &&
      (typeof options.instance !== 'string' || options.instance === '' || options.instance.length > 256)
    ) {
      throw new TypeError('options.instance must be a non-empty string of at most 256 characters')
    }
    this.collector = options.collector
    this.role = options.role
    this.instance = options.instance ?? `${options.role}-${this.host}-${this.pid}`
    this.intervalMs = integer(options.intervalMs ?? 1000, 'options.intervalMs', 10)
    this.heartbeatIntervalMs = integer(options.heartbeatIntervalMs ?? 250, 'options.heartbeatIntervalMs', 0)
    if (this.heartbeatIntervalMs > 0 && this.heartbeatIntervalMs < 10) {
      throw new TypeError('options.heartbeatIntervalMs must be 0 (off) or at least 10 (ms)')
    }
    const maxMessageBytes = integer(options.maxMessageBytes ?? 1024 * 1024, 'options.maxMessageBytes', 1024)
    this.#node = new Node({
      name: 'dd.monitor',
      transports: [zmqTransport(options.curve === undefined ? undefined : { curve: options.curve })],
      codec: createCodec('msgpack', { maxMessageBytes }),
    })
    this.#route = this.#node.route('dd.monitor', {
      type: 'push',
      connect: this.collector,
      highWaterMark: ROUTE_HIGH_WATER_MARK,
      socketHighWaterMark: ROUTE_HIGH_WATER_MARK,
      lingerMs: 500,
    })
  }

  /** `idle`, `starting`, `open`, `closing` or `closed`. */
  get state(): State {
    return this.#state
  }

  /**
   * Adds a node: its routes appear in the next report. Adding a node twice is a no-op. When every added node
   * has closed, the reporter closes itself (last report, goodbye), so monitoring never keeps a process alive.
   */
  add(node: Node): this {
    if (this.#watches.has(node)) return this
    const routes: NodeWatch['routes'] = new Map()
    const entry = (route: string) => {
      let r = routes.get(route)
      if (r === undefined) {
        r = { errorsByCode: {}, peers: 0 }
        routes.set(route, r)
      }
      return r
    }
    const onError = ({ route, error }: { route: string; error: { code?: unknown } }) => {
      const code = typeof error?.code === 'string' ? error.code : 'DD_ERR_UNKNOWN'
      const e = entry(route).errorsByCode
      // A bounded map: a peer cannot grow it with invented codes.
      if (e[code] !== undefined || Object.keys(e).length < 32) e[code] = (e[code] ?? 0) + 1
    }
    const onHandlerError = ({ route, error }: { route: string; error: unknown }) =>
      onError({ route, error: { code: (error as { code?: unknown } | null)?.code ?? 'DD_ERR_HANDLER' } })
    const onConnect = ({ route }: { route: string }) => {
      entry(route).peers++
    }
    const onDisconnect = ({ route }: { route: string }) => {
      const r = entry(route)
      r.peers = Math.max(0, r.peers - 1)
    }
    node.events.on('route:error', onError)
    node.events.on('handler:error', onHandlerError)
    node.events.on('route:connect', onConnect)
    node.events.on('route:disconnect', onDisconnect)
    // When every monitored node has closed, the process is done with dripdrop: say goodbye and close the
    // backchannel, whose ZeroMQ socket would otherwise keep the process alive.
    const onClosed = () => {
      if ([...this.#watches.values()].every((w) => w.node.state === 'closed')) {
        this.close().catch(() => {})
      }
    }
    node.events.on('node:closed', onClosed)
    const off = () => {
      node.events.off('route:error', onError)
      node.events.off('handler:error', onHandlerError)
      node.events.off('route:connect', onConnect)
      node.events.off('route:disconnect', onDisconnect)
      node.events.off('node:closed', onClosed)
    }
    this.#watches.set(node, { node, routes, off })
    return this
  }

  /** Stops reporting a node. */
  remove(node: Node): this {
    this.#watches.get(node)?.off()
    this.#watches.delete(node)
    return this
  }

  /**
   * Reports the stats of something that is not a route, e.g. a worker pool: `stats()` is called at every
   * report and its numeric fields are sent under `name`, one level of nested objects flattened with a dot
   * (`waitMs.p99`). Returns a function that stops tracking. (Bridges routes need nothing: they are routes of
   * the node, reported like every route.)
   *
   * @example
   * ```ts
   * reporter.track('pool', () => pool.stats) // queued, inFlight, completed, workers, waitMs.p99, runMs.p50…
   * ```
   */
  track(name: string, stats: () => object): () => void {
    if (typeof name !== 'string' || name === '')
      throw new TypeError('track(name): name must be a non-empty string')
    if (typeof stats !== 'function') throw new TypeError('track(name, stats): stats must be a function')
    this.#tracked.set(name, stats as () => Record<string, number>)
    return () => {
      if (this.#tracked.get(name) === stats) this.#tracked.delete(name)
    }
  }

  /**
   * Wraps a handler so that its calls, errors and latency are reported under its route and name. Core has no
   * per-name hook, so only handlers registered through this wrapper have per-name latency; every route's
   * totals are reported regardless.
   *
   * @example
   * ```ts
   * route.on('resize', reporter.timed(route, 'resize', async ({ body }) => resize(body)))
   * ```
   */
  timed<B = any, R = unknown>(
    route: Route,
    name: string,
    handler: Handler<B, R>,
    node?: Node,
  ): Handler<B, R> {
    const nodeName = node?.name ?? this.#nodeOf(route)?.name ?? ''
    const key = `${nodeName}\u0000${route.name}\u0000${name}`
    let s = this.#names.get(key)
    if (s === undefined) {
      s = new NameStats(nodeName, route.name, name)
      this.#names.set(key, s)
    }
    const stats = s
    const done = (t0: number, failed: boolean) => {
      stats.count++
      if (failed) stats.errors++
      stats.record((performance.now() - t0) * 1000)
    }
    return (message, context) => {
      const t0 = performance.now()
      let out: R | Promise<R>
      try {
        out = handler(message, context)
      } catch (err) {
        done(t0, true)
        throw err
      }
      if (out instanceof Promise) {
        return out.then(
          (v) => {
            done(t0, false)
            return v
          },
          (err) => {
            done(t0, true)
            throw err
          },
        )
      }
      done(t0, false)
      return out
    }
  }

  /** Registers `handler` for `name` on `route`, timed (see {@link Reporter.timed}). Returns the route. */
  handle<B = any, R = unknown>(route: Route, name: string, handler: Handler<B, R>): Route {
    return route.on(name, this.timed(route, name, handler))
  }

  /** Connects to the collector and starts the timers. A second call returns the same promise. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      this.#state = 'starting'
      this.#sampler = new ProcessSampler()
      await this.#node.start()
      if (this.#state !== 'starting') return
      this.#state = 'open'
      this.#reportTimer = setInterval(() => this.#safely(() => this.#sendReport()), this.intervalMs)
      this.#reportTimer.unref()
      if (this.heartbeatIntervalMs > 0) {
        this.#beatTimer = setInterval(
          () => this.#safely(() => this.#sendHeartbeat()),
          this.heartbeatIntervalMs,
        )
        this.#beatTimer.unref()
        this.#sendHeartbeat()
      }
      // A first report at once: the collector learns the routes (and the topology) without waiting an interval.
      this.#safely(() => this.#sendReport())
    })()
    return this.#started
  }

  /**
   * Sends a last report and a goodbye (the collector marks the instance `left` at once), then closes the
   * backchannel, waiting at most `timeoutMs` for the collector to take them. A second call returns the same promise.
   *
   * @param options.timeoutMs @default 1000 (ms)
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closed ??= (async () => {
      const timeoutMs = options.timeoutMs ?? 1000
      const wasOpen = this.#state === 'open'
      this.#state = 'closing'
      this.#stopTimers()
      if (wasOpen) {
        this.#safely(() => this.#sendReport())
        const bye: GoodbyeMessage = {
          v: MONITOR_PROTOCOL_VERSION,
          instance: this.instance,
          startedAt: this.startedAt,
        }
        this.#route.send(MESSAGE.goodbye, bye).catch(() => {})
      }
      await this.#node.close({ timeoutMs })
      for (const w of this.#watches.values()) w.off()
      this.#sampler?.stop()
      this.#state = 'closed'
    })()
    return this.#closed
  }

  /** Stops at once, without a goodbye (the collector will see the instance go `down`). Returns messages dropped. */
  destroy(): number {
    this.#stopTimers()
    this.#state = 'closed'
    for (const w of this.#watches.values()) w.off()
    this.#sampler?.stop()
    return this.#node.destroy()
  }

  /** Builds the report that the next interval would send (for tests and for a local status page). */
  buildReport(): ReportMessage {
    const routes: RouteReport[] = []
    for (const w of this.#watches.values()) {
      for (const route of w.node.routes.values()) {
        const watched = w.routes.get(route.name)
        const bound = route.spec.bind.length
        let endpoints: readonly string[] = []
        try {
          endpoints = route.endpoints
        } catch {
          // not attached yet
        }
        routes.push({
          node: w.node.name,
          route: route.name,
          type: route.type,
          bind: endpoints.length >= bound ? endpoints.slice(0, bound) : [...route.spec.bind],
          connect: [...route.spec.connect],
          counters: route.stats.snapshot() as unknown as Record<string, number>,
          errorsByCode: { ...(watched?.errorsByCode ?? {}) },
          gauges: {
            pendingRequests: route.pendingRequests,
            inflight: route.inflight,
            peers: watched?.peers ?? 0,
          },
        })
      }
    }
    const names: NameReport[] = []
    for (const s of this.#names.values()) {
      names.push({
        node: s.node,
        route: s.route,
        name: s.name,
        count: s.count,
        errors: s.errors,
        latencyUs: s.takeDelta(),
      })
    }
    const tracked: TrackedReport[] = []
    for (const [name, fn] of this.#tracked) {
      try {
        const values: Record<string, number> = {}
        for (const [k, v] of Object.entries(fn() ?? {})) {
          if (typeof v === 'number' && Number.isFinite(v)) values[k] = v
          // One level of nesting, e.g. a pool's `waitMs: { p50, p99 }` → `waitMs.p50`, `waitMs.p99`.
          else if (v !== null && typeof v === 'object' && !Array.isArray(v))
            for (const [k2, v2] of Object.entries(v as Record<string, unknown>))
              if (typeof v2 === 'number' && Number.isFinite(v2)) values[`${k}.${k2}`] = v2
        }
        tracked.push({ name, values })
      } catch {
        // A broken stats callback must not stop the report.
      }
    }
    this.#sampler ??= new ProcessSampler()
    return {
      v: MONITOR_PROTOCOL_VERSION,
      instance: this.instance,
      role: this.role,
      host: this.host,
      pid: this.pid,
      startedAt: this.startedAt,
      seq: ++this.#seq,
      at: Date.now(),
      intervalMs: this.intervalMs,
      heartbeatIntervalMs: this.heartbeatIntervalMs,
      process: this.#sampler.sample(),
      routes,
      names,
      tracked,
      monitor: { reportsDropped: this.stats.reportsDropped, heartbeatsDropped: this.stats.heartbeatsDropped },
    }
  }

  #sendReport(): void {
    if (this.#pendingReports >= MAX_PENDING_REPORTS) {
      this.stats.reportsDropped++
      return
    }
    const report = this.buildReport()
    this.#pendingReports++
    this.#route.send(MESSAGE.report, report).then(
      () => {
        this.#pendingReports--
        this.stats.reportsSent++
      },
      () => {
        this.#pendingReports--
        this.stats.reportsDropped++
      },
    )
  }

  #sendHeartbeat(): void {
    if (this.#pendingBeats >= MAX_PENDING_HEARTBEATS) {
      this.stats.heartbeatsDropped++
      return
    }
    const beat: HeartbeatMessage = {
      v: MONITOR_PROTOCOL_VERSION,
      instance: this.instance,
      startedAt: this.startedAt,
      seq: ++this.#beatSeq,
      heartbeatIntervalMs: this.heartbeatIntervalMs,
    }
    this.#pendingBeats++
    this.#route.send(MESSAGE.heartbeat, beat).then(
      () => {
        this.#pendingBeats--
        this.stats.heartbeatsSent++
      },
      () => {
        this.#pendingBeats--
        this.stats.heartbeatsDropped++
      },
    )
  }

  #nodeOf(route: Route): Node | undefined {
    for (const w of this.#watches.values()) if (w.node.routes.get(route.name) === route) return w.node
    return undefined
  }

  #stopTimers(): void {
    clearInterval(this.#reportTimer)
    clearInterval(this.#beatTimer)
  }

  #safely(fn: () => void): void {
    try {
      fn()
    } catch {
      // Monitoring never throws into the app's timers.
      this.stats.reportsDropped++
    }
  }
}

function integer(value: unknown, path: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`${path} must be an integer >= ${min}, got ${String(value)}`)
  }
  return value
}
