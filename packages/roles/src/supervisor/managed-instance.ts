import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { extname } from 'node:path'
import { pathToFileURL } from 'node:url'
import { type AddressesMessage, roleEnv } from '../protocol.js'
import type { ResolvedAddresses, ResolvedInstance } from '../topology/types.js'
import type { InstanceLog } from './log-sink.js'

/**
 * Where an instance is in its life:
 * `starting` (spawned, not yet confirmed), `running`, `backoff` (exited, a restart is scheduled), `stopping`
 * (SIGTERM sent), `stopped` (stopped on request, or exited and its policy says no restart), `failed` (the
 * intensity limit was hit: no more restarts until started by hand).
 */
export type InstanceState = 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped' | 'failed'

/** How an instance's process last ended. */
export interface ExitInfo {
  code: number | null
  signal: NodeJS.Signals | null
  /** ms since the epoch. */
  at: number
}

/** What the engine tells its supervisor; each call is made inside a try/catch by the caller. */
export interface InstanceHooks {
  up(m: ManagedInstance, pid: number): void
  down(m: ManagedInstance, pid: number, exit: ExitInfo, expected: boolean, uptimeMs: number): void
  restart(m: ManagedInstance, delayMs: number, attempt: number): void
  failed(m: ManagedInstance, restarts: number): void
  error(m: ManagedInstance, error: Error): void
}

const TS = new Set(['.ts', '.mts', '.cts', '.tsx'])
const require = createRequire(import.meta.url)
let tsxLoader: string | undefined
/** tsx's loader as a file URL: `--import tsx` would resolve from the child's cwd, where tsx may not be. */
function tsx(): string {
  tsxLoader ??= pathToFileURL(require.resolve('tsx')).href
  return tsxLoader
}

/** The argv of an instance's process (after the node binary). */
export function nodeArgv(spec: ResolvedInstance, nodeArgs: readonly string[]): string[] {
  const loader = TS.has(extname(spec.entry).toLowerCase()) ? ['--import', tsx()] : []
  return [...nodeArgs, ...loader, spec.entry, ...spec.args]
}

/**
 * One instance's process and its restart policy: spawn, watch, restart with exponential back-off, give up
 * past the intensity limit, stop gracefully. Internal to {@link Supervisor}.
 */
export class ManagedInstance {
  spec: ResolvedInstance
  state: InstanceState = 'stopped'
  child: ChildProcess | undefined
  pid: number | undefined
  startedAt: number | undefined
  lastExit: ExitInfo | undefined
  /** Restarts done by the policy since this instance was added (manual restarts not counted). */
  restarts = 0
  readonly log: InstanceLog
  readonly #hooks: InstanceHooks
  readonly #options: { env: Record<string, string>; nodeArgs: readonly string[]; cwd: string | undefined }
  /** Times of the policy's restarts inside the intensity window. */
  #recent: number[] = []
  #nextDelay: number
  #timer: NodeJS.Timeout | undefined
  #killTimer: NodeJS.Timeout | undefined
  #stopping: Promise<void> | undefined
  #exited: (() => void) | undefined

  constructor(
    spec: ResolvedInstance,
    log: InstanceLog,
    hooks: InstanceHooks,
    options: { env: Record<string, string>; nodeArgs: readonly string[]; cwd: string | undefined },
  ) {
    this.spec = spec
    this.log = log
    this.#hooks = hooks
    this.#options = options
    this.#nextDelay = spec.restart.minDelayMs
  }

  get name(): string {
    return this.spec.instance
  }

