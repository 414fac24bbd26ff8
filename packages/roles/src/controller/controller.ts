import { type DripdropError, Node, type Route } from '@dripdrop/core'
import { type CurveOptions, zmqTransport } from '@dripdrop/zmq'
import {
  AGENT_PROTOCOL_VERSION,
  DEFAULT_AGENTS_ADDRESS,
  type CommandMessage,
  type ControlMessage,
  type InstanceEventMessage,
  type InstanceReport,
  invalidReason,
  type LogDataMessage,
  MAX_LOG_LINES,
  type RegisterMessage,
  type ResultMessage,
} from '../agent/messages.js'
import { AgentError } from '../errors.js'
import { TypedEvents } from '../events.js'
import { loadTopology } from '../topology/load.js'
import type { ResolvedInstance, Topology } from '../topology/types.js'
import { type Move, InstancePlacement } from './placement.js'

/** Options of a {@link RoleController}. */
export interface RoleControllerOptions {
  /** The topology: a file path (YAML, JSON, TS/JS module) or the object. */
  topology: string | Topology
  /** Where agents connect (a ZeroMQ ROUTER binds here). @default 'tcp://0.0.0.0:7200' */
  agents?: string
  /**
   * ZeroMQ CURVE options of the agent channel (`CurveOptions` of @dripdrop/zmq): the control server's key pair
   * and, with `allow`, the agents' public keys. An agent without a listed key is refused at the handshake
   * (counted in `stats.refused.DD_ERR_HANDSHAKE`). @default undefined (no CURVE)
   */
  curve?: CurveOptions
  /** How often the controller and each agent say they are alive, ms. @default 1000 */
  heartbeatIntervalMs?: number
  /**
   * An agent silent this long is a lost host: its instances fail over to the surviving hosts, ms.
   * @default 3000
   */
  heartbeatTimeoutMs?: number
  /** Move a lost host's instances to surviving hosts. @default true */
  failover?: boolean
  /** How long a command waits for its agents' answers, ms. @default 15000 */
  commandTimeoutMs?: number
}

/** State of a host as the controller sees it. */
export type HostState = 'waiting' | 'up' | 'lost'

/** What {@link RoleController.status} returns. */
export interface ControllerStatus {
  app: string
  generation: number
  hosts: {
    host: string
    address: string
    state: HostState
    /** ms since the agent was last heard (undefined before it ever registered). */
    silentMs: number | undefined
    agent: { pid: number; session: string } | undefined
    instances: string[]
  }[]
  instances: {
    instance: string
    role: string
    host: string
    home: string
    state: InstanceReport['state'] | 'unknown' | 'down'
    pid: number | undefined
    restarts: number
    /** ms since the epoch of the last event about it. */
    since: number | undefined
  }[]
}

/** Events of a {@link RoleController}. */
export interface ControllerEventMap {
  /** An agent registered (first time, after a restart, or back after being lost). */
  'host:up': { host: string; address: string; pid: number; back: boolean }
  /** An agent was silent for `heartbeatTimeoutMs`. */
  'host:lost': { host: string; silentMs: number }
  /** A failover (or a rebalance) moved instances; `unplaced` found no host allowed to take them. */
  failover: { host: string; moved: Move[]; unplaced: string[] }
  /** An instance event from an agent, with the controller's receive time. */
  'instance:up': InstanceEvent
  'instance:down': InstanceEvent
  'instance:restart': InstanceEvent
  'instance:failed': InstanceEvent
  'instance:stopped': InstanceEvent
  /** A role has fewer instances placed on live hosts than its `min`. */
  'role:degraded': { role: string; running: number; min: number }
  /** An assignment was sent to a host. */
  assignment: { host: string; generation: number; instances: number }
  /** A bad message, a refused handshake, a failed send. The controller goes on. */
  'controller:error': { error: Error }
}

/** An instance event as the controller emits it. */
export interface InstanceEvent {
  host: string
  instance: string
  role: string
  pid: number | undefined
  code: number | null | undefined
  signal: string | null | undefined
  /** The agent's clock when it saw the event. */
  at: number
  /** The controller's clock when the event arrived. */
  receivedAt: number
}

interface AgentLink {
  host: string
  from: unknown
  session: string
  pid: number
  allow: string[]
  lastHeard: number
  state: HostState
}

