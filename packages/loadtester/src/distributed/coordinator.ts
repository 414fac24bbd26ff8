import { EventEmitter } from 'node:events'
import { Node, type Route } from '@dripdrop/core'
import { type CurveOptions, zmqTransport } from '@dripdrop/zmq'
import type { EngineState } from '../engine/load-engine.js'
import { AgentAuthError, AgentProtocolError, NoAgentsError } from '../errors.js'
import { emptyInterval, StatsAccumulator } from '../stats/interval.js'
import { pointOf, type SeriesPoint, seriesPoint } from '../stats/series.js'
import { proof, randomId, verify } from './auth.js'
import { curveOption, watchHandshakes } from './curve.js'
import {
  arrivalsBetween,
  planFrom,
  type RatePlan,
  rateAt as rateAtPlan,
  ratePlan,
  scalePlan,
} from './share-plan.js'
import {
  type EndMessage,
  type HelloMessage,
  type IntervalMessage,
  invalidReason,
  type JobScenario,
  type JobShare,
  PROTOCOL_VERSION,
  type StatusMessage,
} from './messages.js'

/** Options of a {@link Coordinator}. */
export interface CoordinatorOptions {
  /** Where agents connect. @default 'tcp://127.0.0.1:*' (an ephemeral port: read `coordinator.endpoint`) */
  listen?: string
  /** Shared secret every agent must prove it holds (and that agents check in every job). @default undefined */
  token?: string
  /** ZeroMQ CURVE options passed as they are to the coordinator's `router` route (see @dripdrop/zmq). */
  curve?: CurveOptions
  /** An agent silent this long is lost, ms. @default 3000 */
  heartbeatTimeoutMs?: number
  /** CPU busy fraction above which an agent is flagged as overloaded (its figures suspect). @default 0.9 */
  cpuLimit?: number
  /** Delay from `run()` to the common start time, so every agent gets its share first, ms. @default 500 */
  startDelayMs?: number
}

/** What the coordinator knows of one agent. */
export interface AgentInfo {
  agentId: string
  hostname: string
  pid: number
  kind: 'process' | 'thread'
  /** Last CPU busy fraction reported (0..1). */
  cpu: number
  /** Highest CPU fraction reported during the current or last run. */
  maxCpu: number
  /** CPU above `cpuLimit` during the run: its figures are suspect. */
  overloaded: boolean
  /** `idle`, `running`, `lost` (silent past `heartbeatTimeoutMs`). */
  status: 'idle' | 'running' | 'lost'
  /** Epoch ms of the last message. */
  lastSeenMs: number
}

/** What a distributed run is asked to do; the rate (or connections, or maxRequests) is split across agents. */
export interface DistributedRunOptions {
  scenario: JobScenario
  target?: string
  rate?: number
  stages?: { rate: number; durationMs: number }[]
  startRate?: number
  arrivals?: 'constant' | 'poisson'
  connections?: number
  pipelining?: number
  /** @default 10000 (ms) */
  durationMs?: number
  timeoutMs?: number
  maxRequests?: number
  rejectUnauthorized?: boolean
  seed?: number
  /**
   * What happens to the share of an agent lost mid-run. `'redistribute'`: from the next second boundary of the
   * common clock, the surviving agents take it over (each an equal part of its rate, or of its connections),
   * and the result says who was lost, when, what moved where, and what went unsent in the gap. `'report'`: the
   * share is left missing and only reported (`lostRate`). @default 'redistribute'
   */
  onAgentLost?: 'redistribute' | 'report'
  /** Run only once this many agents are connected (waits up to `agentsTimeoutMs`). @default 1 */
  minAgents?: number
  /** @default 10000 (ms) */
  agentsTimeoutMs?: number
}

/** One agent's part in a finished run. */
export interface AgentShare {
  agentId: string
  hostname: string
  kind: 'process' | 'thread'
  /** Its share: rate (req/s, open model) or connections (closed model). */
  rate?: number
  connections?: number
  /** Highest CPU fraction it reported. */
  maxCpu: number
  overloaded: boolean
  /**
   * Lost mid-run (silent past `heartbeatTimeoutMs`). Its share after `lostAtMs` (its last message) is in
   * {@link DistributedResult.losses}: moved to the other agents, or missing from the totals.
   */
  lost: boolean
  lostAtMs?: number
  /** Shares of lost agents this agent took over during the run (`job.add` parts). */
  added?: AddedPart[]
  /** Job failed to start on the agent. */
  error?: string
  responses: number
}

