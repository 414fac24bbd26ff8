/**
 * The monitoring backchannel's wire messages, declared once. Each is the `body` of a dripdrop envelope whose
 * `name` is the message's type, sent over a ZeroMQ PUSH → PULL route (docs/protocol.md §11).
 */
import { ReportError } from './errors.js'

/** Version of the report, heartbeat and goodbye bodies (`v`). */
export const MONITOR_PROTOCOL_VERSION = 1

/** Envelope names of the monitoring messages. */
export const MESSAGE = {
  report: 'dd.mon.report',
  heartbeat: 'dd.mon.heartbeat',
  goodbye: 'dd.mon.goodbye',
} as const

/** A tiny liveness beat, sent every `heartbeatIntervalMs`. */
export interface HeartbeatMessage {
  v: 1
  instance: string
  /** Process start, ms since the epoch: a new value means the instance restarted. */
  startedAt: number
  /** Beats sent since start, from 1. */
  seq: number
  /** The sender's interval, ms: the collector's detector counts missed intervals of this length. */
  heartbeatIntervalMs: number
}

/** Sent once by a clean shutdown: the collector marks the instance `left` at once. */
export interface GoodbyeMessage {
  v: 1
  instance: string
  startedAt: number
}

/** Process gauges of one report. */
export interface ProcessGauges {
  /** Cumulative user CPU time since start, µs. */
  cpuUserUs: number
  /** Cumulative system CPU time since start, µs. */
  cpuSystemUs: number
  rssBytes: number
  heapUsedBytes: number
  heapTotalBytes: number
  /** Event-loop delay over the last interval (perf_hooks `monitorEventLoopDelay`), ms. */
  eventLoopDelayP50Ms: number
  eventLoopDelayP99Ms: number
  eventLoopDelayMaxMs: number
  /** Event-loop utilization over the last interval, 0..1. */
  eventLoopUtilization: number
}

/** One route of one node. */
export interface RouteReport {
  /** The node's name. */
  node: string
  /** The route's name. */
  route: string
  /** `push`, `pull`, `req`, `rep`, … */
  type: string
  /** Endpoints bound (real port included). */
  bind: string[]
  /** Endpoints connected to. */
  connect: string[]
  /** Cumulative counters (`RouteStats` fields: `messagesIn`, `bytesOut`, `errors`, `aborted`, `expired`, …). */
  counters: Record<string, number>
  /** Cumulative errors by `DD_ERR_*` code (from `route:error` and `handler:error`). */
  errorsByCode: Record<string, number>
  /** Gauges now: `pendingRequests`, `inflight`, `peers` (connected peers). */
  gauges: Record<string, number>
}

/** Per message name on one route: cumulative counts, and a latency histogram delta. */
export interface NameReport {
  node: string
  route: string
  name: string
  /** Handler calls since start (cumulative). */
  count: number
  /** Handler calls that threw since start (cumulative). */
  errors: number
  /**
   * Handler latency recorded since the previous report, µs: an HdrHistogram in its compressed base64 form
   * (hdr-histogram-js `encodeIntoCompressedBase64`, the V2 compressed encoding of HdrHistogram). Empty
   * string when no call finished in the interval.
   */
  latencyUs: string
}

/** Stats of something that is not a route (a worker pool, a bridge) registered with `monitor.track()`. */
export interface TrackedReport {
  name: string
  values: Record<string, number>
}

/** The full report, sent every `intervalMs`. */
export interface ReportMessage {
  v: 1
  instance: string
  role: string
  host: string
  pid: number
  startedAt: number
  /** Reports sent since start, from 1. */
  seq: number
  /** When the report was built, ms since the epoch (the sender's clock). */
  at: number
  intervalMs: number
  heartbeatIntervalMs: number
  process: ProcessGauges
  routes: RouteReport[]
  names: NameReport[]
  tracked: TrackedReport[]
  /** The reporter's own losses: messages it dropped because the collector was not taking them. */
  monitor: { reportsDropped: number; heartbeatsDropped: number }
}

/** Any monitoring message, by envelope name. */
export type MonitorMessage =
  | { type: typeof MESSAGE.report; body: ReportMessage }
  | { type: typeof MESSAGE.heartbeat; body: HeartbeatMessage }
  | { type: typeof MESSAGE.goodbye; body: GoodbyeMessage }

/** What the collector accepts; every list and string beyond these is refused with `DD_ERR_MONITOR_TOO_LARGE`. */
export interface ReportLimits {
  /** Routes in one report. @default 1000 */
  maxRoutes: number
  /** Message names in one report. @default 2000 */
  maxNames: number
  /** Characters of any string (instance, role, a route name, an endpoint, a code). @default 256 */
  maxStringLength: number
  /** Entries of one map (counters, errorsByCode, gauges, tracked values) or endpoint list. @default 64 */
  maxKeys: number
  /** Characters of one latency histogram. @default 16384 */
  maxHistogramLength: number
  /** Tracked entries in one report. @default 64 */
  maxTracked: number
}

/** Default {@link ReportLimits}. */
export const DEFAULT_LIMITS: Readonly<ReportLimits> = Object.freeze({
  maxRoutes: 1000,
  maxNames: 2000,
  maxStringLength: 256,
  maxKeys: 64,
  maxHistogramLength: 16384,
  maxTracked: 64,
})

const PROCESS_KEYS: readonly (keyof ProcessGauges)[] = [
  'cpuUserUs',
  'cpuSystemUs',
  'rssBytes',
  'heapUsedBytes',
  'heapTotalBytes',
  'eventLoopDelayP50Ms',
  'eventLoopDelayP99Ms',
  'eventLoopDelayMaxMs',
  'eventLoopUtilization',
]

