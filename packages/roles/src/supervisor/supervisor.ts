import { resolve } from 'node:path'
import { SupervisorError } from '../errors.js'
import { TypedEvents } from '../events.js'
import { resolveTopology } from '../topology/resolve.js'
import type { ResolvedAddresses, ResolvedInstance, Topology } from '../topology/types.js'
import { InstanceLog, LOG_DEFAULTS, type LogLine, type LogOptions } from './log-sink.js'
import { type ExitInfo, type InstanceState, ManagedInstance } from './managed-instance.js'

/** Options of a {@link Supervisor}. */
export interface SupervisorOptions extends LogOptions {
  /** The instances to run. @default resolveTopology(topology, { host }) */
  instances?: ResolvedInstance[]
  /** The topology they come from: needed by {@link Supervisor.scale}. */
  topology?: Topology
  /** With `topology`: run only this host's instances. */
  host?: string
  /** Extra environment for every child (under the role's `env` and the `DRIPDROP_*` variables). */
  env?: Record<string, string>
  /** Node options before the entry (`--enable-source-maps`). @default [] */
  nodeArgs?: string[]
  /** Working directory of the children. @default the supervisor's */
  cwd?: string
}

/** Names an instance in every event. */
export interface InstanceRef {
  instance: string
  role: string
  host: string
}

/**
 * Events of a {@link Supervisor}, namespaced with `:`.
 *
 * | event | when |
 * | --- | --- |
 * | `instance:up` | a process was spawned (`pid`) |
 * | `instance:down` | a process exited, emitted at once from its exit (`code`/`signal`; `expected` when stopped on request) |
 * | `instance:restart` | a restart is scheduled after `delayMs` (`attempt`: restarts inside the intensity window) |
 * | `instance:failed` | the intensity limit was hit: no more restarts until started by hand |
 * | `instance:log` | a line of the child's stdout (`out`), stderr (`err`) or of the supervisor about it (`sup`) |
 * | `supervisor:error` | something failed inside a child-process callback; the supervisor goes on |
 */
export interface SupervisorEventMap {
  'instance:up': InstanceRef & { pid: number; restarts: number }
  'instance:down': InstanceRef & {
    pid: number
    code: number | null
    signal: NodeJS.Signals | null
    expected: boolean
    uptimeMs: number
  }
  'instance:restart': InstanceRef & { delayMs: number; attempt: number }
  'instance:failed': InstanceRef & { restarts: number; withinMs: number; lastExit: ExitInfo | undefined }
  'instance:log': LogLine & { role: string }
  'supervisor:error': { instance: string | undefined; error: Error }
}

/** One instance in {@link Supervisor.status}. */
export interface InstanceStatus extends InstanceRef {
  state: InstanceState
  pid: number | undefined
  /** ms since the epoch of the current process's start. */
  startedAt: number | undefined
  /** ms the current process has been up (0 when none). */
  uptimeMs: number
  /** Restarts done by the restart policy. */
  restarts: number
  lastExit: ExitInfo | undefined
  /** The instance's log file. */
  logFile: string
}

/** Lifecycle state of a {@link Supervisor}. */
export type SupervisorState = 'idle' | 'starting' | 'open' | 'closing' | 'closed'

/** What {@link Supervisor.apply} did. */
export interface ApplyResult {
  started: string[]
  stopped: string[]
  restarted: string[]
  /** Only their connect addresses changed: sent over IPC, no restart. */
  updated: string[]
  unchanged: string[]
}

/** Options of {@link Supervisor.logs}. */
export interface LogsOptions {
  /** Keep yielding new lines until `signal` aborts (or the supervisor closes). @default false */
  follow?: boolean
  signal?: AbortSignal
  /** Lines of the in-memory tail to yield first. @default all it holds */
  lines?: number
}

/**
 * Runs role instances as child processes on this host and keeps them running: restart on exit with
 * exponential back-off, an intensity limit, graceful stop, logs captured to rotated files and a tail in memory.
 *
 * Each child is `node [--import tsx] <entry> [...args]` with the `DRIPDROP_*` variables of its instance (read by
 * `role()`), and an IPC channel for address updates. Defaults: restart back-off 100 ms ×2 up to 15 s, reset
 * after 30 s up; more than 5 restarts in 60 s → `failed`; SIGTERM then SIGKILL after 5 s; logs in
 * `.dripdrop/logs`, 10 MiB × 5 files per instance, 64 KiB tail in memory.
 *
 * @example
 * ```ts
 * const supervisor = new Supervisor({ topology: await loadTopology('shop.yaml') })
 * supervisor.on('instance:down', (e) => console.log(e.instance, 'exited', e.code ?? e.signal))
 * await supervisor.start()
 * // …
 * await supervisor.close()
 * ```
 */