/** A lost agent's share (or a part of it) taken over by another agent. */
export interface AddedPart {
  /** The lost agent whose share this is. */
  fromAgentId: string
  /** Epoch ms at which this agent started it (a second boundary of the run's clock). */
  startMs: number
  /** Its rate at that time, req/s (open model). */
  rate?: number
  /** Its connections (closed model). */
  connections?: number
}

/** One agent lost mid-run: when, what it was to do, and what became of its share. */
export interface AgentLoss {
  agentId: string
  hostname: string
  /** Epoch ms of its last message. */
  lastSeenMs: number
  /** Epoch ms at which the coordinator declared it lost (`heartbeatTimeoutMs` after `lastSeenMs`). */
  detectedMs: number
  /** Its rate (req/s, open model) when it was lost, parts it had taken over included. */
  rate?: number
  /** Its connections (closed model), parts it had taken over included. */
  connections?: number
  /** Whether its share was moved onto the surviving agents (`onAgentLost: 'redistribute'` and someone left). */
  redistributed: boolean
  /** Epoch ms from which the survivors run its share (a second boundary of the run's clock). */
  redistributedAtMs?: number
  /** The agents that took it over. */
  to: string[]
  /**
   * Epoch ms from which its traffic is unaccounted for: the end of the last interval it reported (the run's
   * start if none). Requests it may have sent after that are in no total.
   */
  gapStartMs: number
  /** Until when: the redistribution, or the end of the run when its share was not moved. */
  gapEndMs: number
  /** Open model: requests its schedule called for in the gap, which no agent reported (rounded). */
  gapScheduled?: number
}

/** A finished distributed run: the exact merge of every agent's deltas. */
export interface DistributedResult {
  model: 'open' | 'closed'
  startMs: number
  durationMs: number
  endMs: number
  totals: StatsAccumulator
  series: SeriesPoint[]
  abandoned: number
  agents: AgentShare[]
  /**
   * Rate (req/s, open model) that lost agents were to send and that no other agent took over, for the rest of
   * the run: 0 when none was lost or every lost share was redistributed.
   */
  lostRate: number
  /** Every agent lost mid-run, in the order they were found lost. */
  losses: AgentLoss[]
}

/** Events of a coordinator. */
export interface CoordinatorEventMap {
  'coordinator:agent:join': AgentInfo
  'coordinator:agent:lost': AgentInfo
  /** A lost agent's share: moved onto the survivors (`redistributed: true`) or left missing. */
  'coordinator:agent:share': AgentLoss
  'coordinator:agent:overloaded': AgentInfo
  'coordinator:run:start': { jobId: string; startAt: number; agents: string[] }
  /** One interval merged across the agents that reported it. */
  'coordinator:progress': { point: SeriesPoint; agents: AgentInfo[] }
  'coordinator:run:end': DistributedResult
  'coordinator:error': { error: Error }
}

interface Peer extends AgentInfo {
  from: unknown
  nonce: string
  /** When a lost agent that still talked was last told to stop, epoch ms. */
  lastStopMs: number
}

interface Job {
  id: string
  model: 'open' | 'closed'
  startAt: number
  durationMs: number
  options: DistributedRunOptions
  /** Open model: the whole run's schedule. */
  plan: RatePlan | undefined
  shares: Map<string, AgentShare>
  pending: Set<string>
  /** Open model: each running agent's fraction of the run's schedule, now (parts included). */
  fraction: Map<string, number>
  /** Closed model: each running agent's connections, now (parts included). */
  connections: Map<string, number>
  /** Requests each agent reported sent (for `maxRequests` when its share moves). */
  sent: Map<string, number>
  /** `maxRequests` of each agent's share, parts included, when the run has one. */
  maxRequests: Map<string, number>
  /** Reporters expected for each second: `agentId#part` → first interval index it reports. */
  reporters: Map<string, number>
  /** Highest interval index each agent reported, -1 before any. */
  lastIndex: Map<string, number>
  /** Parts added so far (a part number is unique within the job). */
  parts: number
  losses: AgentLoss[]
  totals: StatsAccumulator
  byIndex: Map<number, { acc: StatsAccumulator; from: Set<string> }>
  emitted: Set<number>
  abandoned: number
  done: () => void
}

