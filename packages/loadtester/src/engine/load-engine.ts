import { EventEmitter } from 'node:events'
import type { Dispatcher } from 'undici'
import {
  type RequestSource,
  type PreparedRequest,
  requestSource,
  seededRandom,
} from '../scenario/request-source.js'
import { type ErrorKind, errorKindOf } from '../stats/counters.js'
import { type IntervalStats, StatsAccumulator } from '../stats/interval.js'
import type { SeriesPoint } from '../stats/series.js'
import {
  FastPool,
  type FastPoolSink,
  type InFlight,
  type SerializedRequest,
} from './fast-client/fast-pool.js'
import { IntervalRecorder } from './interval-recorder.js'
import { UndiciClients } from './undici-clients.js'
import { ArrivalSchedule, type Stage } from './schedule.js'
import { type FilledEngineOptions, type LoadEngineOptions, validateEngineOptions } from './options.js'

/** Lifecycle states of a {@link LoadEngine}. */
export type EngineState = 'idle' | 'starting' | 'open' | 'closing' | 'closed'

/** What a finished run hands back. */
export interface RunResult {
  /** `open` (arrival rate) or `closed` (connections). */
  model: 'open' | 'closed'
  /** Epoch ms of the first scheduled request. */
  startMs: number
  /** Scheduled length of the run, ms (what rates are computed over). */
  durationMs: number
  /** Epoch ms when the last response arrived or the drain ended. */
  endMs: number
  /** Every interval delta merged. */
  totals: StatsAccumulator
  /** One point per interval. */
  series: SeriesPoint[]
  /** Requests abandoned by `destroy()` or a drain that ran out of time (not counted as responses or errors). */
  abandoned: number
}

/**
 * Events of an engine (a typed emitter with no `error` event, so emitting never throws).
 *
 * | event | when |
 * | --- | --- |
 * | `engine:start` | the first request is due (payload: epoch ms) |
 * | `engine:interval` | every `intervalMs`: the interval's {@link IntervalStats} delta, for merging elsewhere |
 * | `engine:progress` | every `intervalMs`: the interval summarised as a {@link SeriesPoint} (cheap; for progress lines) |
 * | `engine:error` | the first request the scenario could not build (a scenario function threw); later ones are only counted |
 * | `engine:end` | the run is over and drained: the {@link RunResult} |
 */
export interface LoadEngineEventMap {
  'engine:start': { startMs: number }
  'engine:interval': IntervalStats
  'engine:progress': SeriesPoint
  'engine:error': { error: unknown }
  'engine:end': RunResult
}

/** A typed `EventEmitter` over {@link LoadEngineEventMap}. */
export class LoadEngineEvents extends EventEmitter {
  override on<K extends keyof LoadEngineEventMap>(
    event: K,
    listener: (payload: LoadEngineEventMap[K]) => void,
  ): this {
    return super.on(event, listener)
  }
  override once<K extends keyof LoadEngineEventMap>(
    event: K,
    listener: (payload: LoadEngineEventMap[K]) => void,
  ): this {
    return super.once(event, listener)
  }
  override off<K extends keyof LoadEngineEventMap>(
    event: K,
    listener: (payload: LoadEngineEventMap[K]) => void,
  ): this {
    return super.off(event, listener)
  }
  override emit<K extends keyof LoadEngineEventMap>(event: K, payload: LoadEngineEventMap[K]): boolean {
    return super.emit(event, payload)
  }
}

interface Sink {
  complete(x: Exchange): void
  fail(x: Exchange, err: Error): void
  started(x: Exchange): void
}

/** One request in flight: an undici dispatch handler that only timestamps, counts and discards the body. */
class Exchange implements Dispatcher.DispatchHandler {
  sentAt: number
  status = 0
  bytes = 0
  constructor(
    readonly sink: Sink,
    readonly name: string,
    /** performance.now() of the intended send. */
    readonly intended: number,
    dispatchedAt: number,
    /** The clients of its origin and the index of the one carrying it (its slot is given back at the end). */
    readonly clients: UndiciClients,
    readonly slot: number,
  ) {
    this.sentAt = dispatchedAt
  }
  onRequestStart(): void {
    this.sink.started(this)
  }
  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number): void {
    this.status = statusCode
  }
  onResponseData(_c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.bytes += chunk.length
  }
  onResponseEnd(): void {
    this.sink.complete(this)
  }
  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.sink.fail(this, err)
  }
}

const US = 1000
/** Longest the open model's clock sends in one wake-up before it yields to the event loop, ms. */
const TICK_BUDGET_MS = 10

