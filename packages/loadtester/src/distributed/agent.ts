import { EventEmitter } from 'node:events'
import { hostname } from 'node:os'
import { pathToFileURL } from 'node:url'
import { isMainThread } from 'node:worker_threads'
import { Node, type Route } from '@dripdrop/core'
import { type CurveOptions, zmqTransport } from '@dripdrop/zmq'
import { LoadEngine } from '../engine/load-engine.js'
import type { LoadEngineOptions } from '../engine/options.js'
import type { EngineState } from '../engine/load-engine.js'
import { AgentAuthError, AgentProtocolError } from '../errors.js'
import type { RequestFactory, Scenario } from '../scenario/types.js'
import { proof, randomId, verify } from './auth.js'
import { curveOption, watchHandshakes } from './curve.js'
import { CpuMeter } from './cpu.js'
import { invalidReason, JOB_ENGINE_KEYS, type JobShare, PROTOCOL_VERSION } from './messages.js'

/** Options of an {@link Agent}. */
export interface AgentOptions {
  /** The coordinator's endpoint, e.g. `tcp://coordinator:5600`. */
  connect: string
  /** Shared secret; the agent runs only jobs whose proof matches it. @default undefined (no check) */
  token?: string
  /**
   * ZeroMQ CURVE options, passed as they are to the agent's `dealer` route (see @dripdrop/zmq). Encrypts and
   * authenticates the link when the transport supports it. @default undefined
   */
  curve?: CurveOptions
  /** How often the agent reports its CPU while idle or running, ms. @default 1000 */
  statusIntervalMs?: number
  /** Agent id shown in reports. @default a random hex id */
  agentId?: string
  /** How long a job's engine may drain at `job.stop` or `close()`, ms. @default 2000 */
  drainMs?: number
}

/** Events of an agent (`agent.events`). */
export interface AgentEventMap {
  'agent:welcome': { agentId: string }
  'agent:job:start': { jobId: string }
  'agent:job:end': { jobId: string; abandoned: number }
  'agent:error': { error: Error }
}

/**
 * A load-test agent: connects to a {@link Coordinator}, runs the jobs it is sent on a {@link LoadEngine} and sends
 * back each second's exact HDR delta and its CPU. `dripdrop-load agent --connect …` runs one per process.
 *
 * @example
 * ```ts
 * const agent = new Agent({ connect: 'tcp://coordinator:5600', token: process.env.DD_TOKEN })
 * await agent.start()
 * ```
 */
export class Agent {
  /** Typed events; a listener that throws is reported, never thrown into the network path. */
  readonly events = new EventEmitter<{ [K in keyof AgentEventMap]: [AgentEventMap[K]] }>()
  /** Bad messages (`invalid`), failed token checks and CURVE handshakes (`refused`), jobs run. */
  readonly stats = { invalid: 0, refused: 0, jobs: 0 }
  readonly agentId: string
  readonly #o: Required<Omit<AgentOptions, 'token' | 'curve' | 'agentId'>> & AgentOptions
  readonly #node: Node
  readonly #route: Route
  readonly #nonce = randomId(16)
  readonly #cpu = new CpuMeter()
  #state: EngineState = 'idle'
  #welcomed = false
  #connects = 0
  /** The job running now: its engines (part 0, the `job.start` share, and any part added by `job.add`). */
  #job: RunningJob | undefined
  #lastCpu = { at: 0, value: 0 }
  #statusTimer: NodeJS.Timeout | undefined
  #startPromise: Promise<void> | undefined
  #closePromise: Promise<void> | undefined