/**
 * The coordinator of a distributed load test: agents connect to its ZeroMQ `router` route; `run()` splits
 * the rate (or connections) across them, starts all on one schedule, merges their per-second HDR deltas
 * exactly, flags agents above `cpuLimit` CPU and reports any agent lost mid-run.
 *
 * @example
 * ```ts
 * const c = new Coordinator({ listen: 'tcp://0.0.0.0:5600', token })
 * await c.start()
 * const result = await c.run({ scenario: { kind: 'requests', requests: [{ url: 'http://t/' }] }, rate: 10000, minAgents: 4 })
 * ```
 */
export class Coordinator {
  readonly events = new EventEmitter<{ [K in keyof CoordinatorEventMap]: [CoordinatorEventMap[K]] }>()
  /** Bad messages (`invalid`), agents refused by the token check or the CURVE handshake (`refused`). */
  readonly stats = { invalid: 0, refused: 0 }
  readonly #o: Required<Omit<CoordinatorOptions, 'token' | 'curve'>> & CoordinatorOptions
  readonly #node: Node
  readonly #route: Route
  readonly #peers = new Map<string, Peer>()
  #job: Job | undefined
  #state: EngineState = 'idle'
  #timer: NodeJS.Timeout | undefined
  #startPromise: Promise<void> | undefined
  #closePromise: Promise<void> | undefined

