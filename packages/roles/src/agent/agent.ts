import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import { type DripdropError, Node, type Route } from '@dripdrop/core'
import { type CurveOptions, zmqTransport } from '@dripdrop/zmq'
import { AgentError } from '../errors.js'
import { TypedEvents } from '../events.js'
import { Supervisor, type SupervisorOptions } from '../supervisor/supervisor.js'
import type { ResolvedInstance } from '../topology/types.js'
import {
  AGENT_PROTOCOL_VERSION,
  type AgentMessage,
  type AssignmentMessage,
  type CommandMessage,
  type InstanceReport,
  type InstanceStatus,
  invalidReason,
  type LogsMessage,
  MAX_LOG_LINES,
  type WelcomeMessage,
} from './messages.js'

/** Options of an {@link Agent}. */
export interface AgentOptions {
  /** The control server's agent channel, e.g. `tcp://control:7200`. */
  control: string
  /** The topology host this agent serves. @default os.hostname() */
  host?: string
  /** The address other hosts reach this host's roles at, when it differs from the topology's. */
  address?: string
  /** Roles this agent agrees to run; an assignment with another role is refused. @default [] (any) */
  allow?: string[]
  /**
   * ZeroMQ CURVE options of the agent's link (`CurveOptions` of @dripdrop/zmq): its own key pair and
   * `serverKey`, the control server's public key. The agent then runs assignments only from a control server
   * that holds the matching secret key. @default undefined (no CURVE)
   */
  curve?: CurveOptions
  /** How often the agent says it is alive until the control server's welcome sets it, ms. @default 1000 */
  heartbeatIntervalMs?: number
  /** Control server silent this long: the agent registers again (its children keep running), ms. @default 3000 */
  heartbeatTimeoutMs?: number
  /** Options of the agent's {@link Supervisor} (log files and sizes, extra env, node arguments, cwd). */
  supervisor?: Omit<SupervisorOptions, 'instances' | 'topology' | 'host'>
}

/** Events of an {@link Agent}. */
export interface AgentEventMap {
  /** The control server accepted this agent. */
  'agent:registered': { app: string }
  /** The control server refused this agent (it keeps trying). */
  'agent:refused': { code: string; reason: string }
  /** An assignment was applied: what started, stopped, restarted, got new addresses. */
  'agent:assignment': {
    generation: number
    started: string[]
    stopped: string[]
    restarted: string[]
    updated: string[]
  }
  /** The control server was silent for `heartbeatTimeoutMs`: registering again. */
  'agent:control:lost': { silentMs: number }
  /** A bad message, a failed command, a supervisor error. The agent goes on. */
  'agent:error': { error: Error }
}

/** Lifecycle state of an {@link Agent}. */
export type AgentState = 'idle' | 'starting' | 'open' | 'closing' | 'closed'

/**
 * The per-host agent: connects to the control server (`dripdrop agent --control tcp://control:7200`),
 * registers, runs the instances it is assigned with a local {@link Supervisor}, reports every instance event
 * at once (an exit reaches the control server in milliseconds, not after a heartbeat timeout), follows
 * commands, streams logs, and registers again after the control server restarts (its children keep running).
 *
 * @example
 * ```ts
 * const agent = new Agent({ control: 'tcp://10.0.0.1:7200', host: 'b' })
 * await agent.start()
 * ```
 */
export class Agent extends TypedEvents<AgentEventMap> {
  /** Messages refused as invalid, assignments refused, registrations, control-server losses. */
  readonly stats = { invalid: 0, refused: 0, registrations: 0, controlLost: 0, eventsSent: 0 }
  readonly host: string
  readonly supervisor: Supervisor
  readonly #o: Required<Pick<AgentOptions, 'heartbeatIntervalMs' | 'heartbeatTimeoutMs'>> & AgentOptions
  readonly #node: Node
  readonly #route: Route
  readonly #session = randomBytes(8).toString('hex')
  readonly #logs = new Map<number, AbortController>()
  #state: AgentState = 'idle'
  #welcomed = false
  #app: string | undefined
  #generation = -1
  #intervalMs: number
  #timeoutMs: number
  #lastHeard = 0
  #lastSent = 0
  #timer: NodeJS.Timeout | undefined
  #applying: Promise<unknown> = Promise.resolve()
  #started: Promise<void> | undefined
  #closed: Promise<void> | undefined