interface InstanceInfo {
  state: ControllerStatus['instances'][number]['state']
  pid: number | undefined
  restarts: number
  since: number | undefined
}

interface Pending {
  resolve: (r: ResultMessage) => void
  timer: NodeJS.Timeout
}

type State = 'idle' | 'starting' | 'open' | 'closing' | 'closed'

/**
 * The brain of the control server for role-based deployment: loads a topology, accepts the hosts' agents on a
 * ZeroMQ ROUTER (the agent channel, docs/protocol.md § Agent channel), sends each the resolved instances of
 * its host, hears their instance events at once and their heartbeats, and when a host goes silent for
 * `heartbeatTimeoutMs` moves its instances to surviving hosts that allow their roles (within `max`), then
 * sends every affected instance its new addresses (agents forward them over IPC, `role()` emits `change`,
 * `follow()` reconnects: nothing restarts). A lost host that comes back rejoins **empty**; `rebalance()`
 * moves its instances home. Commands (start/stop/restart/kill, scale, reload) and logs go through the agents.
 *
 * @example
 * ```ts
 * const controller = new RoleController({ topology: 'shop.yaml', agents: 'tcp://0.0.0.0:7200' })
 * controller.on('host:lost', (e) => console.log('lost', e.host))
 * await controller.start()
 * ```
 */
export class RoleController extends TypedEvents<ControllerEventMap> {
  /** Registrations, failovers, invalid messages, refusals by code (`DD_ERR_HANDSHAKE` for CURVE refusals). */
  readonly stats = { registrations: 0, failovers: 0, invalid: 0, refused: {} as Record<string, number> }
  readonly #o: Required<Omit<RoleControllerOptions, 'curve' | 'topology'>> & RoleControllerOptions
  readonly #node: Node
  readonly #route: Route
  readonly #agents = new Map<string, AgentLink>()
  readonly #info = new Map<string, InstanceInfo>()
  readonly #pending = new Map<number, Pending>()
  readonly #logSinks = new Map<number, (m: LogDataMessage) => void>()
  #placement: InstancePlacement | undefined
  #generation = 0
  #seq = 0
  #timer: NodeJS.Timeout | undefined
  #lastBeat = 0
  #state: State = 'idle'
  #started: Promise<void> | undefined
  #closed: Promise<void> | undefined