  constructor(options: CoordinatorOptions = {}) {
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    const o = {
      listen: 'tcp://127.0.0.1:*',
      heartbeatTimeoutMs: 3000,
      cpuLimit: 0.9,
      startDelayMs: 500,
      ...options,
    }
    if (typeof o.listen !== 'string' || !/^(tcp|ipc):\/\//.test(o.listen))
      throw new TypeError(`options.listen must be a tcp:// or ipc:// endpoint, got ${String(o.listen)}`)
    for (const k of ['heartbeatTimeoutMs', 'startDelayMs'] as const)
      if (!Number.isInteger(o[k]) || o[k] <= 0)
        throw new TypeError(`options.${k} must be a positive integer (ms)`)
    if (!(o.cpuLimit > 0))
      throw new TypeError('options.cpuLimit must be a positive number (fraction of a core)')
    this.#o = o
    this.#node = new Node({ name: 'dripdrop-load-coordinator', transports: [zmqTransport()] })
    this.#route = this.#node.route('loadtest', {
      type: 'router',
      bind: o.listen,
      ...curveOption(o.curve),
    } as never)
    // CURVE: an agent without a listed key (or without CURVE) is refused at the handshake; counted, reported.
    watchHandshakes(
      this.#node,
      'loadtest',
      () => void this.stats.refused++,
      (error) => this.#emit('coordinator:error', { error }),
    )
    this.#route.on('agent.hello', ({ body }, { from }) =>
      this.#guard('agent.hello', body, () => this.#hello(body as HelloMessage, from)),
    )
    this.#route.on('agent.status', ({ body }) =>
      this.#guard('agent.status', body, () => this.#status(body as StatusMessage)),
    )
    this.#route.on('job.interval', ({ body }) =>
      this.#guard('job.interval', body, () => this.#interval(body as IntervalMessage)),
    )
    this.#route.on('job.end', ({ body }) => this.#guard('job.end', body, () => this.#end(body as EndMessage)))
  }

  get state(): EngineState {
    return this.#state
  }

  /** The bound endpoint agents connect to (the real port when `listen` ended in `:*`). */
  get endpoint(): string {
    return this.#route.endpoints[0] ?? this.#o.listen
  }

  /** Every agent known, lost ones included. */
  get agents(): AgentInfo[] {
    return [...this.#peers.values()].map(info)
  }

  /** Whether a run is in progress. */
  get running(): boolean {
    return this.#job !== undefined
  }

  /** Binds. Same promise on repeat. */
  start(): Promise<void> {
    this.#startPromise ??= (async () => {
      this.#state = 'starting'
      await this.#node.start()
      this.#state = 'open'
      this.#timer = setInterval(() => this.#sweep(), Math.min(500, this.#o.heartbeatTimeoutMs / 2))
      this.#timer.unref()
    })()
    return this.#startPromise
  }

  /** Resolves once `n` live agents are connected; rejects with `DD_ERR_NO_AGENTS` after `timeoutMs`. */
  waitForAgents(n: number, timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const live = () => [...this.#peers.values()].filter((p) => p.status !== 'lost').length
      if (live() >= n) return resolve()
      const onJoin = () => {
        if (live() < n) return
        clearTimeout(t)
        this.events.off('coordinator:agent:join', onJoin)
        resolve()
      }
      const t = setTimeout(() => {
        this.events.off('coordinator:agent:join', onJoin)
        reject(new NoAgentsError(`${live()} of ${n} agents connected within ${timeoutMs} ms`))
      }, timeoutMs)
      this.events.on('coordinator:agent:join', onJoin)
    })
  }

  /** Runs one distributed test across the live agents and resolves with the merged result. */
  async run(options: DistributedRunOptions): Promise<DistributedResult> {
    if (this.#job !== undefined) throw new TypeError('a run is already in progress')
    if (
      options.onAgentLost !== undefined &&
      options.onAgentLost !== 'redistribute' &&
      options.onAgentLost !== 'report'
    )
      throw new TypeError(
        `options.onAgentLost must be 'redistribute' or 'report', got ${String(options.onAgentLost)}`,
      )
    await this.start()
    await this.waitForAgents(options.minAgents ?? 1, options.agentsTimeoutMs ?? 10_000)
    const idle = [...this.#peers.values()].filter((p) => p.status === 'idle')
    if (idle.length === 0) throw new NoAgentsError('no idle agent to run the test')
    const open = options.rate !== undefined || options.stages !== undefined
    const durationMs = options.stages?.reduce((s, st) => s + st.durationMs, 0) ?? options.durationMs ?? 10_000
    const totalConnections = options.connections ?? (open ? 100 * idle.length : 10)
    // No agent gets an empty share: with fewer connections (closed model) or requests (maxRequests) than
    // agents, only that many agents take part.
    const peers = idle.slice(
      0,
      Math.max(
        1,
        Math.min(idle.length, open ? idle.length : totalConnections, options.maxRequests ?? idle.length),
      ),
    )
    const n = peers.length
    const conns = split(totalConnections, n)
    const maxReq = options.maxRequests === undefined ? undefined : split(options.maxRequests, n)
    const startAt = Date.now() + this.#o.startDelayMs
    const jobId = randomId(6)
    let done!: () => void
    const finished = new Promise<void>((r) => {
      done = r
    })
    const job: Job = {
      id: jobId,
      model: open ? 'open' : 'closed',
      startAt,
      durationMs,
      options,
      plan: open ? ratePlan({ ...options, durationMs }) : undefined,
      shares: new Map(),
      pending: new Set(),
      fraction: new Map(),
      connections: new Map(),
      sent: new Map(),
      maxRequests: new Map(),
      reporters: new Map(),
      lastIndex: new Map(),
      parts: 0,
      losses: [],
      totals: new StatsAccumulator(),
      byIndex: new Map(),
      emitted: new Set(),
      abandoned: 0,
      done,
    }
    this.#job = job
    peers.forEach((p, i) => {
      const connections = conns[i] as number
      const share: JobShare = {
        jobId,
        auth: proof(this.#o.token, `job:${p.nonce}:${jobId}`),
        scenario: options.scenario,
        durationMs,
        startAt,
        connections: Math.max(1, connections),
        ...(options.rate === undefined ? {} : { rate: options.rate / n }),
        ...(options.stages === undefined
          ? {}
          : { stages: options.stages.map((s) => ({ rate: s.rate / n, durationMs: s.durationMs })) }),
        ...(options.startRate === undefined ? {} : { startRate: options.startRate / n }),
        ...(maxReq === undefined ? {} : { maxRequests: Math.max(1, maxReq[i] as number) }),
        ...pick(options, ['target', 'arrivals', 'pipelining', 'timeoutMs', 'rejectUnauthorized']),
        // Each agent its own stream of random picks, reproducible from the run's seed.
        ...(options.seed === undefined ? {} : { seed: (options.seed + i) >>> 0 }),
      }
      p.status = 'running'
      p.maxCpu = 0
      p.overloaded = false
      job.pending.add(p.agentId)
      job.reporters.set(`${p.agentId}#0`, 0)
      job.lastIndex.set(p.agentId, -1)
      job.sent.set(p.agentId, 0)
      if (open) job.fraction.set(p.agentId, 1 / n)
      else job.connections.set(p.agentId, share.connections as number)
      if (share.maxRequests !== undefined) job.maxRequests.set(p.agentId, share.maxRequests)
      job.shares.set(p.agentId, {
        agentId: p.agentId,
        hostname: p.hostname,
        kind: p.kind,
        ...(share.rate === undefined ? {} : { rate: share.rate }),
        connections: share.connections as number,
        maxCpu: 0,
        overloaded: false,
        lost: false,
        responses: 0,
      })
      this.#sendTo(p, 'job.start', share)
    })
    this.#emit('coordinator:run:start', { jobId, startAt, agents: [...job.pending] })
    await finished
    this.#job = undefined
    for (const p of this.#peers.values()) if (p.status === 'running') p.status = 'idle'
    // Whatever interval was still waiting for a lost agent is emitted now.
    for (const index of [...job.byIndex.keys()].sort((a, b) => a - b)) this.#emitIndex(job, index)
    // One point per second of the common clock, none skipped: a second nobody reported is an empty point.
    const last = Math.max(-1, ...job.byIndex.keys())
    const series: SeriesPoint[] = []
    for (let index = 0; index <= last; index++) {
      const slot = job.byIndex.get(index)
      series.push(
        slot === undefined
          ? seriesPoint(emptyInterval(index, startAt + index * 1000, 0))
          : accPoint(slot.acc, index),
      )
    }
    let lostRate = 0
    for (const loss of job.losses) if (!loss.redistributed && loss.rate !== undefined) lostRate += loss.rate
    const result: DistributedResult = {
      model: job.model,
      startMs: startAt,
      durationMs,
      endMs: Date.now(),
      totals: job.totals,
      series,
      abandoned: job.abandoned,
      agents: [...job.shares.values()],
      lostRate,
      losses: job.losses,
    }
    this.#emit('coordinator:run:end', result)
    return result
  }

  /** Asks every agent of the current run to stop now (each drains briefly and reports). */
  stop(): void {
    const job = this.#job
    if (job === undefined) return
    for (const id of job.pending) {
      const p = this.#peers.get(id)
      if (p !== undefined) this.#sendTo(p, 'job.stop', { jobId: job.id })
    }
  }

  /** Stops a run in progress and unbinds. Same promise on repeat. */
  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      this.#state = 'closing'
      this.stop()
      clearInterval(this.#timer)
      await this.#node.close()
      this.#job?.done()
      this.#state = 'closed'
    })()
    return this.#closePromise
  }

  /** Unbinds at once; a run in progress resolves with what arrived. */
  destroy(): number {
    clearInterval(this.#timer)
    const n = this.#node.destroy() as unknown as number
    this.#job?.done()
    this.#state = 'closed'
    return typeof n === 'number' ? n : 0
  }

  #emit<K extends keyof CoordinatorEventMap>(event: K, payload: CoordinatorEventMap[K]): void {
    try {
      ;(this.events as EventEmitter).emit(event, payload)
    } catch (err) {
      process.emitWarning(`a listener of ${event} threw: ${(err as Error)?.message ?? String(err)}`)
    }
  }

  #sendTo(p: Peer, name: string, body: unknown): void {
    this.#route
      .sendTo(p.from, name, body)
      .catch((error: unknown) => this.#emit('coordinator:error', { error: error as Error }))
  }

  #guard(name: string, body: unknown, fn: () => void): void {
    try {
      const bad = invalidReason(name, body)
      if (bad !== undefined) {
        this.#invalid(`${name}: ${bad}`)
        return
      }
      fn()
    } catch (err) {
      this.#invalid(`${name}: ${(err as Error)?.message ?? String(err)}`)
    }
  }

  #invalid(message: string): void {
    this.stats.invalid++
    this.#emit('coordinator:error', { error: new AgentProtocolError(message) })
  }

  #hello(h: HelloMessage, from: unknown): void {
    if (h.version !== PROTOCOL_VERSION || !verify(this.#o.token, `agent:${h.nonce}`, h.auth)) {
      this.stats.refused++
      const reason =
        h.version !== PROTOCOL_VERSION
          ? `protocol version ${h.version} (want ${PROTOCOL_VERSION})`
          : 'bad token'
      this.#route.sendTo(from, 'agent.refused', { reason }).catch(() => {})
      this.#emit('coordinator:error', { error: new AgentAuthError(`agent ${h.agentId} refused: ${reason}`) })
      return
    }
    const known = this.#peers.get(h.agentId)
    if (known === undefined && this.#peers.size >= MAX_AGENTS) {
      // Bounded: forget the lost agents first, then refuse.
      for (const [id, peer] of this.#peers) if (peer.status === 'lost') this.#peers.delete(id)
      if (this.#peers.size >= MAX_AGENTS) {
        this.stats.refused++
        this.#route
          .sendTo(from, 'agent.refused', { reason: `more than ${MAX_AGENTS} agents` })
          .catch(() => {})
        return
      }
    }
    const peer: Peer = {
      agentId: h.agentId,
      hostname: String(h.hostname ?? '').slice(0, 256),
      pid: Number(h.pid) || 0,
      kind: h.kind === 'thread' ? 'thread' : 'process',
      cpu: 0,
      maxCpu: 0,
      overloaded: false,
      // A lost agent that comes back joins as idle: its old share stays counted as lost.
      status: known !== undefined && known.status === 'running' ? 'running' : 'idle',
      lastSeenMs: Date.now(),
      from,
      nonce: h.nonce,
      lastStopMs: 0,
    }
    this.#peers.set(h.agentId, peer)
    this.#sendTo(peer, 'agent.welcome', { auth: proof(this.#o.token, `coordinator:${h.nonce}`) })
    this.#emit('coordinator:agent:join', info(peer))
  }

  #peer(agentId: string): Peer | undefined {
    const p = this.#peers.get(agentId)
    if (p === undefined) {
      this.#invalid(`message from unknown agent ${agentId}`)
      return undefined
    }
    if (p.status === 'lost') {
      // Lost, yet talking (it was paused or cut off, not dead): its share may run elsewhere now, so it stops.
      const job = this.#job
      if (job?.shares.has(agentId) && Date.now() - p.lastStopMs > 1000) {
        p.lastStopMs = Date.now()
        this.#sendTo(p, 'job.stop', { jobId: job.id })
      }
      return undefined
    }
    p.lastSeenMs = Date.now()
    return p
  }

  #cpu(p: Peer, cpu: number): void {
    p.cpu = cpu
    const job = this.#job
    if (job === undefined || !job.pending.has(p.agentId)) return
    p.maxCpu = Math.max(p.maxCpu, cpu)
    const share = job.shares.get(p.agentId)
    if (share !== undefined) share.maxCpu = p.maxCpu
    if (cpu > this.#o.cpuLimit && !p.overloaded) {
      p.overloaded = true
      if (share !== undefined) share.overloaded = true
      this.#emit('coordinator:agent:overloaded', info(p))
    }
  }

  #status(s: StatusMessage): void {
    const p = this.#peer(s.agentId)
    if (p !== undefined) this.#cpu(p, s.cpu)
  }

  #interval(m: IntervalMessage): void {
    const p = this.#peer(m.agentId)
    const job = this.#job
    if (p === undefined) return
    const part = m.part ?? 0
    const reporter = `${m.agentId}#${part}`
    if (job === undefined || job.id !== m.jobId || !job.reporters.has(reporter)) {
      this.#invalid(`job.interval for job ${m.jobId} part ${part} that is not running on agent ${m.agentId}`)
      return
    }
    // One slot per interval of the run: an index outside it would grow the map without bound.
    const maxIndex = Math.ceil(job.durationMs / 1000) + 60
    if (!Number.isInteger(m.delta.index) || m.delta.index < 0 || m.delta.index > maxIndex) {
      this.#invalid(`job.interval index ${m.delta.index} outside 0..${maxIndex}`)
      return
    }
    this.#cpu(p, m.cpu)
    // Decoded on its own first, so a bad histogram is refused whole, never half added.
    const checked = new StatsAccumulator().add(m.delta)
    // Added as live histograms: decoded once per message, never re-encoded.
    const live = {
      counters: checked.counters,
      latency: checked.latency,
      service: checked.service,
      lag: checked.lag,
      names: checked.names,
    }
    job.totals.addLive(live, m.delta.startMs, m.delta.durationMs)
    const share = job.shares.get(m.agentId)
    if (share !== undefined) share.responses += m.delta.counters.responses
    job.sent.set(m.agentId, (job.sent.get(m.agentId) ?? 0) + m.delta.counters.sent)
    job.lastIndex.set(m.agentId, Math.max(job.lastIndex.get(m.agentId) ?? -1, m.delta.index))
    let slot = job.byIndex.get(m.delta.index)
    if (slot === undefined)
      job.byIndex.set(m.delta.index, (slot = { acc: new StatsAccumulator(), from: new Set() }))
    slot.acc.addLive(live, m.delta.startMs, m.delta.durationMs)
    slot.from.add(reporter)
    this.#emitIfComplete(job, m.delta.index)
  }

  /** Emits a second once every part running in it (on an agent still running) has reported it. */
  #emitIfComplete(job: Job, index: number): void {
    const slot = job.byIndex.get(index)
    if (slot === undefined || job.emitted.has(index)) return
    for (const [reporter, first] of job.reporters) if (first <= index && !slot.from.has(reporter)) return
    this.#emitIndex(job, index)
  }

  #emitIndex(job: Job, index: number): void {
    if (job.emitted.has(index)) return
    const slot = job.byIndex.get(index)
    if (slot === undefined) return
    job.emitted.add(index)
    const point = accPoint(slot.acc, index)
    this.#emit('coordinator:progress', { point, agents: this.agents })
  }

  #end(m: EndMessage): void {
    const p = this.#peer(m.agentId)
    const job = this.#job
    if (p === undefined || job === undefined || job.id !== m.jobId || !job.pending.has(m.agentId)) return
    job.pending.delete(m.agentId)
    this.#forget(job, m.agentId)
    job.abandoned += m.abandoned
    p.status = 'idle'
    const share = job.shares.get(m.agentId)
    if (share !== undefined && m.error !== undefined) share.error = String(m.error).slice(0, 1000)
    if (job.pending.size === 0) job.done()
  }

  #sweep(): void {
    const now = Date.now()
    for (const p of this.#peers.values()) {
      if (p.status === 'lost' || now - p.lastSeenMs <= this.#o.heartbeatTimeoutMs) continue
      p.status = 'lost'
      const job = this.#job
      this.#emit('coordinator:agent:lost', info(p))
      if (job?.pending.delete(p.agentId)) {
        this.#lose(job, p, now)
        if (job.pending.size === 0) job.done()
      }
    }
  }

  /** Stops expecting an agent's intervals; seconds that waited only for it are emitted. */
  #forget(job: Job, agentId: string): void {
    for (const reporter of [...job.reporters.keys()])
      if (reporter.startsWith(`${agentId}#`)) job.reporters.delete(reporter)
    for (const index of [...job.byIndex.keys()].sort((a, b) => a - b)) this.#emitIfComplete(job, index)
  }

  /** An agent of the running job was lost: record it, and move its share onto the survivors unless told not to. */
  #lose(job: Job, p: Peer, now: number): void {
    this.#forget(job, p.agentId)
    const share = job.shares.get(p.agentId)
    if (share !== undefined) {
      share.lost = true
      share.lostAtMs = p.lastSeenMs
    }
    const fraction = job.fraction.get(p.agentId) ?? 0
    const connections = job.connections.get(p.agentId) ?? 0
    job.fraction.delete(p.agentId)
    job.connections.delete(p.agentId)
    const gapStart = job.startAt + ((job.lastIndex.get(p.agentId) ?? -1) + 1) * 1000
    const end = job.startAt + job.durationMs
    // The next second boundary of the common clock that leaves the survivors time to get the message.
    const boundary =
      job.startAt + Math.max(0, Math.ceil((now + REDISTRIBUTE_LEAD_MS - job.startAt) / 1000)) * 1000
    const survivors = [...job.pending]
      .map((id) => this.#peers.get(id))
      .filter((q): q is Peer => q !== undefined && q.status === 'running')
      .filter((q) => job.shares.get(q.agentId)?.error === undefined)
    const moving =
      (job.options.onAgentLost ?? 'redistribute') === 'redistribute' &&
      survivors.length > 0 &&
      boundary < end &&
      (job.model === 'open' ? fraction > 0 : connections > 0)
    const gapEnd = Math.max(gapStart, moving ? boundary : end)
    const loss: AgentLoss = {
      agentId: p.agentId,
      hostname: p.hostname,
      lastSeenMs: p.lastSeenMs,
      detectedMs: now,
      ...(job.plan === undefined ? { connections } : { rate: fraction * rateNow(job, p.lastSeenMs) }),
      redistributed: moving,
      to: [],
      gapStartMs: gapStart,
      gapEndMs: gapEnd,
      ...(job.plan === undefined
        ? {}
        : {
            gapScheduled: Math.round(
              fraction * arrivalsBetween(job.plan, gapStart - job.startAt, gapEnd - job.startAt),
            ),
          }),
    }
    if (moving) {
      loss.redistributedAtMs = boundary
      const from = boundary - job.startAt
      const firstIndex = from / 1000
      const conns = split(connections, survivors.length)
      const maxLeft =
        job.maxRequests.get(p.agentId) === undefined
          ? undefined
          : split(
              Math.max(0, (job.maxRequests.get(p.agentId) ?? 0) - (job.sent.get(p.agentId) ?? 0)),
              survivors.length,
            )
      survivors.forEach((q, i) => {
        const partConnections = conns[i] as number
        if (job.plan === undefined && partConnections === 0) return
        if (maxLeft !== undefined && (maxLeft[i] as number) === 0) return
        const part = ++job.parts
        const k = fraction / survivors.length
        const plan = job.plan === undefined ? undefined : scalePlan(planFrom(job.plan, from), k)
        const o = job.options
        const add: JobShare = {
          jobId: job.id,
          auth: proof(this.#o.token, `job:${q.nonce}:${job.id}:${part}`),
          scenario: o.scenario,
          durationMs: job.durationMs - from,
          startAt: boundary,
          part,
          firstIndex,
          ...(plan === undefined
            ? { connections: partConnections }
            : {
                stages: plan.stages,
                startRate: plan.startRate,
                // The open model's in-flight cap, in proportion to the rate taken over.
                connections: Math.max(1, Math.ceil((o.connections ?? 100 * job.shares.size) * k)),
              }),
          ...(maxLeft === undefined ? {} : { maxRequests: maxLeft[i] as number }),
          ...pick(o, ['target', 'arrivals', 'pipelining', 'timeoutMs', 'rejectUnauthorized']),
          ...(o.seed === undefined ? {} : { seed: (o.seed + 7919 * part) >>> 0 }),
        }
        if (job.plan !== undefined) job.fraction.set(q.agentId, (job.fraction.get(q.agentId) ?? 0) + k)
        else job.connections.set(q.agentId, (job.connections.get(q.agentId) ?? 0) + partConnections)
        if (maxLeft !== undefined)
          job.maxRequests.set(q.agentId, (job.maxRequests.get(q.agentId) ?? 0) + (maxLeft[i] as number))
        // Expected from its first second on, so the merged seconds wait for it like for any share.
        job.reporters.set(`${q.agentId}#${part}`, firstIndex)
        const taker = job.shares.get(q.agentId)
        if (taker !== undefined)
          (taker.added ??= []).push({
            fromAgentId: p.agentId,
            startMs: boundary,
            ...(plan === undefined ? { connections: partConnections } : { rate: plan.startRate }),
          })
        loss.to.push(q.agentId)
        this.#sendTo(q, 'job.add', add)
      })
      loss.redistributed = loss.to.length > 0
      if (!loss.redistributed) {
        delete loss.redistributedAtMs
        loss.gapEndMs = Math.max(gapStart, end)
        if (job.plan !== undefined)
          loss.gapScheduled = Math.round(
            fraction * arrivalsBetween(job.plan, gapStart - job.startAt, end - job.startAt),
          )
      }
    }
    job.losses.push(loss)
    this.#emit('coordinator:agent:share', loss)
  }
}

