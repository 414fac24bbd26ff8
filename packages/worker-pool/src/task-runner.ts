import { toErrorBody } from '@dripdrop/core'
import { UnknownTaskError } from './errors.js'
import { STATUS_ERROR, STATUS_OK } from './protocol.js'
import type { TaskContext, TaskFunction } from './tasks.js'

const FLUSH_EVERY_MS = 2
// Results leave in chunks of at most this many even when a batch is fast: a remote worker's thread gets
// hundreds of tasks at once, and returning them as they finish keeps the pool's pipeline streaming instead of
// stop-and-wait (one whole batch per round trip), which under CPU contention cost several times the throughput.
const FLUSH_EVERY_TASKS = 32

/** How a runner turns values into what goes on the wire and back: identity for threads, msgpack for the network. */
export interface ValueCodec {
  decodeArgs(wire: unknown): unknown
  /** Returns the wire form of a result or error body; may throw (a value the codec cannot carry). */
  encodeValue(value: unknown): unknown
}

/** Identity: a thread's postMessage does the copying. */
export const CLONE_VALUES: ValueCodec = { decodeArgs: (v) => v, encodeValue: (v) => v }

// Most tasks never look at their signal: make the AbortController only when asked.
class Context implements TaskContext {
  #controller: AbortController | undefined
  get signal(): AbortSignal {
    this.#controller ??= new AbortController()
    return this.#controller.signal
  }
  abort(): void {
    this.#controller?.abort(new Error('task abandoned by the pool'))
  }
}

/**
 * Runs tasks for a worker, thread or process: looks tasks up by name, runs them, and hands results to `send` in
 * batches, one batch for everything that finished in the same tick. Worker side only.
 */
export class TaskRunner {
  readonly #fns: Map<string, TaskFunction>
  readonly #values: ValueCodec
  readonly #send: (results: unknown[]) => void
  readonly #running = new Map<number, Context>()
  #results: unknown[] = []
  #flushQueued = false
  readonly #flush = (): void => {
    this.#flushQueued = false
    if (this.#results.length === 0) return
    const out = this.#results
    this.#results = []
    this.#send(out)
  }

  constructor(fns: Map<string, TaskFunction>, values: ValueCodec, send: (results: unknown[]) => void) {
    this.#fns = fns
    this.#values = values
    this.#send = send
  }

  /** Tasks started and not finished or cancelled yet. */
  get running(): number {
    return this.#running.size
  }

  /** Runs a flat `id, name, args` batch; results of synchronous tasks leave in one message right after. */
  run(tasks: unknown[]): void {
    let since = performance.now()
    for (let i = 0; i < tasks.length; i += 3) {
      // Long synchronous tasks in one batch: send what is done every few ms instead of holding it all back.
      if (
        this.#results.length >= FLUSH_EVERY_TASKS * 3 ||
        (this.#results.length > 0 && performance.now() - since > FLUSH_EVERY_MS)
      ) {
        this.#flush()
        since = performance.now()
      }
      const id = tasks[i] as number
      const name = tasks[i + 1] as string
      const fn = this.#fns.get(name)
      if (fn === undefined) {
        this.#push(
          id,
          STATUS_ERROR,
          new UnknownTaskError(`no task named ${JSON.stringify(name)} in this worker`),
        )
        continue
      }
      let result: unknown
      const ctx = new Context()
      try {
        result = fn(this.#values.decodeArgs(tasks[i + 2]), ctx)
      } catch (err) {
        this.#push(id, STATUS_ERROR, err)
        continue
      }
      if (
        result !== null &&
        typeof result === 'object' &&
        typeof (result as Promise<unknown>).then === 'function'
      ) {
        this.#running.set(id, ctx)
        ;(result as Promise<unknown>).then(
          (value) => this.#finish(id, ctx, STATUS_OK, value),
          (err) => this.#finish(id, ctx, STATUS_ERROR, err),
        )
      } else this.#push(id, STATUS_OK, result)
    }
    this.#flush()
  }

  /** Abandons tasks: their signals abort and their results are dropped. */
  cancel(ids: readonly number[]): void {
    for (const id of ids) {
      const ctx = this.#running.get(id)
      if (ctx === undefined) continue
      this.#running.delete(id)
      ctx.abort()
    }
  }

  /** Abandons everything running (the pool is gone). */
  cancelAll(): void {
    this.cancel([...this.#running.keys()])
  }

  #finish(id: number, ctx: Context, status: number, value: unknown): void {
    if (this.#running.get(id) !== ctx) return
    this.#running.delete(id)
    this.#push(id, status, value)
    if (!this.#flushQueued) {
      this.#flushQueued = true
      // Every task that settles in this microtask round rides in the same message.
      queueMicrotask(this.#flush)
    }
  }

  #push(id: number, status: number, value: unknown): void {
    let wire: unknown
    if (status === STATUS_OK) {
      try {
        wire = this.#values.encodeValue(value)
      } catch (err) {
        status = STATUS_ERROR
        value = err
      }
    }
    if (status === STATUS_ERROR) wire = this.#values.encodeValue(toErrorBody(value, true))
    this.#results.push(id, status, wire)
  }
}