  constructor(options: RoleControllerOptions) {
    super()
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    if (
      typeof options.topology !== 'string' &&
      (options.topology === null || typeof options.topology !== 'object')
    )
      throw new TypeError('options.topology must be a file path or a topology object')
    for (const k of ['heartbeatIntervalMs', 'heartbeatTimeoutMs', 'commandTimeoutMs'] as const) {
      const v = options[k]
      if (v !== undefined && !(Number.isInteger(v) && v > 0))
        throw new TypeError(`options.${k} must be a positive integer (ms), got ${String(v)}`)
    }
    this.#o = {
      agents: DEFAULT_AGENTS_ADDRESS,
      heartbeatIntervalMs: 1000,
      heartbeatTimeoutMs: 3000,
      failover: true,
      commandTimeoutMs: 15_000,
      ...options,
    }
    if (this.#o.heartbeatTimeoutMs <= this.#o.heartbeatIntervalMs)
      throw new TypeError('options.heartbeatTimeoutMs must be larger than options.heartbeatIntervalMs')
    this.#node = new Node({
      name: 'dd.control.agents',
      transports: [zmqTransport(options.curve === undefined ? {} : { curve: options.curve })],
    })
    this.#route = this.#node.route('agents', {
      type: 'router',
      bind: this.#o.agents,
      heartbeatIntervalMs: 1000,
      heartbeatTimeoutMs: 3000,
    } as never)
    this.#route.on('*', ({ name, body }, { from }) => this.#receive(name, body, from))
    this.#node.events.on('route:error', ({ error }) => this.#refuse(error))
  }

  get state(): State {
    return this.#state
  }

  /** The agent channel's bound endpoint (with its real port) once started. */
  get endpoint(): string {
    return this.#route.endpoints[0] ?? this.#o.agents
  }

  /** The topology in use. */
  get topology(): Topology {
    return this.#need().topology
  }

  /** Loads the topology, binds the agent channel. Same promise on repeat. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      this.#state = 'starting'
      this.#placement = new InstancePlacement(await this.#load())
      await this.#node.start()
      this.#state = 'open'
      this.#timer = setInterval(() => this.#tick(), Math.min(250, this.#o.heartbeatIntervalMs))
    })()
    return this.#started
  }

  /** Stops listening to agents (their children keep running; agents register again with the next one). */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#state = 'closing'
      clearInterval(this.#timer)
      this.#endPending()
      await this.#node.close()
      this.#state = 'closed'
    })()
    return this.#closed
  }

  /** Drops the agent channel at once. */
  destroy(): number {
    clearInterval(this.#timer)
    this.#endPending()
    this.#state = 'closed'
    this.#closed ??= Promise.resolve()
    return this.#node.destroy()
  }

  /** Hosts, their agents, and every instance with its state. */
  status(): ControllerStatus {
    const p = this.#need()
    const now = Date.now()
    return {
      app: p.topology.name,
      generation: this.#generation,
      hosts: p.hosts().map((host) => {
        const a = this.#agents.get(host)
        return {
          host,
          address: p.hostAddress(host),
          state: a?.state ?? 'waiting',
          silentMs: a === undefined ? undefined : now - a.lastHeard,
          agent: a === undefined ? undefined : { pid: a.pid, session: a.session },
          instances: p.on(host).map((x) => x.instance),
        }
      }),
      instances: [...p.placed.values()].map((x) => {
        const info = this.#info.get(x.instance)
        return {
          instance: x.instance,
          role: x.role,
          host: x.host,
          home: x.home,
          state: info?.state ?? 'unknown',
          pid: info?.pid,
          restarts: info?.restarts ?? 0,
          since: info?.since,
        }
      }),
    }
  }

  /** Hosts with a live agent. */
  upHosts(): string[] {
    return [...this.#agents.values()].filter((a) => a.state === 'up').map((a) => a.host)
  }

  // ---- commands ----

  /**
   * Starts, stops, restarts (or SIGKILLs, to test supervision) one instance or every instance of a role, on
   * the hosts that run them. Resolves when every agent involved answered; rejects with `DD_ERR_CONTROL` naming
   * what failed.
   */
  async command(
    op: 'start' | 'stop' | 'restart' | 'kill',
    target: { instance?: string; role?: string },
  ): Promise<void> {
    const p = this.#need()
    const { instance, role } = target
    let hosts: string[]
    if (instance !== undefined) {
      const x = p.placed.get(instance)
      if (x === undefined) throw new AgentError(`unknown instance "${instance}"`, 'DD_ERR_CONTROL')
      hosts = [x.host]
    } else if (role !== undefined) {
      if (p.topology.roles[role] === undefined)
        throw new AgentError(`unknown role "${role}"`, 'DD_ERR_CONTROL')
      if (op === 'kill') throw new AgentError('kill takes one instance', 'DD_ERR_CONTROL')
      hosts = [...new Set([...p.placed.values()].filter((x) => x.role === role).map((x) => x.host))]
    } else throw new AgentError('command needs an instance or a role', 'DD_ERR_CONTROL')
    const results = await Promise.all(
      hosts.map((host) =>
        this.#ask(host, {
          type: 'agent.command',
          id: 0,
          op,
          ...(instance === undefined ? { role } : { instance }),
        }),
      ),
    )
    const failed = results.filter((r) => !r.ok)
    if (failed.length > 0)
      throw new AgentError(
        `${op} failed: ${failed.map((r) => r.error?.message ?? 'unknown').join('; ')}`,
        'DD_ERR_CONTROL',
      )
  }

  /** Runs `n` instances of `role` in all (new ones on the least loaded allowed hosts); pushes the new assignments. */
  scale(role: string, n: number): { added: string[]; removed: string[] } {
    const p = this.#need()
    if (p.topology.roles[role] === undefined) throw new AgentError(`unknown role "${role}"`, 'DD_ERR_CONTROL')
    if (!(Number.isInteger(n) && n >= 0))
      throw new AgentError(`scale: n must be an integer >= 0, got ${n}`, 'DD_ERR_CONTROL')
    const r = p.scale(role, n, this.upHosts(), (h) => this.#agents.get(h)?.allow ?? [])
    for (const name of r.removed) this.#info.delete(name)
    this.#assignAll()
    return r
  }

  /** Moves instances that failed over back to their home hosts when those are up again. */
  rebalance(): Move[] {
    const moves = this.#need().rebalance(this.upHosts())
    if (moves.length > 0) {
      this.emit('failover', { host: '*', moved: moves, unplaced: [] })
      this.#assignAll()
    }
    return moves
  }

  /**
   * Reads the topology again (the file, or the object given) and places every instance as it says, lost hosts
   * failed over again. Agents apply their new assignment: only instances whose definition or addresses changed
   * are touched. Moves made by `rebalance`/`scale` are forgotten.
   */
  async reload(topology?: Topology): Promise<void> {
    const next = topology ?? (await this.#load())
    const p = this.#need()
    p.reset(next)
    for (const name of [...this.#info.keys()]) if (!p.placed.has(name)) this.#info.delete(name)
    for (const a of this.#agents.values())
      if (a.state === 'lost' && this.#o.failover)
        p.failover(a.host, this.upHosts(), (h) => this.#agents.get(h)?.allow ?? [])
    this.#assignAll()
  }

  /**
   * An instance's log lines from its agent: the last `lines` (default 100), then with `follow` every new line
   * until `signal` aborts. Rejects with `DD_ERR_CONTROL` when its host has no live agent.
   */
  async *logs(
    instance: string,
    options: { lines?: number; follow?: boolean; signal?: AbortSignal } = {},
  ): AsyncGenerator<LogDataMessage['lines'][number]> {
    const p = this.#need()
    const x = p.placed.get(instance)
    if (x === undefined) throw new AgentError(`unknown instance "${instance}"`, 'DD_ERR_CONTROL')
    const a = this.#agents.get(x.host)
    if (a === undefined || a.state !== 'up')
      throw new AgentError(`host "${x.host}" has no live agent`, 'DD_ERR_CONTROL')
    const id = ++this.#seq
    const queue: LogDataMessage['lines'] = []
    let done = false
    let wake: (() => void) | undefined
    this.#logSinks.set(id, (m) => {
      queue.push(...m.lines)
      // Bounded: a reader slower than the agent loses the oldest lines.
      if (queue.length > MAX_LOG_LINES) queue.splice(0, queue.length - MAX_LOG_LINES)
      if (m.done) done = true
      wake?.()
    })
    const stop = () => {
      this.#sendTo(a.from, { type: 'logs.stop', id })
      done = true
      wake?.()
    }
    options.signal?.addEventListener('abort', stop, { once: true })
    this.#sendTo(a.from, {
      type: 'logs.request',
      id,
      instance,
      lines: Math.min(options.lines ?? 100, MAX_LOG_LINES),
      follow: options.follow === true,
    })
    try {
      for (;;) {
        const line = queue.shift()
        if (line !== undefined) {
          yield line
          continue
        }
        if (done || this.#state !== 'open') return
        await new Promise<void>((r) => {
          wake = r
        })
        wake = undefined
      }
    } finally {
      this.#logSinks.delete(id)
      options.signal?.removeEventListener('abort', stop)
      if (!done) this.#sendTo(a.from, { type: 'logs.stop', id })
    }
  }

  // ---- internals ----

  // Commands still waiting for an agent's answer fail (the controller is going away).
  #endPending(): void {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer)
      p.resolve({
        type: 'agent.result',
        id,
        ok: false,
        error: { code: 'DD_ERR_CONTROL', message: 'the controller closed' },
      })
    }
    this.#pending.clear()
  }

  #need(): InstancePlacement {
    if (this.#placement === undefined) throw new AgentError('the controller is not started', 'DD_ERR_CONTROL')
    return this.#placement
  }

  async #load(): Promise<Topology> {
    const t = this.#o.topology
    return typeof t === 'string' ? await loadTopology(t) : t
  }

  #sendTo(from: unknown, message: ControlMessage): void {
    if (this.#state !== 'open') return
    const { type, ...body } = message
    this.#route.sendTo(from, type, body).catch((error: unknown) => this.#error(error as Error))
  }

  #ask(host: string, message: CommandMessage): Promise<ResultMessage> {
    const a = this.#agents.get(host)
    if (a === undefined || a.state !== 'up')
      return Promise.resolve({
        type: 'agent.result',
        id: 0,
        ok: false,
        error: { code: 'DD_ERR_CONTROL', message: `host "${host}" has no live agent` },
      })
    const id = ++this.#seq
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id)
        resolve({
          type: 'agent.result',
          id,
          ok: false,
          error: {
            code: 'DD_ERR_TIMEOUT',
            message: `host "${host}" did not answer within ${this.#o.commandTimeoutMs} ms`,
          },
        })
      }, this.#o.commandTimeoutMs)
      this.#pending.set(id, { resolve, timer })
      this.#sendTo(a.from, { ...message, id })
    })
  }

  #receive(name: string, body: unknown, from: unknown): void {
    const bad = invalidReason(name, body)
    if (bad !== undefined) {
      this.stats.invalid++
      this.#error(new AgentError(`invalid ${name} from an agent: ${bad}`, 'DD_ERR_AGENT_PROTOCOL'))
      return
    }
    const b = body as Record<string, unknown>
    if (name === 'agent.register') {
      this.#register({ type: 'agent.register', ...b } as RegisterMessage, from)
      return
    }
    const a = this.#byPeer(from)
    if (a === undefined) return // not registered (yet): it registers again on its own
    a.lastHeard = Date.now()
    switch (name) {
      case 'agent.heartbeat':
        return
      case 'instance.event':
        this.#instanceEvent(a, { type: 'instance.event', ...b } as InstanceEventMessage)
        return
      case 'agent.result': {
        const p = this.#pending.get(b.id as number)
        if (p === undefined) return
        this.#pending.delete(b.id as number)
        clearTimeout(p.timer)
        p.resolve({ type: 'agent.result', ...b } as ResultMessage)
        return
      }
      case 'logs.data':
        this.#logSinks.get(b.id as number)?.({ type: 'logs.data', ...b } as LogDataMessage)
        return
      default:
        this.stats.invalid++
    }
  }

  #byPeer(from: unknown): AgentLink | undefined {
    const key = peerKey(from)
    for (const a of this.#agents.values()) if (a.state === 'up' && peerKey(a.from) === key) return a
    return undefined
  }

  #register(m: RegisterMessage, from: unknown): void {
    const p = this.#need()
    const reason = this.#refusal(p, m)
    if (reason !== undefined) {
      const [code, text] = reason
      this.stats.refused[code] = (this.stats.refused[code] ?? 0) + 1
      this.#sendTo(from, { type: 'agent.refused', code, reason: text })
      this.#error(new AgentError(`agent of host "${m.host}" refused: ${text}`, code))
      return
    }
    const before = this.#agents.get(m.host)
    const back = before?.state === 'lost'
    const same = before !== undefined && before.state === 'up' && before.session === m.session
    const a: AgentLink = {
      host: m.host,
      from,
      session: m.session,
      pid: m.pid,
      allow: m.allow,
      lastHeard: Date.now(),
      state: 'up',
    }
    this.#agents.set(m.host, a)
    if (m.address !== undefined) p.addressOverride.set(m.host, m.address)
    this.stats.registrations++
    this.#sendTo(from, {
      type: 'agent.welcome',
      app: p.topology.name,
      heartbeatIntervalMs: this.#o.heartbeatIntervalMs,
      heartbeatTimeoutMs: this.#o.heartbeatTimeoutMs,
    })
    // What it runs now, for the instances placed on it (a lost host's leftovers are stopped by the assignment).
    for (const r of m.instances) {
      const x = p.placed.get(r.instance)
      if (x === undefined || x.host !== m.host) continue
      this.#info.set(r.instance, { state: r.state, pid: r.pid, restarts: r.restarts, since: Date.now() })
    }
    if (!same) this.emit('host:up', { host: m.host, address: p.hostAddress(m.host), pid: m.pid, back })
    // A registration changes nothing for the others unless its address changed; its own assignment is sent
    // every time (after a control-server restart the agent needs it to know it is still wanted).
    this.#assign(m.host)
    if (m.address !== undefined && before === undefined) this.#assignAll()
  }

  // Why a registration is refused ([code, reason]), or undefined.
  #refusal(p: InstancePlacement, m: RegisterMessage): [string, string] | undefined {
    if (Math.trunc(m.version) !== AGENT_PROTOCOL_VERSION)
      return [
        'DD_ERR_AGENT_VERSION',
        `protocol version ${m.version}, this control server speaks ${AGENT_PROTOCOL_VERSION}`,
      ]
    if (!p.hosts().includes(m.host))
      return [
        'DD_ERR_AGENT_REFUSED',
        `host "${m.host}" is not in the topology (hosts: ${p.hosts().join(', ')})`,
      ]
    if (m.allow.length > 0) {
      const home = [...new Set(p.on(m.host).map((x) => x.role))].filter((r) => !m.allow.includes(r))
      if (home.length > 0)
        return [
          'DD_ERR_AGENT_REFUSED',
          `host "${m.host}" runs ${home.join(', ')}, which this agent does not allow`,
        ]
    }
    return undefined
  }

  #instanceEvent(a: AgentLink, m: InstanceEventMessage): void {
    const x = this.#need().placed.get(m.instance)
    if (x === undefined || x.host !== a.host) return // a leftover of a host that was failed over
    const receivedAt = Date.now()
    const info = this.#info.get(m.instance) ?? {
      state: 'unknown',
      pid: undefined,
      restarts: 0,
      since: undefined,
    }
    info.since = m.at
    switch (m.event) {
      case 'up':
        info.state = 'running'
        info.pid = m.pid
        break
      case 'down':
        info.state = 'down'
        info.pid = undefined
        break
      case 'restart':
        info.state = 'backoff'
        info.restarts++
        break
      case 'failed':
        info.state = 'failed'
        break
      case 'stopped':
        info.state = 'stopped'
        info.pid = undefined
        break
    }
    this.#info.set(m.instance, info)
    this.emit(`instance:${m.event}` as 'instance:up', {
      host: a.host,
      instance: m.instance,
      role: m.role,
      pid: m.pid,
      code: m.code,
      signal: m.signal,
      at: m.at,
      receivedAt,
    })
  }

  #assign(host: string): void {
    const a = this.#agents.get(host)
    if (a === undefined || a.state !== 'up') return
    const instances: ResolvedInstance[] = this.#need().resolveHost(host)
    const generation = ++this.#generation
    this.#sendTo(a.from, { type: 'agent.assignment', generation, instances })
    this.emit('assignment', { host, generation, instances: instances.length })
  }

  #assignAll(): void {
    for (const host of this.upHosts()) this.#assign(host)
  }

  #tick(): void {
    const now = Date.now()
    for (const a of this.#agents.values()) {
      if (a.state !== 'up' || now - a.lastHeard <= this.#o.heartbeatTimeoutMs) continue
      a.state = 'lost'
      this.emit('host:lost', { host: a.host, silentMs: now - a.lastHeard })
      for (const x of this.#need().on(a.host)) {
        const info = this.#info.get(x.instance)
        if (info !== undefined) info.state = 'unknown'
      }
      if (this.#o.failover) this.#failover(a.host)
    }
    if (now - this.#lastBeat >= this.#o.heartbeatIntervalMs) {
      this.#lastBeat = now
      for (const a of this.#agents.values())
        if (a.state === 'up') this.#sendTo(a.from, { type: 'agent.heartbeat', at: now })
    }
  }

  #failover(lost: string): void {
    const p = this.#need()
    const { moved, unplaced } = p.failover(lost, this.upHosts(), (h) => this.#agents.get(h)?.allow ?? [])
    this.stats.failovers++
    for (const m of moved)
      this.#info.set(m.instance, { state: 'unknown', pid: undefined, restarts: 0, since: Date.now() })
    this.emit('failover', { host: lost, moved, unplaced: unplaced.map((x) => x.instance) })
    for (const role of Object.keys(p.topology.roles)) {
      const up = new Set(this.upHosts())
      const running = [...p.placed.values()].filter((x) => x.role === role && up.has(x.host)).length
      const min = p.topology.roles[role].min
      if (min !== undefined && running < min) this.emit('role:degraded', { role, running, min })
    }
    // Every live host gets its assignment: the moved instances start, the others get new addresses over IPC.
    this.#assignAll()
  }

  #refuse(error: DripdropError): void {
    const code = typeof error.code === 'string' ? error.code : 'DD_ERR_TRANSPORT'
    if (code === 'DD_ERR_HANDSHAKE') this.stats.refused[code] = (this.stats.refused[code] ?? 0) + 1
    this.#error(error)
  }

  #error(error: Error): void {
    this.emit('controller:error', { error })
  }
}

// A ROUTER peer's routing parts as a string key.
function peerKey(from: unknown): string {
  if (Array.isArray(from)) return from.map((b: Uint8Array) => Buffer.from(b).toString('hex')).join('.')
  return String(from)
}