/** How far ahead of a second boundary a redistribution must be decided for the survivors to start on it, ms. */
const REDISTRIBUTE_LEAD_MS = 300

/** The whole run's rate at epoch ms `at` (clamped to the run), req/s (open model). */
function rateNow(job: Job, at: number): number {
  if (job.plan === undefined) return 0
  return rateAtPlan(job.plan, Math.min(Math.max(0, at - job.startAt), job.durationMs - 1))
}

/** One merged second as a series point, from its live histograms (no encode/decode round trip). */
function accPoint(acc: StatsAccumulator, index: number): SeriesPoint {
  const startMs = Number.isFinite(acc.startMs) ? acc.startMs : 0
  return pointOf(
    index,
    startMs,
    Math.max(0, acc.endMs - startMs),
    acc.counters,
    acc.latency,
    acc.service,
    acc.lag,
  )
}

/** Agents known at once (lost ones are forgotten first when full). */
const MAX_AGENTS = 4096

function info(p: Peer): AgentInfo {
  const { from: _from, nonce: _nonce, lastStopMs: _stop, ...rest } = p
  return { ...rest }
}

/** Splits `total` into `n` integer parts differing by at most one. */
export function split(total: number, n: number): number[] {
  const base = Math.floor(total / n)
  return Array.from({ length: n }, (_, i) => base + (i < total - base * n ? 1 : 0))
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {}
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k]
  return out
}