export class Supervisor extends TypedEvents<SupervisorEventMap> {
  readonly #instances = new Map<string, ManagedInstance>()
  readonly #options: Required<LogOptions> & {
    env: Record<string, string>
    nodeArgs: string[]
    cwd: string | undefined
  }
  readonly #topology: Topology | undefined
  readonly #host: string | undefined
  readonly #scale: Record<string, number> = {}
  /** Followers of `logs({ follow })`; called with `undefined` when the supervisor closes. */
  readonly #followers = new Set<(line: LogLine | undefined) => void>()
  /** Callers of start()/startInstance() waiting for an instance to spawn. */
  readonly #upWaiters = new Map<string, (() => void)[]>()
  #state: SupervisorState = 'idle'
  #started: Promise<void> | undefined
  #closed: Promise<void> | undefined

  constructor(options: SupervisorOptions) {
    super()
    const positive = (name: keyof LogOptions, min: number) => {
      const v = options[name]
      if (v !== undefined && !(Number.isInteger(v) && (v as number) >= min))
        throw new TypeError(`options.${name} must be an integer >= ${min}, got ${String(v)}`)
    }
    positive('maxLogBytes', 1024)
    positive('maxLogFiles', 1)
    positive('tailBytes', 0)
    positive('maxLineBytes', 64)
    if (options.instances === undefined && options.topology === undefined)
      throw new TypeError('options.instances or options.topology is required')
    this.#topology = options.topology
    this.#host = options.host
    this.#options = {
      ...LOG_DEFAULTS,
      logDir: resolve(options.logDir ?? '.dripdrop/logs'),
      ...Object.fromEntries(Object.entries(options).filter(([k, v]) => k in LOG_DEFAULTS && v !== undefined)),
      env: options.env ?? {},
      nodeArgs: options.nodeArgs ?? [],
      cwd: options.cwd,
    }
    const instances =
      options.instances ??
      resolveTopology(options.topology as Topology, options.host === undefined ? {} : { host: options.host })
    for (const spec of instances) this.#add(spec)
  }

  get state(): SupervisorState {
    return this.#state
  }

  /** Where the log files are. */
  get logDir(): string {
    return this.#options.logDir
  }

  /** Starts every instance. Resolves once each has been spawned (not once it serves). Same promise on a second call. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      this.#state = 'starting'
      const spawned = [...this.#instances.values()].map((m) => this.#whenUp(m))
      for (const m of this.#instances.values()) m.start()
      await Promise.all(spawned)
      if (this.#state === 'starting') this.#state = 'open'
    })()
    return this.#started
  }

  /**
   * Stops every instance gracefully (SIGTERM, then SIGKILL after each role's `stopTimeoutMs`, or `timeoutMs`
   * when given) and closes the logs. Resolves when every child has exited. Same promise on a second call.
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closed ??= (async () => {
      this.#state = 'closing'
      await Promise.all(
        [...this.#instances.values()].map((m) => m.stop(options.timeoutMs ?? m.spec.restart.stopTimeoutMs)),
      )
      for (const m of this.#instances.values()) m.log.close()
      this.#state = 'closed'
      this.#endFollowers()
    })()
    return this.#closed
  }

  /** SIGKILLs every child at once, no restart; returns how many were running. Their exits still emit `instance:down`. */
  destroy(): number {
    this.#state = 'closed'
    let n = 0
    for (const m of this.#instances.values()) if (m.kill()) n++
    for (const m of this.#instances.values()) m.log.close()
    this.#endFollowers()
    this.#closed ??= Promise.resolve()
    return n
  }

  /** Every instance, in the order they were added. */
  status(): InstanceStatus[] {
    const now = Date.now()
    return [...this.#instances.values()].map((m) => ({
      instance: m.name,
      role: m.spec.role,
      host: m.spec.host,
      state: m.state,
      pid: m.pid,
      startedAt: m.child === undefined ? undefined : m.startedAt,
      uptimeMs: m.child === undefined || m.startedAt === undefined ? 0 : now - m.startedAt,
      restarts: m.restarts,
      lastExit: m.lastExit,
      logFile: m.log.file,
    }))
  }

  /** The resolved instances it runs (with their current addresses). */
  instances(): ResolvedInstance[] {
    return [...this.#instances.values()].map((m) => m.spec)
  }

  /** Starts one instance (a failed or stopped one starts afresh). Resolves once spawned. */
  async startInstance(instance: string): Promise<void> {
    const m = this.#get(instance)
    this.#refuseClosed()
    const up = this.#whenUp(m)
    m.start()
    await up
  }

  /** Stops one instance gracefully; it stays stopped until started. */
  stopInstance(instance: string): Promise<void> {
    return this.#get(instance).stop()
  }

  /** Stops then starts one instance (not counted by the intensity limit). */
  async restartInstance(instance: string): Promise<void> {
    await this.stopInstance(instance)
    await this.startInstance(instance)
  }

  /** {@link startInstance} for each instance of `role`. */
  async startRole(role: string): Promise<void> {
    await Promise.all(this.#ofRole(role).map((m) => this.startInstance(m.name)))
  }

  /** {@link stopInstance} for each instance of `role`. */
  async stopRole(role: string): Promise<void> {
    await Promise.all(this.#ofRole(role).map((m) => m.stop()))
  }

  /** {@link restartInstance} for each instance of `role`. */
  async restartRole(role: string): Promise<void> {
    await Promise.all(this.#ofRole(role).map((m) => this.restartInstance(m.name)))
  }

  /**
   * Runs `n` instances of `role` on this host: resolves the topology again with that count (so the other
   * roles' connect lists follow) and {@link apply}s it. Needs `options.topology`.
   */
  async scale(role: string, n: number): Promise<ApplyResult> {
    if (this.#topology === undefined)
      throw new SupervisorError('scale() needs the topology: new Supervisor({ topology })')
    if (this.#topology.roles[role] === undefined) throw new SupervisorError(`unknown role "${role}"`)
    if (!(Number.isInteger(n) && n >= 0))
      throw new SupervisorError(`scale: n must be an integer >= 0, got ${n}`)
    this.#scale[role] = n
    // Only the roles this supervisor runs (it may run a subset of the host's, e.g. `dripdrop start --role`).
    const here = new Set([...this.#instances.values()].map((m) => m.spec.role).concat(role))
    const resolved = resolveTopology(this.#topology, {
      ...(this.#host === undefined ? {} : { host: this.#host }),
      scale: this.#scale,
    })
    return this.apply(resolved.filter((i) => here.has(i.role)))
  }

  /**
   * Sends an instance new addresses over IPC (its `role()` handle emits `change`); they are also used when it
   * next starts. Returns whether a running process got them.
   */
  updateAddresses(instance: string, addresses: ResolvedAddresses): boolean {
    return this.#get(instance).sendAddresses(addresses)
  }

  /**
   * Makes the running set equal to `instances`, touching only what changed: new instances start, missing ones
   * stop, an instance whose entry, args, env, restart policy or bind addresses changed restarts, and one whose
   * connect addresses alone changed gets them over IPC without a restart.
   */
  async apply(instances: ResolvedInstance[]): Promise<ApplyResult> {
    this.#refuseClosed()
    const result: ApplyResult = { started: [], stopped: [], restarted: [], updated: [], unchanged: [] }
    const wanted = new Map(instances.map((i) => [i.instance, i]))
    const work: Promise<void>[] = []
    for (const [name, m] of this.#instances)
      if (!wanted.has(name)) {
        result.stopped.push(name)
        work.push(
          m.stop().then(() => {
            m.log.close()
            this.#instances.delete(name)
          }),
        )
      }
    const running = this.#state === 'starting' || this.#state === 'open'
    for (const spec of instances) {
      const m = this.#instances.get(spec.instance)
      if (m === undefined) {
        const added = this.#add(spec)
        result.started.push(spec.instance)
        if (running) work.push(this.startInstance(added.name))
        continue
      }
      const { addresses: a, ...rest } = spec
      const { addresses: b, ...was } = m.spec
      if (!same(rest, was) || !same(a.bind, b.bind)) {
        m.spec = spec
        result.restarted.push(spec.instance)
        if (m.state !== 'stopped' && m.state !== 'failed') work.push(this.restartInstance(spec.instance))
      } else if (!same(a.connect, b.connect)) {
        m.sendAddresses(a)
        result.updated.push(spec.instance)
      } else result.unchanged.push(spec.instance)
    }
    await Promise.all(work)
    return result
  }

  /** The in-memory tail of an instance's log (or of every instance, interleaved by time). */
  tail(instance?: string): LogLine[] {
    if (instance !== undefined) return this.#get(instance).log.tail()
    return [...this.#instances.values()].flatMap((m) => m.log.tail()).sort((x, y) => x.time - y.time)
  }

  /**
   * The log lines of an instance, of a role's instances, or of all (`target` undefined): the in-memory tail,
   * then, with `follow`, each new line until `signal` aborts or the supervisor closes. A follower that reads
   * slower than lines arrive loses the oldest unread ones past `tailBytes` (a `sup` line says how many).
   */
  async *logs(target?: string, options: LogsOptions = {}): AsyncGenerator<LogLine> {
    const names =
      target === undefined
        ? undefined
        : this.#instances.has(target)
          ? new Set([target])
          : new Set(this.#ofRole(target).map((m) => m.name))
    const wants = (l: LogLine) => names === undefined || names.has(l.instance)
    const queue: LogLine[] = []
    let dropped = 0
    let wake: (() => void) | undefined
    const follower = (l: LogLine | undefined) => {
      if (l === undefined) {
        wake?.()
        return
      }
      if (!wants(l)) return
      queue.push(l)
      if (queue.length > Math.max(16, this.#options.tailBytes / 64)) {
        queue.shift()
        dropped++
      }
      wake?.()
    }
    const initial = this.tail().filter(wants)
    for (const l of options.lines === undefined ? initial : initial.slice(-options.lines)) yield l
    if (!options.follow || this.#state === 'closed') return
    this.#followers.add(follower)
    const onAbort = () => wake?.()
    options.signal?.addEventListener('abort', onAbort)
    try {
      while (!options.signal?.aborted && this.state !== 'closed') {
        if (dropped > 0) {
          yield {
            instance: '*',
            stream: 'sup',
            time: Date.now(),
            line: `${dropped} lines dropped (slow reader)`,
          }
          dropped = 0
        }
        const next = queue.shift()
        if (next !== undefined) {
          yield next
          continue
        }
        await new Promise<void>((r) => {
          wake = r
        })
        wake = undefined
      }
    } finally {
      this.#followers.delete(follower)
      options.signal?.removeEventListener('abort', onAbort)
    }
  }

  #endFollowers(): void {
    for (const f of this.#followers) f(undefined)
    this.#followers.clear()
  }

  #add(spec: ResolvedInstance): ManagedInstance {
    if (this.#instances.has(spec.instance))
      throw new SupervisorError(`instance "${spec.instance}" is listed twice`)
    const log = new InstanceLog(spec.instance, this.#options)
    const m: ManagedInstance = new ManagedInstance(
      spec,
      log,
      {
        up: (x, pid) => {
          this.#settleUp(x.name)
          this.emit('instance:up', { ...ref(x), pid, restarts: x.restarts })
        },
        down: (x, pid, exit, expected, uptimeMs) => {
          this.#settleUp(x.name)
          this.emit('instance:down', {
            ...ref(x),
            pid,
            code: exit.code,
            signal: exit.signal,
            expected,
            uptimeMs,
          })
        },
        restart: (x, delayMs, attempt) => this.emit('instance:restart', { ...ref(x), delayMs, attempt }),
        failed: (x, restarts) =>
          this.emit('instance:failed', {
            ...ref(x),
            restarts,
            withinMs: x.spec.restart.withinMs,
            lastExit: x.lastExit,
          }),
        error: (x, error) => this.emit('supervisor:error', { instance: x.name, error }),
      },
      this.#options,
    )
    log.onLine = (line) => {
      this.emit('instance:log', { ...line, role: m.spec.role })
      for (const f of this.#followers) f(line)
    }
    this.#instances.set(spec.instance, m)
    return m
  }

  /** Resolves when `m` next spawns (or on its next exit/failure, so a start that dies is not awaited forever). */
  #whenUp(m: ManagedInstance): Promise<void> {
    return new Promise((resolve) => {
      const list = this.#upWaiters.get(m.name) ?? []
      list.push(resolve)
      this.#upWaiters.set(m.name, list)
    })
  }

  #settleUp(name: string): void {
    const list = this.#upWaiters.get(name)
    this.#upWaiters.delete(name)
    for (const resolve of list ?? []) resolve()
  }

  #get(instance: string): ManagedInstance {
    const m = this.#instances.get(instance)
    if (m === undefined)
      throw new SupervisorError(
        `unknown instance "${instance}" (instances: ${[...this.#instances.keys()].join(', ')})`,
      )
    return m
  }

  #ofRole(role: string): ManagedInstance[] {
    const list = [...this.#instances.values()].filter((m) => m.spec.role === role)
    if (list.length === 0 && (this.#topology === undefined || this.#topology.roles[role] === undefined))
      throw new SupervisorError(`no instance of role "${role}" here`)
    return list
  }

  #refuseClosed(): void {
    if (this.#state === 'closing' || this.#state === 'closed')
      throw new SupervisorError(`the supervisor is ${this.#state}`)
  }
}

function ref(m: ManagedInstance): InstanceRef {
  return { instance: m.name, role: m.spec.role, host: m.spec.host }
}

/** Structural equality of JSON-like values (the resolved specs). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a)
  const kb = Object.keys(b)
  if (ka.length !== kb.length) return false
  return ka.every((k) => same((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
}