  constructor(options: AgentOptions) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    if (typeof options.connect !== 'string' || !/^(tcp|ipc):\/\//.test(options.connect))
      throw new TypeError(
        `options.connect must be a tcp:// or ipc:// endpoint, got ${String(options.connect)}`,
      )
    if (options.token !== undefined && typeof options.token !== 'string')
      throw new TypeError('options.token must be a string')
    this.#o = { statusIntervalMs: 1000, drainMs: 2000, ...options }
    this.agentId = options.agentId ?? randomId(6)
    this.#node = new Node({ name: `dripdrop-load-agent-${this.agentId}`, transports: [zmqTransport()] })
    this.#route = this.#node.route('loadtest', {
      type: 'dealer',
      connect: options.connect,
      ...curveOption(options.curve),
    } as never)
    // CURVE: a coordinator that does not hold the key this agent trusts fails the handshake: nothing from it
    // reaches a handler, so nothing runs; counted and reported (the 1st, 10th, 100th… time).
    watchHandshakes(
      this.#node,
      'loadtest',
      () => void this.stats.refused++,
      (error, n) =>
        this.#error(
          new AgentAuthError(
            `CURVE handshake with the coordinator failed${n > 1 ? ` (${n} times)` : ''}: it does not hold the key this agent trusts, or does not speak CURVE; nothing from it runs (${error.message})`,
          ),
        ),
    )
    this.#route.on('agent.welcome', ({ body }) => this.#onWelcome(body))
    this.#route.on('agent.refused', ({ body }) => {
      this.stats.refused++
      this.#error(
        new AgentAuthError(
          `coordinator refused this agent: ${String((body as { reason?: unknown })?.reason)}`,
        ),
      )
    })
    this.#route.on('job.start', ({ body }) => this.#onJob(body))
    this.#route.on('job.add', ({ body }) => this.#onPart(body))
    this.#route.on('job.stop', ({ body }) => {
      const job = this.#job
      if (job !== undefined && (body as { jobId?: unknown })?.jobId === job.id) this.#stopJob(job)
    })
    // Reconnected (coordinator restarted): say hello again so it knows us.
    this.#node.events.on('route:connect', () => {
      if (this.#connects++ > 0) this.#hello()
    })
  }

  /** `idle`, `open` (connected), `closing`, `closed`. */
  get state(): EngineState {
    return this.#state
  }

  /** Whether the coordinator proved it holds the token (always true without a token once welcomed). */
  get welcomed(): boolean {
    return this.#welcomed
  }

  /** Connects and says hello. Same promise on repeat. */
  start(): Promise<void> {
    this.#startPromise ??= (async () => {
      this.#state = 'starting'
      await this.#node.start()
      this.#state = 'open'
      this.#hello()
      this.#statusTimer = setInterval(() => this.#status(), this.#o.statusIntervalMs)
      this.#statusTimer.unref()
    })()
    return this.#startPromise
  }

  /** Stops a running job (draining at most `drainMs`), reports its end, and disconnects. Same promise on repeat. */
  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      this.#state = 'closing'
      clearInterval(this.#statusTimer)
      const job = this.#job
      if (job !== undefined) {
        this.#stopJob(job)
        await job.ended
      }
      await this.#node.close()
      this.#state = 'closed'
    })()
    return this.#closePromise
  }

  /** Stops at once; returns the requests abandoned or dropped. */
  destroy(): number {
    clearInterval(this.#statusTimer)
    let n = 0
    for (const engine of this.#job?.engines ?? []) n += engine.destroy()
    this.#node.destroy()
    this.#state = 'closed'
    return n
  }

  #send(name: string, body: unknown): void {
    if (this.#state !== 'open' && this.#state !== 'closing') return
    this.#route.send(name, body).catch((error: unknown) => this.#error(error as Error))
  }

  #error(error: Error): void {
    try {
      this.events.emit('agent:error', { error })
    } catch {}
  }

  #hello(): void {
    this.#send('agent.hello', {
      agentId: this.agentId,
      version: PROTOCOL_VERSION,
      nonce: this.#nonce,
      auth: proof(this.#o.token, `agent:${this.#nonce}`),
      hostname: hostname(),
      pid: process.pid,
      kind: isMainThread ? 'process' : 'thread',
    })
  }

  /**
   * The CPU figure of the last ~second. Status reports and every part's interval ask for it; sampling on each
   * ask would measure the few ms since the previous one, so a sample younger than half a period is reused.
   */
  #cpuNow(): number {
    const now = performance.now()
    if (now - this.#lastCpu.at >= 500) this.#lastCpu = { at: now, value: this.#cpu.sample() }
    return this.#lastCpu.value
  }

  #status(): void {
    this.#send('agent.status', { agentId: this.agentId, cpu: this.#cpuNow(), jobId: this.#job?.id ?? '' })
  }

  #onWelcome(body: unknown): void {
    const bad = invalidReason('agent.welcome', body)
    if (bad !== undefined) {
      this.#invalid(`agent.welcome: ${bad}`)
      return
    }
    if (!verify(this.#o.token, `coordinator:${this.#nonce}`, (body as { auth: string }).auth)) {
      this.stats.refused++
      this.#error(
        new AgentAuthError("the coordinator does not hold this agent's token: its jobs will be refused"),
      )
      return
    }
    this.#welcomed = true
    try {
      this.events.emit('agent:welcome', { agentId: this.agentId })
    } catch {}
  }

  #invalid(message: string): void {
    this.stats.invalid++
    this.#error(new AgentProtocolError(message))
  }

  async #onJob(body: unknown): Promise<void> {
    const bad = invalidReason('job.start', body)
    if (bad !== undefined) return this.#invalid(`job.start: ${bad}`)
    const share = body as JobShare
    const end = (error: string): void =>
      this.#send('job.end', { agentId: this.agentId, jobId: share.jobId, abandoned: 0, error })
    if (!this.#welcomed || !verify(this.#o.token, `job:${this.#nonce}:${share.jobId}`, share.auth)) {
      this.stats.refused++
      this.#error(new AgentAuthError(`job ${share.jobId}: not from a coordinator holding the token; refused`))
      // Said back so the coordinator reports the refusal instead of waiting for this share.
      return end('refused: token check failed')
    }
    if (this.#job !== undefined) return end('busy with another job')
    let engine: LoadEngine
    try {
      engine = new LoadEngine(await engineOptions(share))
    } catch (err) {
      return end((err as Error)?.message ?? String(err))
    }
    if (this.#job !== undefined) {
      engine.destroy()
      return end('busy with another job')
    }
    let ended!: () => void
    const job: RunningJob = {
      id: share.jobId,
      engines: new Set(),
      abandoned: 0,
      stopped: false,
      ended: new Promise<void>((resolve) => {
        ended = resolve
      }),
      end: () => ended(),
    }
    this.#job = job
    this.stats.jobs++
    this.#cpuNow()
    try {
      this.events.emit('agent:job:start', { jobId: job.id })
    } catch {}
    this.#runPart(job, engine, 0, 0)
  }

  /** `job.add`: a lost agent's share moved here, run beside this job's other parts from its own `startAt`. */
  async #onPart(body: unknown): Promise<void> {
    const bad = invalidReason('job.add', body)
    if (bad !== undefined) return this.#invalid(`job.add: ${bad}`)
    const share = body as JobShare & { part: number; firstIndex: number }
    if (
      !this.#welcomed ||
      !verify(this.#o.token, `job:${this.#nonce}:${share.jobId}:${share.part}`, share.auth)
    ) {
      this.stats.refused++
      return this.#error(
        new AgentAuthError(
          `job ${share.jobId} part ${share.part}: not from a coordinator holding the token; refused`,
        ),
      )
    }
    const job = this.#job
    // A part for a job that ended (or was stopped) here runs nothing: the coordinator hears job.end and counts it.
    if (job === undefined || job.id !== share.jobId || job.stopped)
      return this.#invalid(`job.add for job ${share.jobId}, which is not running here`)
    if (job.engines.size >= MAX_PARTS) return this.#invalid(`job.add: more than ${MAX_PARTS} parts`)
    let engine: LoadEngine
    try {
      engine = new LoadEngine(await engineOptions(share))
    } catch (err) {
      return this.#error(err as Error)
    }
    if (this.#job !== job || job.stopped) {
      engine.destroy()
      return
    }
    this.#runPart(job, engine, share.part, share.firstIndex)
  }

  #runPart(job: RunningJob, engine: LoadEngine, part: number, firstIndex: number): void {
    job.engines.add(engine)
    engine.events.on('engine:interval', (delta) => {
      const d = firstIndex === 0 ? delta : { ...delta, index: delta.index + firstIndex }
      this.#send('job.interval', {
        agentId: this.agentId,
        jobId: job.id,
        ...(part === 0 ? {} : { part }),
        cpu: this.#cpuNow(),
        delta: d,
      })
    })
    void engine.run().then((result) => {
      job.abandoned += result.abandoned
      job.engines.delete(engine)
      // The job ends when its last part has drained (parts end with the run, so all end together).
      if (job.engines.size > 0) return
      if (this.#job === job) this.#job = undefined
      this.#send('job.end', { agentId: this.agentId, jobId: job.id, abandoned: job.abandoned })
      job.end()
      try {
        this.events.emit('agent:job:end', { jobId: job.id, abandoned: job.abandoned })
      } catch {}
    })
  }

  #stopJob(job: RunningJob): void {
    job.stopped = true
    for (const engine of job.engines) void engine.close({ timeoutMs: this.#o.drainMs })
  }
}

