import type { Scenario } from '../scenario/types.js'
import type { Stage } from './schedule.js'

/**
 * Options of a {@link LoadEngine}. Give `rate` (or `stages`) for the open model, `connections` alone for the
 * closed model.
 */
export interface LoadEngineOptions {
  /** What to send. */
  scenario: Scenario
  /** Base URL that relative request paths resolve against; overrides the scenario's `target`. */
  target?: string
  /**
   * Connections per origin. Closed model: `connections × pipelining` requests in flight at all times.
   * Open model: the cap on requests in flight. @default 10 (closed), 100 (open)
   */
  connections?: number
  /** HTTP/1.1 requests pipelined per connection. @default 1 */
  pipelining?: number
  /** Open model: constant arrival rate, requests per second, over `durationMs`. */
  rate?: number
  /** Open model: ramping stages (the rate ramps linearly to each stage's `rate`), instead of `rate`. */
  stages?: readonly Stage[]
  /** Open model with `stages`: the rate at t = 0 (req/s). @default 0 */
  startRate?: number
  /** Open model: `constant` spacing or `poisson` arrivals (exponential gaps, same mean rate). @default 'constant' */
  arrivals?: 'constant' | 'poisson'
  /** Length of the run, ms (ignored with `stages`, whose durations add up). @default 10000 */
  durationMs?: number
  /** Epoch ms at which the run starts (a distributed test starts every share on one schedule). @default now */
  startAt?: number
  /** Per request: no headers (or no body progress) for this long is a `timeout` error; also the connect timeout. @default 10000 (ms) */
  timeoutMs?: number
  /**
   * Open model: requests that fell due while all `connections × pipelining` slots were busy wait in a FIFO of
   * this many; beyond it they are counted as `notSent`. Their latency still runs from their intended time.
   * @default 100000
   */
  highWaterMark?: number
  /**
   * Open model: the backlog's bound in bytes (paths, headers and bodies of the waiting requests); beyond it,
   * requests are counted as `notSent`. @default 67108864 (64 MiB)
   */
  maxQueueBytes?: number
  /** Stop after this many requests (both models). @default Infinity */
  maxRequests?: number
  /** Length of one stats interval (the `engine:interval` deltas), ms. @default 1000 */
  intervalMs?: number
  /** PEM CA certificate(s) trusted for HTTPS targets (added to none: replaces Node's list for this run). */
  ca?: string | Buffer | Array<string | Buffer>
  /** Verify the target's TLS certificate. @default true */
  rejectUnauthorized?: boolean
  /** Seed of the generator behind weighted picks, Poisson gaps and `ctx.random()`. @default random */
  seed?: number
  /**
   * The HTTP client. `undici`: every request through undici (HTTPS, scenario functions, any header).
   * `fast`: the engine's own HTTP/1.1 client on `net.Socket`, several times cheaper per request: plain-http targets
   * and static scenario requests only, each serialized once (a scenario it does not cover is refused with the
   * reason). `auto` picks `fast` whenever it covers the scenario, else `undici`. @default 'auto'
   */
  client?: 'auto' | 'undici' | 'fast'
}

/** The options with every default filled in. */
export interface FilledEngineOptions {
  scenario: Scenario
  target: string | undefined
  model: 'open' | 'closed'
  connections: number
  pipelining: number
  rate: number | undefined
  stages: readonly Stage[] | undefined
  startRate: number
  arrivals: 'constant' | 'poisson'
  durationMs: number
  startAt: number | undefined
  timeoutMs: number
  highWaterMark: number
  maxQueueBytes: number
  maxRequests: number
  intervalMs: number
  ca: string | Buffer | Array<string | Buffer> | undefined
  rejectUnauthorized: boolean
  seed: number
  client: 'auto' | 'undici' | 'fast'
}

const KNOWN = new Set([
  'scenario',
  'target',
  'connections',
  'pipelining',
  'rate',
  'stages',
  'startRate',
  'arrivals',
  'durationMs',
  'startAt',
  'timeoutMs',
  'highWaterMark',
  'maxQueueBytes',
  'maxRequests',
  'intervalMs',
  'ca',
  'rejectUnauthorized',
  'seed',
  'client',
])

function positiveInt(name: string, v: unknown, unit: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    throw new TypeError(`options.${name} must be a positive integer (${unit}), got ${String(v)}`)
  return v
}

function positive(name: string, v: unknown, unit: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)
    throw new TypeError(`options.${name} must be a positive number (${unit}), got ${String(v)}`)
  return v
}