/**
 * Runs one load test, or one **share** of a distributed test (a rate or a number of connections, from a common
 * start time), against HTTP/1.1 targets: through the engine's fast client (static requests on plain http) or
 * undici (HTTPS, scenario functions), see `options.client`.
 *
 * - **Open model** (`rate` or `stages`): requests are due at intended times computed from the schedule alone, so
 *   a slow server does not slow the test. Latency is measured from the intended time (coordinated-omission
 *   corrected, as wrk2 does); the service time from the actual send is kept beside it.
 * - **Closed model** (`connections` alone): `connections × pipelining` loops, each sending its next request when
 *   the previous one ends; latency and service time are then the same.
 *
 * Every `intervalMs` the engine emits an {@link IntervalStats} delta (`engine:interval`) that merges exactly with
 * others (encoded only when someone listens); the run's totals are in {@link RunResult}.
 *
 * @example
 * ```ts
 * const engine = new LoadEngine({ target: 'http://127.0.0.1:8080', scenario, rate: 1000, durationMs: 10_000 })
 * engine.events.on('engine:interval', (d) => console.log(d.counters.responses))
 * const result = await engine.run()
 * ```
 */
export class LoadEngine implements Sink {
  /** Typed events; see {@link LoadEngineEventMap}. */
  readonly events = new LoadEngineEvents()
  readonly #o: FilledEngineOptions
  readonly #source: RequestSource
  readonly #recorder = new IntervalRecorder()
  readonly #totals = new StatsAccumulator()
  readonly #series: SeriesPoint[] = []
  readonly #undici = new Map<string, UndiciClients>()
  readonly #fastPools = new Map<string, FastPool<PreparedRequest>>()
  /** The fast client carries every request (static, plain-http scenario), else undici. */
  readonly #fast: boolean
  readonly #fastSink: FastPoolSink<PreparedRequest>
  #sweepTimer: NodeJS.Timeout | undefined
  readonly #maxInFlight: number
  readonly #schedule: ArrivalSchedule | undefined
  #state: EngineState = 'idle'
  #startPromise: Promise<void> | undefined
  #closePromise: Promise<void> | undefined
  readonly #finished: Promise<RunResult>
  #resolveFinished!: (r: RunResult) => void
  /** performance.now() at the run's start. */
  #t0 = 0
  #startMs = 0
  #iteration = 0
  #inFlight = 0
  #scheduling = false
  #next = -1
  #intervalIndex = 0
  #intervalStart = 0
  #abandoned = 0
  #sourceFailed = false
  #timer: NodeJS.Timeout | undefined
  #intervalTimer: NodeJS.Timeout | undefined
  #endTimer: NodeJS.Timeout | undefined
  #drainTimer: NodeJS.Timeout | undefined
  // The backlog: requests due while every slot was busy, FIFO, bounded by highWaterMark.
  #backlog: { req: PreparedRequest; intended: number }[] = []
  #backlogHead = 0
  #backlogBytes = 0
  #resolveStart: (() => void) | undefined