/**
 * Checks a body from the network against its message type and the limits. Throws only {@link ReportError};
 * returns the body typed. Reads each field once and never copies the body.
 */
export function validateMessage(name: string, body: unknown, limits: ReportLimits): MonitorMessage {
  const c = new Checker(limits, body)
  if (name === MESSAGE.heartbeat) {
    const b = c.header(body)
    c.int(b, 'seq')
    c.int(b, 'heartbeatIntervalMs')
    return { type: name, body: body as HeartbeatMessage }
  }
  if (name === MESSAGE.goodbye) {
    c.header(body)
    return { type: name, body: body as GoodbyeMessage }
  }
  if (name === MESSAGE.report) {
    const r = c.header(body)
    for (const k of ['role', 'host'] as const) c.str(r, k)
    for (const k of ['pid', 'seq', 'at', 'intervalMs', 'heartbeatIntervalMs'] as const) c.int(r, k)
    const p = c.obj(r, 'process')
    for (const k of PROCESS_KEYS) c.num(p, k)
    const routes = c.list(r, 'routes', limits.maxRoutes)
    for (const route of routes) {
      const o = c.item(route, 'routes[]')
      for (const k of ['node', 'route', 'type'] as const) c.str(o, k)
      for (const k of ['bind', 'connect'] as const)
        for (const e of c.list(o, k, limits.maxKeys)) c.value(e, k)
      for (const k of ['counters', 'errorsByCode', 'gauges'] as const) c.numbers(o, k)
    }
    const names = c.list(r, 'names', limits.maxNames)
    for (const n of names) {
      const o = c.item(n, 'names[]')
      for (const k of ['node', 'route', 'name'] as const) c.str(o, k)
      c.int(o, 'count')
      c.int(o, 'errors')
      c.str(o, 'latencyUs', limits.maxHistogramLength, true)
    }
    for (const t of c.list(r, 'tracked', limits.maxTracked)) {
      const o = c.item(t, 'tracked[]')
      c.str(o, 'name')
      c.numbers(o, 'values')
    }
    const m = c.obj(r, 'monitor')
    c.int(m, 'reportsDropped')
    c.int(m, 'heartbeatsDropped')
    return { type: name, body: body as ReportMessage }
  }
  throw new ReportError(
    `unknown monitoring message "${typeof name === 'string' ? name.slice(0, 64) : typeof name}"`,
    'DD_ERR_MONITOR_UNKNOWN',
  )
}

type Obj = Record<string, unknown>

class Checker {
  readonly #limits: ReportLimits
  #instance: string | undefined
  constructor(limits: ReportLimits, body: unknown) {
    this.#limits = limits
    const i = (body as Obj | null)?.instance
    if (typeof i === 'string' && i.length <= limits.maxStringLength) this.#instance = i
  }

  header(body: unknown): Obj {
    const o = this.item(body, 'body')
    if (o.v !== MONITOR_PROTOCOL_VERSION) {
      this.fail(
        `unknown version v=${typeof o.v === 'number' ? o.v : `(${typeof o.v})`}, this collector reads v=1`,
        'DD_ERR_MONITOR_VERSION',
      )
    }
    this.str(o, 'instance')
    this.int(o, 'startedAt')
    if ((o.instance as string) === '') this.fail('instance must not be empty')
    return o
  }

  item(value: unknown, path: string): Obj {
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      this.fail(`${path} must be a map`)
    return value as Obj
  }

  obj(o: Obj, key: string): Obj {
    return this.item(o[key], key)
  }

  str(o: Obj, key: string, max = this.#limits.maxStringLength, empty = true): void {
    this.value(o[key], key, max, empty)
  }

  value(v: unknown, key: string, max = this.#limits.maxStringLength, _empty = true): void {
    if (typeof v !== 'string') this.fail(`${key} must be a string`)
    if ((v as string).length > max)
      this.fail(`${key} is longer than ${max} characters`, 'DD_ERR_MONITOR_TOO_LARGE')
  }

  num(o: Obj, key: string): void {
    const v = o[key]
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`${key} must be a finite number`)
  }

  int(o: Obj, key: string): void {
    const v = o[key]
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
      this.fail(`${key} must be a non-negative integer`)
  }

  list(o: Obj, key: string, max: number): unknown[] {
    const v = o[key]
    if (!Array.isArray(v)) this.fail(`${key} must be an array`)
    if ((v as unknown[]).length > max)
      this.fail(`${key} has more than ${max} entries`, 'DD_ERR_MONITOR_TOO_LARGE')
    return v as unknown[]
  }

  numbers(o: Obj, key: string): void {
    const m = this.obj(o, key)
    let n = 0
    for (const k in m) {
      if (++n > this.#limits.maxKeys)
        this.fail(`${key} has more than ${this.#limits.maxKeys} keys`, 'DD_ERR_MONITOR_TOO_LARGE')
      if (k.length > this.#limits.maxStringLength)
        this.fail(`${key} has a key longer than ${this.#limits.maxStringLength}`, 'DD_ERR_MONITOR_TOO_LARGE')
      const v = m[k]
      if (typeof v !== 'number' || !Number.isFinite(v))
        this.fail(`${key}.${k.slice(0, 64)} must be a finite number`)
    }
  }

  fail(
    message: string,
    code:
      | 'DD_ERR_MONITOR_SHAPE'
      | 'DD_ERR_MONITOR_VERSION'
      | 'DD_ERR_MONITOR_TOO_LARGE' = 'DD_ERR_MONITOR_SHAPE',
  ): never {
    throw new ReportError(message, code, this.#instance)
  }
}
