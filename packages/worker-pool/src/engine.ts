import { fromErrorBody } from '@dripdrop/core'
import { Deadlines, Queue } from '@dripdrop/core/internal'
import {
  AbortError,
  ClosedError,
  DestroyedError,
  QueueFullError,
  TimeoutError,
  WorkerCrashedError,
} from './errors.js'
import type { FilledPoolOptions } from './options.js'
import { STATUS_OK } from './protocol.js'
import { type PoolStats, Samples } from './stats.js'

const QUEUED = 0
const RUNNING = 1
const DONE = 2
/** Beyond `maxQueue`: not admitted yet. */
const WAITING = 3

/** One `defer()` call, from submission to settlement. Internal. */
export interface Job {
  readonly id: number
  readonly name: string
  readonly args: unknown
  readonly resolve: (value: unknown) => void
  readonly reject: (reason: unknown) => void
  state: number
  /** Dispatches so far; the first is not a retry. */
  attempts: number
  /** Dispatches not charged to `maxRetries` (the worker was stopped for another task's timeout). */
  free: number
  link: Link | undefined
  /** The caller's run-time limit; undefined takes the link's default at dispatch. */
  readonly timeoutMs: number | undefined
  /** The run-time limit of the current dispatch. */
  limitMs: number
  readonly queueTimeoutMs: number
  readonly signal: AbortSignal | undefined
  onAbort: (() => void) | undefined
  enqueuedAt: number
  dispatchedAt: number
}

/** A worker as the engine sees it, thread or remote: a credit of slots and a way to send. Internal. */
export interface Link {
  /** `thread:3`, `remote:<routing id>`. */
  readonly id: string
  readonly slots: number
  /** Run-time limit of a task dispatched here whose caller set none, in ms (Infinity: none). */
  readonly defaultTimeoutMs: number
  readonly inFlight: Map<number, Job>
  /** Dispatch tick of its last task: the least recently used free link gets the next one. */
  lastUsed: number
  /** Adds a job to the next flush. Throws a coded error when the args cannot be carried. */
  push(job: Job): void
  /** Sends what `push` gathered, as one message. */
  flush(): void
  /** Abandons a running job: a thread is terminated on timeout; otherwise the worker is told to cancel it. */
  cancel(job: Job, reason: 'timeout' | 'abort'): void
}

interface Clock {
  job: Job
  attempts: number
}

/**
 * The scheduler behind {@link Pool}: a FIFO of pending jobs (retries first), credit-based dispatch to the least
 * recently used link with a free slot, deadlines, retries and stats. Dispatch runs once per tick (a microtask),
 * so everything submitted in one tick leaves in one message per link.
 */
export class Engine {
  readonly #options: FilledPoolOptions
  readonly #links: Link[] = []
  readonly #queue = new Queue<Job>(1024)
  readonly #retries = new Queue<Job>()
  /** Jobs beyond `maxQueue`, admitted in order as the queue empties. */
  readonly #waiting = new Queue<Job>()
  #queuedLive = 0
  #waitingLive = 0
  #running = 0
  #nextId = 1
  #tick = 0
  #scheduled = false
  #accepting = true
  #drained: (() => void) | undefined
  readonly #runClocks: Deadlines<Clock>
  readonly #queueClocks: Deadlines<Clock>
  readonly #waits = new Samples()
  readonly #runs = new Samples()
  #completed = 0
  #failed = 0
  #retried = 0
  #refused = 0
  #aborted = 0
  #expired = 0
  /** Frames dropped by a remote listener; kept here so stats have one home. */
  badFrames = 0
  /** Peers refused at the handshake on `listen` (CURVE). */
  workersRefused = 0
  readonly #dispatch = (): void => this.#dispatchNow()