  constructor(options: LoadEngineOptions) {
    this.#o = validateEngineOptions(options)
    const random = seededRandom(this.#o.seed)
    // Static requests are built (and their URLs checked) here, so a bad scenario fails before the run.
    this.#source = requestSource(this.#o.scenario, this.#o.target, random)
    this.#maxInFlight = this.#o.connections * this.#o.pipelining
    this.#fast = this.#chooseClient()
    this.#fastSink = {
      onResponse: (x, status, bodyBytes, now) => this.#fastResponse(x, status, bodyBytes, now),
      onError: (x, kind) => this.#fastError(x, kind),
    }
    if (this.#o.model === 'open') {
      const stages: readonly Stage[] = this.#o.stages ?? [
        { rate: this.#o.rate as number, durationMs: this.#o.durationMs },
      ]
      const startRate = this.#o.stages === undefined ? (this.#o.rate as number) : this.#o.startRate
      this.#schedule = new ArrivalSchedule(stages, startRate, this.#o.arrivals === 'poisson', random)
    }
    this.#finished = new Promise((resolve) => {
      this.#resolveFinished = resolve
    })
  }

  /** The fast client when it covers the scenario (`client: 'auto'`) or is forced; throws when forced and it cannot. */
  #chooseClient(): boolean {
    const choice = this.#o.client
    if (choice === 'undici') return false
    const requests = this.#source.requests
    const reason =
      requests === undefined
        ? 'a scenario function builds the requests'
        : requests.map((r) => r.fast).find((f): f is string => typeof f === 'string')
    if (reason === undefined) return true
    if (choice === 'fast')
      throw new TypeError(
        `options.client is 'fast' but the fast client does not cover this scenario: ${reason}`,
      )
    return false
  }

  /** The HTTP client carrying the requests: `fast` (the engine's own HTTP/1.1 client) or `undici`. */
  get client(): 'fast' | 'undici' {
    return this.#fast ? 'fast' : 'undici'
  }

  /** `idle`, `starting` (waiting for `startAt`), `open` (running), `closing` (draining), `closed`. */
  get state(): EngineState {
    return this.#state
  }

  /** `open` or `closed` model. */
  get model(): 'open' | 'closed' {
    return this.#o.model
  }

  /** Scheduled length of the run, ms. */
  get durationMs(): number {
    return this.#schedule?.durationMs ?? this.#o.durationMs
  }

  /** Epoch ms of the run's start, once started. */
  get startMs(): number | undefined {
    return this.#state === 'idle' || this.#state === 'starting' ? undefined : this.#startMs
  }

  /** Requests in flight right now. */
  get inFlight(): number {
    return this.#inFlight
  }

  /** Resolves with the result when the run is over and drained (after `start()`). */
  get finished(): Promise<RunResult> {
    return this.#finished
  }

  /** Starts the run (at `startAt` when set); resolves when the first request is due. Same promise on repeat. */
  start(): Promise<void> {
    this.#startPromise ??= new Promise<void>((resolve) => {
      this.#state = 'starting'
      this.#resolveStart = resolve
      const wait = this.#o.startAt === undefined ? 0 : Math.max(0, this.#o.startAt - Date.now())
      this.#timer = setTimeout(() => {
        this.#timer = undefined
        if (this.#state !== 'starting') return resolve()
        this.#begin()
        resolve()
      }, wait)
    })
    return this.#startPromise
  }

  /** Starts the run and resolves with its result. */
  async run(): Promise<RunResult> {
    await this.start()
    return this.#finished
  }

  /**
   * Stops scheduling now and drains what is in flight for at most `timeoutMs` (default: the engine's
   * `timeoutMs`), then abandons the rest. A second call returns the same promise.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closePromise ??= (async () => {
      if (this.#state === 'idle' || this.#state === 'starting') {
        this.#finish()
        return
      }
      this.#stopScheduling(options.timeoutMs ?? this.#o.timeoutMs)
      await this.#finished
    })()
    return this.#closePromise
  }

  /**
   * Stops at once: requests in flight are abandoned (`RunResult.abandoned`), backlogged ones counted as not
   * sent; returns how many of both.
   */
  destroy(): number {
    if (this.#state === 'closed') return 0
    const n = this.#inFlight + (this.#backlog.length - this.#backlogHead)
    this.#abandoned += this.#inFlight
    this.#inFlight = 0
    this.#finish()
    return n
  }

  /** A throwing listener must not end a timer or an undici callback: it is reported as a warning. */
  #emit<K extends keyof LoadEngineEventMap>(event: K, payload: LoadEngineEventMap[K]): void {
    try {
      this.events.emit(event, payload)
    } catch (err) {
      process.emitWarning(`a listener of ${event} threw: ${(err as Error)?.message ?? String(err)}`)
    }
  }

  #now(): number {
    return performance.now()
  }

  #begin(): void {
    this.#state = 'open'
    this.#t0 = this.#now()
    this.#startMs = performance.timeOrigin + this.#t0
    this.#intervalStart = this.#t0
    this.#scheduling = true
    this.#emit('engine:start', { startMs: this.#startMs })
    this.#armInterval()
    if (this.#fast) {
      // The fast client's timeouts: one sweep over the connections, not a timer per request.
      const every = Math.max(5, Math.min(1000, Math.floor(this.#o.timeoutMs / 10)))
      this.#sweepTimer = setInterval(() => {
        const now = this.#now()
        for (const pool of this.#fastPools.values()) pool.sweep(now)
      }, every)
    }
    if (this.#schedule !== undefined) {
      this.#next = this.#schedule.next()
      this.#tick()
    } else {
      this.#endTimer = setTimeout(() => this.#stopScheduling(this.#o.timeoutMs + 1000), this.#o.durationMs)
      const loops = this.#maxInFlight
      for (let i = 0; i < loops && this.#scheduling; i++) this.#closedNext()
    }
  }

  #armInterval(): void {
    const due = this.#t0 + (this.#intervalIndex + 1) * this.#o.intervalMs
    this.#intervalTimer = setTimeout(
      () => {
        this.#flushInterval(due)
        this.#armInterval()
      },
      Math.max(0, due - this.#now()),
    )
  }

  #flushInterval(end: number): void {
    const { point, delta } = this.#recorder.flush(
      this.#intervalIndex,
      performance.timeOrigin + this.#intervalStart,
      Math.max(0, end - this.#intervalStart),
      this.#totals,
      this.events.listenerCount('engine:interval') > 0,
    )
    this.#intervalIndex++
    this.#intervalStart = end
    this.#series.push(point)
    if (delta !== undefined) this.#emit('engine:interval', delta)
    this.#emit('engine:progress', point)
  }

  /** The open model's clock: sends everything due, then sleeps until the next intended time. */
  #tick(): void {
    this.#timer = undefined
    if (!this.#scheduling) return
    const schedule = this.#schedule as ArrivalSchedule
    const wokeAt = this.#now() - this.#t0
    let now = wokeAt
    // Bounded per wake-up, in count and in time, so a long stall (a GC pause, a blocked loop) or a scenario
    // function slower than the schedule cannot monopolise the loop: heartbeats, reports and replies run between
    // wake-ups, and what is still due goes at the next one (its latency runs from its intended time anyway).
    for (let i = 0; i < 100_000 && this.#next >= 0 && this.#iteration < this.#o.maxRequests; i++) {
      if (this.#next > now || (i & 63) === 63) {
        // Sending takes time: what fell due meanwhile goes now, not a timer tick (>= 1 ms) later.
        now = this.#now() - this.#t0
        if (this.#next > now || now - wokeAt >= TICK_BUDGET_MS) break
      }
      this.#arrive(this.#t0 + this.#next)
      this.#next = schedule.next()
    }
    if (this.#next < 0 || this.#iteration >= this.#o.maxRequests) {
      this.#stopScheduling(this.#o.timeoutMs + 1000)
      return
    }
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, this.#t0 + this.#next - this.#now()))
  }

  #prepare(): PreparedRequest | undefined {
    try {
      return this.#source.next(this.#iteration++)
    } catch (error) {
      this.#recorder.error('(scenario)', 'other')
      if (!this.#sourceFailed) {
        this.#sourceFailed = true
        this.#emit('engine:error', { error })
      }
      return undefined
    }
  }

  #arrive(intended: number): void {
    const req = this.#prepare()
    if (req === undefined) return
    if (this.#inFlight < this.#maxInFlight) this.#send(req, intended)
    else if (
      this.#backlog.length - this.#backlogHead < this.#o.highWaterMark &&
      this.#backlogBytes + req.bytes <= this.#o.maxQueueBytes
    ) {
      this.#backlog.push({ req, intended })
      this.#backlogBytes += req.bytes
    } else this.#recorder.notSent(req.name)
  }

  #closedNext(): void {
    // A scenario function that throws costs an iteration (counted), not the loop; bounded per call.
    for (let tries = 0; tries < 1000 && this.#iteration < this.#o.maxRequests; tries++) {
      const req = this.#prepare()
      if (req !== undefined) {
        this.#send(req, this.#now())
        return
      }
    }
    if (this.#inFlight === 0) this.#stopScheduling(0)
  }

  #send(req: PreparedRequest, intended: number): void {
    const now = this.#now()
    this.#inFlight++
    this.#recorder.sent(req.name)
    if (this.#fast) {
      if (this.#schedule !== undefined) this.#recorder.lag(Math.round((now - intended) * US))
      this.#fastPool(req.origin).send(req, req.fast as SerializedRequest, intended, now)
      return
    }
    const clients = this.#clients(req.origin)
    const slot = clients.acquire()
    const x = new Exchange(this, req.name, intended, now, clients, slot)
    try {
      clients.client(slot).dispatch(req.options, x)
    } catch (err) {
      // undici refuses some requests synchronously (an invalid header value from a scenario function).
      this.fail(x, err as Error)
    }
  }

  #clients(origin: string): UndiciClients {
    let clients = this.#undici.get(origin)
    if (clients === undefined) {
      const o = this.#o
      clients = new UndiciClients(origin, {
        connections: o.connections,
        pipelining: o.pipelining,
        timeoutMs: o.timeoutMs,
        ca: o.ca,
        rejectUnauthorized: o.rejectUnauthorized,
      })
      this.#undici.set(origin, clients)
    }
    return clients
  }

  #fastPool(origin: string): FastPool<PreparedRequest> {
    let pool = this.#fastPools.get(origin)
    if (pool === undefined) {
      const url = new URL(origin)
      pool = new FastPool<PreparedRequest>(
        {
          // URL keeps an IPv6 literal in brackets; net.connect wants it bare.
          host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: url.port === '' ? 80 : Number(url.port),
          connections: this.#o.connections,
          pipelining: this.#o.pipelining,
          timeoutMs: this.#o.timeoutMs,
        },
        this.#fastSink,
      )
      this.#fastPools.set(origin, pool)
    }
    return pool
  }

  #fastResponse(x: InFlight<PreparedRequest>, status: number, bodyBytes: number, now: number): void {
    if (this.#state === 'closed') return
    this.#recorder.response(
      x.tag.name,
      status,
      Math.round((now - x.intended) * US),
      Math.round((now - x.sentAt) * US),
      bodyBytes,
    )
    this.#slotFree()
  }

  #fastError(x: InFlight<PreparedRequest>, kind: ErrorKind): void {
    if (this.#state === 'closed') return
    this.#recorder.error(x.tag.name, kind)
    this.#slotFree()
  }

  started(x: Exchange): void {
    const now = this.#now()
    x.sentAt = now
    if (this.#schedule !== undefined) this.#recorder.lag(Math.round((now - x.intended) * US))
  }

  complete(x: Exchange): void {
    x.clients.release(x.slot)
    if (this.#state === 'closed') return
    const now = this.#now()
    this.#recorder.response(
      x.name,
      x.status,
      Math.round((now - x.intended) * US),
      Math.round((now - x.sentAt) * US),
      x.bytes,
    )
    this.#slotFree()
  }

  fail(x: Exchange, err: Error): void {
    if (this.#state === 'closed') {
      x.clients.release(x.slot)
      return
    }
    this.#recorder.error(x.name, errorKindOf(err))
    // undici fails a client's queued requests in a loop that asserts the queue ends empty: the next request
    // must not be dispatched to that client from inside it.
    queueMicrotask(() => {
      x.clients.release(x.slot)
      if (this.#state !== 'closed') this.#slotFree()
    })
  }

  #slotFree(): void {
    this.#inFlight--
    if (this.#schedule === undefined) {
      if (this.#scheduling) this.#closedNext()
    } else if (this.#backlogHead < this.#backlog.length) {
      // Backlogged requests are sent while the run drains too: they were due, and their latency runs from then.
      const b = this.#backlog[this.#backlogHead] as { req: PreparedRequest; intended: number }
      this.#backlog[this.#backlogHead++] = undefined as never
      this.#backlogBytes -= b.req.bytes
      if (this.#backlogHead > 1024 && this.#backlogHead * 2 > this.#backlog.length) {
        this.#backlog = this.#backlog.slice(this.#backlogHead)
        this.#backlogHead = 0
      }
      this.#send(b.req, b.intended)
    }
    if (!this.#scheduling && this.#inFlight === 0 && this.#state === 'closing') this.#finish()
  }

  #stopScheduling(drainMs: number): void {
    if (!this.#scheduling) return
    this.#scheduling = false
    this.#state = 'closing'
    clearTimeout(this.#timer)
    clearTimeout(this.#endTimer)
    if (this.#inFlight === 0) {
      this.#finish()
      return
    }
    this.#drainTimer = setTimeout(() => {
      this.#abandoned += this.#inFlight
      this.#inFlight = 0
      this.#finish()
    }, drainMs)
  }

  /** Due but never sent before the end: shown as such, never as responses or errors. */
  #dropBacklog(): void {
    for (let i = this.#backlogHead; i < this.#backlog.length; i++) {
      const b = this.#backlog[i] as { req: PreparedRequest }
      this.#recorder.notSent(b.req.name)
    }
    this.#backlog = []
    this.#backlogHead = 0
    this.#backlogBytes = 0
  }

  #finish(): void {
    if (this.#state === 'closed') return
    const wasRunning = this.#state === 'open' || this.#state === 'closing'
    this.#state = 'closed'
    this.#scheduling = false
    clearTimeout(this.#timer)
    clearTimeout(this.#endTimer)
    clearTimeout(this.#drainTimer)
    clearTimeout(this.#intervalTimer)
    clearInterval(this.#sweepTimer)
    this.#resolveStart?.() // close() or destroy() before startAt: start() resolves, the run never begins
    this.#dropBacklog()
    const end = this.#now()
    if (wasRunning) this.#flushInterval(end)
    for (const clients of this.#undici.values()) clients.destroy()
    this.#undici.clear()
    for (const pool of this.#fastPools.values()) pool.destroy()
    this.#fastPools.clear()
    const result: RunResult = {
      model: this.#o.model,
      startMs: this.#startMs,
      durationMs: this.durationMs,
      endMs: wasRunning ? performance.timeOrigin + end : this.#startMs,
      totals: this.#totals,
      series: this.#series,
      abandoned: this.#abandoned,
    }
    this.#resolveFinished(result)
    this.#emit('engine:end', result)
  }
}