  constructor(options: AgentOptions) {
    super()
    if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
    if (typeof options.control !== 'string' || !/^(tcp|ipc):\/\/./.test(options.control))
      throw new TypeError(
        `options.control must be a tcp:// or ipc:// address, got ${String(options.control)}`,
      )
    for (const k of ['heartbeatIntervalMs', 'heartbeatTimeoutMs'] as const) {
      const v = options[k]
      if (v !== undefined && !(Number.isInteger(v) && v > 0))
        throw new TypeError(`options.${k} must be a positive integer (ms), got ${String(v)}`)
    }
    if (
      options.allow !== undefined &&
      !(Array.isArray(options.allow) && options.allow.every((r) => typeof r === 'string'))
    )
      throw new TypeError('options.allow must be a list of role names')
    this.#o = { heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 3000, ...options }
    this.#intervalMs = this.#o.heartbeatIntervalMs
    this.#timeoutMs = this.#o.heartbeatTimeoutMs
    this.host = options.host ?? hostname()
    this.supervisor = new Supervisor({ ...options.supervisor, instances: [] })
    this.#node = new Node({
      name: `dd.agent.${this.host}`,
      transports: [zmqTransport(options.curve === undefined ? {} : { curve: options.curve })],
    })
    this.#route = this.#node.route('agents', {
      type: 'dealer',
      connect: options.control,
      // A lost link is noticed by ZMTP heartbeats too, so the socket reconnects when the host comes back.
      heartbeatIntervalMs: 1000,
      heartbeatTimeoutMs: 3000,
    } as never)
    this.#route.on('*', ({ name, body }) => this.#receive(name, body))
    // Reconnected (a control server restarted, a link came back): register again at once.
    this.#node.events.on('route:connect', () => {
      if (this.#state === 'open') this.#register()
    })
    this.#node.events.on('route:error', ({ error }) => this.#error(error))
    this.supervisor.on('instance:up', (e) =>
      this.#event({
        type: 'instance.event',
        instance: e.instance,
        role: e.role,
        event: 'up',
        pid: e.pid,
        at: Date.now(),
      }),
    )
    this.supervisor.on('instance:down', (e) =>
      this.#event({
        type: 'instance.event',
        instance: e.instance,
        role: e.role,
        event: e.expected ? 'stopped' : 'down',
        pid: e.pid,
        code: e.code,
        signal: e.signal,
        at: Date.now(),
      }),
    )
    this.supervisor.on('instance:restart', (e) =>
      this.#event({
        type: 'instance.event',
        instance: e.instance,
        role: e.role,
        event: 'restart',
        delayMs: e.delayMs,
        at: Date.now(),
      }),
    )
    this.supervisor.on('instance:failed', (e) =>
      this.#event({
        type: 'instance.event',
        instance: e.instance,
        role: e.role,
        event: 'failed',
        at: Date.now(),
      }),
    )
    this.supervisor.on('supervisor:error', ({ error }) => this.#error(error))
  }

  get state(): AgentState {
    return this.#state
  }

  /** Whether the control server has accepted this agent (and not gone silent since). */
  get registered(): boolean {
    return this.#welcomed
  }

  /** The app of the control server that welcomed this agent. */
  get app(): string | undefined {
    return this.#app
  }

  /** The generation of the last assignment applied (`-1` before the first). */
  get generation(): number {
    return this.#generation
  }

  /** What this agent runs now. */
  instances(): InstanceReport[] {
    return this.supervisor.status().map((s) => ({
      instance: s.instance,
      role: s.role,
      state: s.state as InstanceStatus,
      ...(s.pid === undefined ? {} : { pid: s.pid }),
      restarts: s.restarts,
    }))
  }

  /** Connects and registers (the assignment comes when the control server answers). Same promise on repeat. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      this.#state = 'starting'
      await this.supervisor.start()
      await this.#node.start()
      this.#state = 'open'
      this.#register()
      this.#timer = setInterval(() => this.#tick(), Math.min(this.#intervalMs, 250))
    })()
    return this.#started
  }

  /** Stops every instance gracefully (the supervisor's close), then disconnects. Same promise on repeat. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#state = 'closing'
      clearInterval(this.#timer)
      for (const c of this.#logs.values()) c.abort()
      await this.supervisor.close()
      await this.#node.close()
      this.#state = 'closed'
    })()
    return this.#closed
  }

  /** SIGKILLs every child and drops the link at once. Returns how many children were running. */
  destroy(): number {
    clearInterval(this.#timer)
    for (const c of this.#logs.values()) c.abort()
    const n = this.supervisor.destroy()
    this.#node.destroy()
    this.#state = 'closed'
    this.#closed ??= Promise.resolve()
    return n
  }

  // ---- sending ----

  #send(message: AgentMessage): void {
    if (this.#state !== 'open') return
    const { type, ...body } = message
    this.#route.send(type, body).catch((error: unknown) => this.#error(error as Error))
  }

  #register(): void {
    this.stats.registrations++
    this.#send({
      type: 'agent.register',
      host: this.host,
      ...(this.#o.address === undefined ? {} : { address: this.#o.address }),
      allow: this.#o.allow ?? [],
      pid: process.pid,
      version: AGENT_PROTOCOL_VERSION,
      session: this.#session,
      instances: this.instances(),
    })
  }

  #event(message: AgentMessage): void {
    this.stats.eventsSent++
    this.#send(message)
  }

  // Heartbeats while registered; registration retried while not; the control server's silence noticed.
  #tick(): void {
    const now = Date.now()
    if (!this.#welcomed) {
      if (now - this.#lastSent >= this.#intervalMs) {
        this.#lastSent = now
        this.#register()
      }
      return
    }
    if (now - this.#lastHeard > this.#timeoutMs) {
      this.#welcomed = false
      this.stats.controlLost++
      this.emit('agent:control:lost', { silentMs: now - this.#lastHeard })
      this.#lastSent = now
      this.#register()
      return
    }
    if (now - this.#lastSent >= this.#intervalMs) {
      this.#lastSent = now
      this.#send({ type: 'agent.heartbeat', at: now })
    }
  }

  // ---- receiving ----

  #receive(name: string, body: unknown): void {
    const bad = invalidReason(name, body)
    if (bad !== undefined) {
      this.stats.invalid++
      this.#error(new AgentError(`invalid ${name} from the control server: ${bad}`, 'DD_ERR_AGENT_PROTOCOL'))
      return
    }
    this.#lastHeard = Date.now()
    const b = body as Record<string, unknown>
    switch (name) {
      case 'agent.welcome': {
        const w = b as unknown as WelcomeMessage
        this.#welcomed = true
        this.#app = w.app
        this.#generation = -1
        this.#intervalMs = Math.max(50, w.heartbeatIntervalMs)
        this.#timeoutMs = Math.max(this.#intervalMs * 2, w.heartbeatTimeoutMs)
        this.emit('agent:registered', { app: w.app })
        return
      }
      case 'agent.refused':
        this.stats.refused++
        this.#welcomed = false
        this.emit('agent:refused', {
          code: String(b.code ?? 'DD_ERR_AGENT_REFUSED'),
          reason: String(b.reason),
        })
        return
      case 'agent.heartbeat':
        return
      case 'agent.assignment':
        this.#assign(b as unknown as AssignmentMessage)
        return
      case 'agent.command':
        this.#command(b as unknown as CommandMessage)
        return
      case 'logs.request':
        void this.#streamLogs(b as unknown as LogsMessage)
        return
      case 'logs.stop':
        this.#logs.get(b.id as number)?.abort()
        return
      default:
        this.stats.invalid++
    }
  }

  #assign(a: AssignmentMessage): void {
    if (!this.#welcomed) return // from a control server that has not welcomed us (yet): ignored
    // Generations grow per control server; a welcome (a new or restarted one) resets the count.
    if (a.generation <= this.#generation) return
    const allow = this.#o.allow ?? []
    const refused = allow.length === 0 ? [] : a.instances.filter((i) => !allow.includes(i.role))
    if (refused.length > 0) {
      this.stats.refused++
      this.#error(
        new AgentError(
          `assignment ${a.generation} refused: roles ${[...new Set(refused.map((i) => i.role))].join(', ')} are not allowed on this host (allow: ${allow.join(', ')})`,
          'DD_ERR_AGENT_REFUSED',
        ),
      )
      return
    }
    for (const i of a.instances) if (i.host !== this.host) i.host = this.host
    this.#generation = a.generation
    this.#applying = this.#applying
      .catch(() => {})
      .then(async () => {
        const r = await this.supervisor.apply(a.instances as ResolvedInstance[])
        this.emit('agent:assignment', {
          generation: a.generation,
          started: r.started,
          stopped: r.stopped,
          restarted: r.restarted,
          updated: r.updated,
        })
      })
      .catch((error: unknown) => this.#error(error as Error))
  }

  #command(c: CommandMessage): void {
    const s = this.supervisor
    let run: Promise<void>
    try {
      if (c.instance !== undefined) {
        const name = c.instance
        run =
          c.op === 'start'
            ? s.startInstance(name)
            : c.op === 'stop'
              ? s.stopInstance(name)
              : c.op === 'restart'
                ? s.restartInstance(name)
                : this.#kill(name)
      } else {
        const role = c.role as string
        run = c.op === 'start' ? s.startRole(role) : c.op === 'stop' ? s.stopRole(role) : s.restartRole(role)
      }
    } catch (err) {
      run = Promise.reject(err)
    }
    run.then(
      () => this.#send({ type: 'agent.result', id: c.id, ok: true }),
      (err: Error & { code?: string }) =>
        this.#send({
          type: 'agent.result',
          id: c.id,
          ok: false,
          error: { code: typeof err.code === 'string' ? err.code : 'DD_ERR_AGENT', message: err.message },
        }),
    )
  }

  // SIGKILL of one instance's process: its restart policy applies (used to test supervision from afar).
  async #kill(name: string): Promise<void> {
    const pid = this.supervisor.status().find((s) => s.instance === name)?.pid
    if (pid === undefined) throw new AgentError(`instance "${name}" has no process`, 'DD_ERR_SUPERVISOR')
    process.kill(pid, 'SIGKILL')
  }

  async #streamLogs(r: LogsMessage): Promise<void> {
    const abort = new AbortController()
    this.#logs.get(r.id)?.abort()
    this.#logs.set(r.id, abort)
    const batch: LogDataLine[] = []
    let flushTimer: NodeJS.Timeout | undefined
    const flush = (done: boolean) => {
      clearTimeout(flushTimer)
      flushTimer = undefined
      if (batch.length === 0 && !done) return
      this.#send({ type: 'logs.data', id: r.id, lines: batch.splice(0), done })
    }
    try {
      const lines = Math.min(r.lines, MAX_LOG_LINES)
      for await (const l of this.supervisor.logs(r.instance, {
        follow: r.follow,
        signal: abort.signal,
        lines,
      })) {
        batch.push({ at: l.time, stream: l.stream, line: l.line })
        if (batch.length >= 200) flush(false)
        else flushTimer ??= setTimeout(() => flush(false), 50)
      }
    } catch (err) {
      this.#error(err as Error)
    } finally {
      flush(true)
      this.#logs.delete(r.id)
    }
  }

  #error(error: Error | DripdropError): void {
    this.emit('agent:error', { error })
  }
}

type LogDataLine = { at: number; stream: 'out' | 'err' | 'sup'; line: string }