/** Parts one job may have on one agent (its own share and the shares of lost agents moved onto it). */
const MAX_PARTS = 64

interface RunningJob {
  id: string
  engines: Set<LoadEngine>
  abandoned: number
  /** `job.stop` or `close()` came: no part is added any more. */
  stopped: boolean
  ended: Promise<void>
  end(): void
}

/** Builds an engine's options from a job share (a module scenario is imported from its path). */
async function engineOptions(job: JobShare): Promise<LoadEngineOptions> {
  let scenario: Scenario
  if (job.scenario.kind === 'module') {
    const spec = String(job.scenario.module)
    const url = /^[a-z]+:/.test(spec) ? spec : pathToFileURL(spec).href
    const mod = (await import(url)) as { default?: unknown }
    if (typeof mod.default !== 'function')
      throw new TypeError(`${spec}: the default export is not a function`)
    scenario = {
      kind: 'module',
      factory: mod.default as RequestFactory,
      ...(job.scenario.target === undefined ? {} : { target: job.scenario.target }),
    }
  } else {
    scenario = {
      kind: 'requests',
      requests: job.scenario.requests ?? [],
      ...(job.scenario.target === undefined ? {} : { target: job.scenario.target }),
    }
  }
  const o: LoadEngineOptions = { scenario, durationMs: job.durationMs, startAt: job.startAt }
  for (const k of JOB_ENGINE_KEYS)
    if (job[k] !== undefined) (o as unknown as Record<string, unknown>)[k] = job[k]
  return o
}