/** Validates options once, naming the option in each message, and fills the defaults. */
export function validateEngineOptions(o: LoadEngineOptions): FilledEngineOptions {
  if (o === null || typeof o !== 'object') throw new TypeError('options must be an object')
  for (const key of Object.keys(o))
    if (!KNOWN.has(key)) throw new TypeError(`options.${key} is not an option`)
  const s = o.scenario as Scenario | undefined
  if (s === undefined || (s.kind !== 'requests' && s.kind !== 'module'))
    throw new TypeError('options.scenario must be a scenario ({ kind: "requests" | "module", … })')
  if (o.rate !== undefined && o.stages !== undefined)
    throw new TypeError('options.rate and options.stages exclude each other')
  const open = o.rate !== undefined || o.stages !== undefined
  if (o.rate !== undefined) positive('rate', o.rate, 'requests per second')
  if (o.stages !== undefined) {
    if (!Array.isArray(o.stages) || o.stages.length === 0)
      throw new TypeError('options.stages must be a non-empty array')
    o.stages.forEach((st, i) => {
      if (typeof st?.rate !== 'number' || !Number.isFinite(st.rate) || st.rate < 0)
        throw new TypeError(
          `options.stages[${i}].rate must be a number >= 0 (requests per second), got ${String(st?.rate)}`,
        )
      positiveInt(`stages[${i}].durationMs`, st.durationMs, 'ms')
    })
  }
  if (o.startRate !== undefined && (typeof o.startRate !== 'number' || !(o.startRate >= 0)))
    throw new TypeError(
      `options.startRate must be a number >= 0 (requests per second), got ${String(o.startRate)}`,
    )
  if (o.arrivals !== undefined && o.arrivals !== 'constant' && o.arrivals !== 'poisson')
    throw new TypeError(`options.arrivals must be 'constant' or 'poisson', got ${String(o.arrivals)}`)
  if (o.target !== undefined) {
    let url: URL | undefined
    try {
      url = new URL(o.target)
    } catch {}
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:'))
      throw new TypeError(`options.target must be an http(s) URL, got ${String(o.target)}`)
  }
  if (
    o.startAt !== undefined &&
    (typeof o.startAt !== 'number' || !Number.isFinite(o.startAt) || o.startAt - Date.now() > 86_400_000)
  )
    throw new TypeError(
      `options.startAt must be an epoch time in ms within the next 24 h, got ${String(o.startAt)}`,
    )
  if (o.maxRequests !== undefined && o.maxRequests !== Number.POSITIVE_INFINITY)
    positiveInt('maxRequests', o.maxRequests, 'requests')
  if (o.client !== undefined && o.client !== 'auto' && o.client !== 'undici' && o.client !== 'fast')
    throw new TypeError(`options.client must be 'auto', 'undici' or 'fast', got ${String(o.client)}`)
  if (o.rejectUnauthorized !== undefined && typeof o.rejectUnauthorized !== 'boolean')
    throw new TypeError('options.rejectUnauthorized must be a boolean')
  return {
    scenario: s,
    target: o.target,
    model: open ? 'open' : 'closed',
    connections:
      o.connections === undefined
        ? open
          ? 100
          : 10
        : positiveInt('connections', o.connections, 'connections'),
    pipelining:
      o.pipelining === undefined ? 1 : positiveInt('pipelining', o.pipelining, 'requests per connection'),
    rate: o.rate,
    stages: o.stages,
    startRate: o.startRate ?? 0,
    arrivals: o.arrivals ?? 'constant',
    durationMs: o.durationMs === undefined ? 10_000 : positiveInt('durationMs', o.durationMs, 'ms'),
    startAt: o.startAt,
    timeoutMs: o.timeoutMs === undefined ? 10_000 : positiveInt('timeoutMs', o.timeoutMs, 'ms'),
    highWaterMark:
      o.highWaterMark === undefined ? 100_000 : positiveInt('highWaterMark', o.highWaterMark, 'requests'),
    maxQueueBytes:
      o.maxQueueBytes === undefined
        ? 64 * 1024 * 1024
        : positiveInt('maxQueueBytes', o.maxQueueBytes, 'bytes'),
    maxRequests: o.maxRequests ?? Number.POSITIVE_INFINITY,
    intervalMs: o.intervalMs === undefined ? 1000 : positiveInt('intervalMs', o.intervalMs, 'ms'),
    ca: o.ca,
    rejectUnauthorized: o.rejectUnauthorized ?? true,
    seed: o.seed === undefined ? (Math.random() * 2 ** 32) >>> 0 : positiveIntOrZero('seed', o.seed),
    client: o.client ?? 'auto',
  }
}

function positiveIntOrZero(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0)
    throw new TypeError(`options.${name} must be an integer >= 0, got ${String(v)}`)
  return v
}