  /** Starts the process if it is not running (a failed or stopped instance starts afresh, back-off reset). */
  start(): void {
    if (this.state === 'starting' || this.state === 'running' || this.state === 'stopping') return
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.state !== 'backoff') {
      this.#recent = []
      this.#nextDelay = this.spec.restart.minDelayMs
    }
    this.#spawn()
  }

  /**
   * Stops the process: SIGTERM to its process group, SIGKILL after `timeoutMs` (the role's `stopTimeoutMs`).
   * Resolves when it has exited; a scheduled restart is cancelled. A second call returns the same promise.
   */
  stop(timeoutMs = this.spec.restart.stopTimeoutMs): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.state === 'backoff') this.state = 'stopped'
    if (this.child === undefined) {
      if (this.state !== 'failed') this.state = 'stopped'
      return Promise.resolve()
    }
    if (this.#stopping !== undefined) return this.#stopping
    this.state = 'stopping'
    this.log.note(`stopping (SIGTERM, SIGKILL after ${timeoutMs} ms)`)
    this.#stopping = new Promise<void>((resolve) => {
      this.#exited = resolve
    })
    this.#signal('SIGTERM')
    this.#killTimer = setTimeout(() => {
      this.log.note(`no exit ${timeoutMs} ms after SIGTERM: SIGKILL`)
      this.#signal('SIGKILL')
    }, timeoutMs)
    return this.#stopping
  }

  /** SIGKILL now, no restart. Returns whether a process was running. */
  kill(): boolean {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.child === undefined) {
      if (this.state === 'backoff') this.state = 'stopped'
      return false
    }
    this.state = 'stopping'
    this.#signal('SIGKILL')
    return true
  }

  /** Sends new addresses over IPC (and keeps them for the next start). Returns whether a process got them. */
  sendAddresses(addresses: ResolvedAddresses): boolean {
    this.spec = { ...this.spec, addresses }
    const child = this.child
    if (child === undefined || !child.connected) return false
    const message: AddressesMessage = { $dripdrop: 'addresses', addresses }
    try {
      child.send(message, (err) => {
        if (err) this.log.note(`address update not delivered: ${err.message}`)
      })
      return true
    } catch (err) {
      this.log.note(`address update not delivered: ${(err as Error).message}`)
      return false
    }
  }

  #signal(signal: NodeJS.Signals): void {
    const child = this.child
    if (child === undefined) return
    try {
      // The child leads its own process group (detached): what it started goes too.
      if (child.pid !== undefined) process.kill(-child.pid, signal)
      else child.kill(signal)
    } catch {
      try {
        child.kill(signal)
      } catch {}
    }
  }

  #spawn(): void {
    const spec = this.spec
    let child: ChildProcess
    this.state = 'starting'
    try {
      child = spawn(process.execPath, nodeArgv(spec, this.#options.nodeArgs), {
        cwd: this.#options.cwd,
        env: { ...process.env, ...this.#options.env, ...spec.env, ...roleEnv(spec) },
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        // Its own process group: a Ctrl-C in the terminal reaches the supervisor only, which stops children in
        // order; and a stop signals the child's whole group.
        detached: true,
        serialization: 'json',
      })
    } catch (err) {
      this.#hooks.error(this, err as Error)
      this.#onExit(undefined, { code: null, signal: null, at: Date.now() })
      return
    }
    this.child = child
    this.startedAt = Date.now()
    child.stdout?.setEncoding('utf8')
    child.stderr?.setEncoding('utf8')
    child.stdout?.on('data', (d: string) => this.#guard(() => this.log.write('out', d)))
    child.stderr?.on('data', (d: string) => this.#guard(() => this.log.write('err', d)))
    child.stdout?.on('end', () => this.#guard(() => this.log.flush('out')))
    child.stderr?.on('end', () => this.#guard(() => this.log.flush('err')))
    child.stdout?.on('error', () => {})
    child.stderr?.on('error', () => {})
    child.on('error', (err) =>
      this.#guard(() => {
        // A spawn failure emits 'error' and no 'exit'; a failed kill/send also lands here (no state change).
        if (this.child === child && child.pid === undefined) {
          this.log.note(`cannot start: ${err.message}`)
          this.#onExit(child, { code: null, signal: null, at: Date.now() })
        } else this.#hooks.error(this, err)
      }),
    )
    child.once('spawn', () =>
      this.#guard(() => {
        if (this.child !== child) return
        if (this.state === 'starting') this.state = 'running'
        this.pid = child.pid
        this.log.note(`started pid ${child.pid}`)
        this.#hooks.up(this, child.pid as number)
      }),
    )
    child.once('exit', (code, signal) =>
      this.#guard(() => this.#onExit(child, { code, signal, at: Date.now() })),
    )
  }

  #onExit(child: ChildProcess | undefined, exit: ExitInfo): void {
    if (child !== undefined && this.child !== child) return
    clearTimeout(this.#killTimer)
    const pid = child?.pid ?? this.pid ?? 0
    const uptimeMs = this.startedAt === undefined ? 0 : exit.at - this.startedAt
    const expected = this.state === 'stopping'
    this.child = undefined
    this.pid = undefined
    this.lastExit = exit
    this.log.note(
      `exited ${exit.signal ? `by ${exit.signal}` : `with code ${exit.code}`} after ${uptimeMs} ms`,
    )
    if (child?.connected) {
      try {
        child.disconnect()
      } catch {}
    }
    if (expected) {
      this.state = 'stopped'
      this.#stopping = undefined
      const done = this.#exited
      this.#exited = undefined
      this.#hooks.down(this, pid, exit, true, uptimeMs)
      done?.()
      return
    }
    const policy = this.spec.restart
    const restart = policy.policy === 'always' || (policy.policy === 'on-failure' && exit.code !== 0)
    if (!restart) {
      this.state = 'stopped'
      this.#hooks.down(this, pid, exit, false, uptimeMs)
      return
    }
    // Intensity: more than maxRestarts restarts inside withinMs and the instance is FAILED.
    this.#recent = this.#recent.filter((t) => exit.at - t < policy.withinMs)
    if (this.#recent.length >= policy.maxRestarts) {
      this.state = 'failed'
      this.log.note(`FAILED: ${this.#recent.length} restarts within ${policy.withinMs} ms; not restarting`)
      this.#hooks.down(this, pid, exit, false, uptimeMs)
      this.#hooks.failed(this, this.#recent.length)
      return
    }
    if (uptimeMs >= policy.resetAfterMs) this.#nextDelay = policy.minDelayMs
    const delayMs = Math.min(this.#nextDelay, policy.maxDelayMs)
    this.#nextDelay = Math.min(Math.max(delayMs, 1) * policy.factor, policy.maxDelayMs)
    this.#recent.push(exit.at)
    this.restarts++
    this.state = 'backoff'
    this.#hooks.down(this, pid, exit, false, uptimeMs)
    this.log.note(`restarting in ${delayMs} ms (restart ${this.#recent.length} within ${policy.withinMs} ms)`)
    this.#hooks.restart(this, delayMs, this.#recent.length)
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#guard(() => {
        if (this.state === 'backoff') this.#spawn()
      })
    }, delayMs)
  }

  /** No exception may escape a child-process callback: it is reported instead. */
  #guard(fn: () => void): void {
    try {
      fn()
    } catch (err) {
      try {
        this.#hooks.error(this, err as Error)
      } catch {}
    }
  }
}