  constructor(options: FilledPoolOptions) {
    this.#options = options
    this.#runClocks = new Deadlines(
      (c) => c.job.state === RUNNING && c.job.attempts === c.attempts,
      (c) => this.#expire(c.job),
    )
    this.#queueClocks = new Deadlines(
      (c) => (c.job.state === QUEUED || c.job.state === WAITING) && c.job.attempts === c.attempts,
      (c) => {
        this.#unqueue(c.job)
        this.#expired++
        this.#settle(
          c.job,
          false,
          new TimeoutError(
            `task ${c.job.name} waited ${c.job.queueTimeoutMs} ms for a worker`,
            c.job.queueTimeoutMs,
          ),
        )
      },
    )
  }

  /**
   * Submits a job; the promise settles exactly once. Beyond `maxQueue` queued jobs it waits for admission, or
   * with `wait` false rejects at once with `DD_ERR_QUEUE_FULL`.
   */
  submit(
    name: string,
    args: unknown,
    timeoutMs: number | undefined,
    queueTimeoutMs: number,
    signal?: AbortSignal,
    wait = true,
  ): Promise<unknown> {
    return new Promise<unknown>((resolve, reject) => {
      this.submitJob(name, args, resolve, reject, timeoutMs, queueTimeoutMs, signal, wait)
    })
  }

  /**
   * {@link Engine.submit} with callbacks instead of a promise, returning the job for {@link Engine.cancel}
   * (undefined when it was refused at once). What a remote worker relays its pool's tasks through: no promise
   * and no AbortController per task.
   */
  submitJob(
    name: string,
    args: unknown,
    resolve: (value: unknown) => void,
    reject: (reason: unknown) => void,
    timeoutMs: number | undefined = undefined,
    queueTimeoutMs = Number.POSITIVE_INFINITY,
    signal?: AbortSignal,
    wait = true,
  ): Job | undefined {
    if (!this.#accepting) {
      reject(new ClosedError('the pool is closing or closed'))
      return undefined
    }
    if (signal?.aborted) {
      reject(new AbortError(`task ${name} aborted before it was queued`, signal.reason))
      return undefined
    }
    const full = this.#waitingLive > 0 || this.#queuedLive >= this.#options.maxQueue
    if (full && !wait) {
      this.#refused++
      reject(
        new QueueFullError(`task ${name} refused: ${this.#options.maxQueue} tasks are queued (maxQueue)`),
      )
      return undefined
    }
    const job: Job = {
      id: this.#nextId++,
      name,
      args,
      resolve,
      reject,
      state: QUEUED,
      attempts: 0,
      free: 0,
      link: undefined,
      timeoutMs,
      limitMs: Number.POSITIVE_INFINITY,
      queueTimeoutMs,
      signal,
      onAbort: undefined,
      enqueuedAt: performance.now(),
      dispatchedAt: 0,
    }
    if (signal !== undefined) {
      job.onAbort = () => this.#abort(job)
      signal.addEventListener('abort', job.onAbort, { once: true })
    }
    if (full) {
      job.state = WAITING
      this.#waiting.push(job)
      this.#waitingLive++
      if (Number.isFinite(queueTimeoutMs)) this.#queueClocks.add({ job, attempts: 0 }, queueTimeoutMs)
    } else this.#enqueue(job, this.#queue)
    return job
  }

  /** Abandons a job from {@link Engine.submitJob}, queued or running, as an abort would; its reject runs. */
  cancel(job: Job): void {
    this.#abort(job)
  }

  /** Registers a link; it gets work from the next dispatch on. */
  addLink(link: Link): void {
    this.#links.push(link)
    this.schedule()
  }

  /**
   * A link died: its running jobs go back to the front of the queue, or fail with `DD_ERR_WORKER_CRASHED` when
   * they used their retries. `charge` is false when the link was stopped on purpose (another job's timeout).
   */
  removeLink(link: Link, cause: unknown, charge = true): void {
    const at = this.#links.indexOf(link)
    if (at >= 0) this.#links.splice(at, 1)
    for (const job of link.inFlight.values()) {
      if (job.state !== RUNNING) continue
      this.#running--
      if (!charge) job.free++
      if (job.attempts - job.free > this.#options.maxRetries) {
        this.#settle(
          job,
          false,
          new WorkerCrashedError(
            `worker ${link.id} died running task ${job.name} (${job.attempts} attempts)`,
            job.attempts,
            cause,
          ),
        )
      } else {
        this.#retried++
        this.#enqueue(job, this.#retries)
      }
    }
    link.inFlight.clear()
    this.schedule()
  }

  /** A link reports a result. Unknown ids (cancelled, or given to another worker since) are ignored. */
  result(link: Link, id: number, status: number, value: unknown): void {
    const job = link.inFlight.get(id)
    if (job === undefined) return
    link.inFlight.delete(id)
    if (job.state !== RUNNING) return
    this.#running--
    this.#runs.add(performance.now() - job.dispatchedAt)
    if (status === STATUS_OK) this.#settle(job, true, value)
    else this.#settle(job, false, value instanceof Error ? value : fromErrorBody(value))
    this.schedule()
  }

  /** Fails a job that a link could not send (its args cannot be encoded). */
  failSend(link: Link, job: Job, err: unknown): void {
    if (link.inFlight.delete(job.id) && job.state === RUNNING) this.#running--
    this.#settle(job, false, err)
    this.schedule()
  }

  /** Runs dispatch at the end of this tick, once however many times it is asked. */
  schedule(): void {
    if (this.#scheduled) return
    this.#scheduled = true
    queueMicrotask(this.#dispatch)
  }

  /** Stops taking jobs; resolves when none is waiting, queued or running. */
  drain(): Promise<void> {
    this.#accepting = false
    if (this.#idle()) return Promise.resolve()
    return new Promise((resolve) => {
      this.#drained = resolve
    })
  }

  /**
   * Rejects every job left (waiting, queued, running) with `DD_ERR_DESTROYED`, or with the error `err` makes;
   * returns how many it rejected.
   */
  destroy(err: () => Error = () => new DestroyedError('the pool was destroyed')): number {
    this.#accepting = false
    let n = 0
    for (const q of [this.#retries, this.#queue, this.#waiting])
      while (q.length > 0) {
        const job = q.shift()
        if (job.state === QUEUED || job.state === WAITING) {
          n++
          this.#settle(job, false, err())
        }
      }
    this.#queuedLive = 0
    this.#waitingLive = 0
    for (const link of this.#links) {
      for (const job of link.inFlight.values())
        if (job.state === RUNNING) {
          n++
          this.#settle(job, false, err())
        }
      link.inFlight.clear()
    }
    this.#running = 0
    this.#runClocks.clear()
    this.#queueClocks.clear()
    this.#drained?.()
    return n
  }

  stats(): PoolStats {
    let slots = 0
    for (const link of this.#links) slots += link.slots
    return {
      queued: this.#queuedLive,
      waiting: this.#waitingLive,
      refused: this.#refused,
      aborted: this.#aborted,
      expired: this.#expired,
      inFlight: this.#running,
      completed: this.#completed,
      failed: this.#failed,
      retried: this.#retried,
      workers: this.#links.length,
      slots,
      utilization: slots === 0 ? 0 : this.#running / slots,
      waitMs: this.#waits.percentiles(),
      runMs: this.#runs.percentiles(),
      badFrames: this.badFrames,
      workersRefused: this.workersRefused,
    }
  }

  #enqueue(job: Job, queue: Queue<Job>, clock = true): void {
    job.state = QUEUED
    job.link = undefined
    queue.push(job)
    this.#queuedLive++
    if (clock && Number.isFinite(job.queueTimeoutMs))
      this.#queueClocks.add({ job, attempts: job.attempts }, job.queueTimeoutMs)
    this.schedule()
  }

  // Queued and waiting jobs leave lazily: a removed job stays in its FIFO as DONE and dispatch skips it.
  #unqueue(job: Job): void {
    if (job.state === WAITING) this.#waitingLive--
    else this.#queuedLive--
    job.state = DONE
    this.schedule() // room for a waiting job
  }

  // Moves waiting jobs into the queue, oldest first, while it has room. Their queue clock keeps running.
  #admit(): void {
    const max = this.#options.maxQueue
    while (this.#waitingLive > 0 && this.#queuedLive < max) {
      const job = this.#waiting.shift()
      if (job.state !== WAITING) continue
      this.#waitingLive--
      this.#enqueue(job, this.#queue, false)
    }
  }

  #idle(): boolean {
    return this.#queuedLive === 0 && this.#running === 0 && this.#waitingLive === 0
  }

  #next(): Job | undefined {
    for (const q of [this.#retries, this.#queue]) {
      while (q.length > 0) {
        const job = q.shift()
        if (job.state === QUEUED) return job
      }
    }
    return undefined
  }

  // Least recently used link with a free slot, except that an idle link (nothing in flight) goes first, the
  // most recently used idle one: its thread is likely still on a CPU with warm caches, which cuts a lone
  // task's round trip by ~2 us and keeps its latency steady. Many tasks in one tick still spread: a link stops
  // being idle with its first task.
  #pick(): Link | undefined {
    let best: Link | undefined
    let warm: Link | undefined
    for (const link of this.#links) {
      const n = link.inFlight.size
      if (n >= link.slots) continue
      if (n === 0 && (warm === undefined || link.lastUsed > warm.lastUsed)) warm = link
      if (best === undefined || link.lastUsed < best.lastUsed) best = link
    }
    return warm ?? best
  }

  #dispatchNow(): void {
    this.#scheduled = false
    const touched: Link[] = []
    const now = performance.now()
    for (;;) {
      if (this.#queuedLive === 0) {
        if (this.#waitingLive === 0) break
        this.#admit()
      }
      const link = this.#pick()
      if (link === undefined) break
      const job = this.#next()
      if (job === undefined) break
      this.#queuedLive--
      try {
        link.push(job)
      } catch (err) {
        this.#settle(job, false, err)
        continue
      }
      job.state = RUNNING
      job.link = link
      job.attempts++
      job.dispatchedAt = now
      if (job.attempts === 1) this.#waits.add(now - job.enqueuedAt)
      link.inFlight.set(job.id, job)
      link.lastUsed = ++this.#tick
      this.#running++
      job.limitMs = job.timeoutMs ?? link.defaultTimeoutMs
      if (Number.isFinite(job.limitMs)) this.#runClocks.add({ job, attempts: job.attempts }, job.limitMs)
      if (!touched.includes(link)) touched.push(link)
    }
    this.#admit()
    for (const link of touched) link.flush()
    if (this.#drained !== undefined && this.#idle()) this.#drained()
  }

  #abort(job: Job): void {
    const reason = job.signal?.reason
    if (job.state !== DONE) this.#aborted++
    if (job.state === QUEUED || job.state === WAITING) {
      this.#unqueue(job)
      this.#settle(job, false, new AbortError(`task ${job.name} aborted while queued`, reason))
    } else if (job.state === RUNNING) {
      this.#stop(job, 'abort')
      this.#settle(job, false, new AbortError(`task ${job.name} aborted while running`, reason))
    }
    this.schedule()
  }

  #expire(job: Job): void {
    this.#stop(job, 'timeout')
    this.#settle(
      job,
      false,
      new TimeoutError(`task ${job.name} ran longer than ${job.limitMs} ms`, job.limitMs),
    )
    this.schedule()
  }

  #stop(job: Job, reason: 'timeout' | 'abort'): void {
    const link = job.link
    this.#running--
    if (link === undefined) return
    link.inFlight.delete(job.id)
    link.cancel(job, reason)
  }

  #settle(job: Job, ok: boolean, value: unknown): void {
    job.state = DONE
    job.link = undefined
    if (job.onAbort !== undefined) job.signal!.removeEventListener('abort', job.onAbort)
    if (ok) {
      this.#completed++
      job.resolve(value)
    } else {
      this.#failed++
      job.reject(value)
    }
    if (this.#drained !== undefined && this.#idle()) this.#drained()
  }
}
