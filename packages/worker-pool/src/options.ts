import { availableParallelism } from 'node:os'
import { pathToFileURL } from 'node:url'

/** Options of {@link createPool}. */
export interface PoolOptions {
  /**
   * The tasks module local threads load: a `file:` URL or a path. Required when `threads > 0`.
   * @example new URL('./tasks.js', import.meta.url)
   */
  tasks?: URL | string
  /** Local worker threads. @default os.availableParallelism() */
  threads?: number
  /** Tasks in flight per thread at once (its credit); more pipelines better, fewer spreads long tasks. @default 32 */
  slotsPerThread?: number
  /** A ZeroMQ address to accept remote workers on, e.g. `tcp://0.0.0.0:5555` or `tcp://127.0.0.1:*`. @default none */
  listen?: string
  /** Pending tasks admitted to the queue; beyond it `defer()` waits for admission. @default 10_000 */
  maxQueue?: number
  /** Times a task is re-dispatched after the worker running it died. @default 2 */
  maxRetries?: number
  /** Default run-time limit of a task, in ms, counted from dispatch. @default Infinity */
  timeoutMs?: number
  /** Default limit, in ms, on the time a task waits for a worker (admission and queue). @default Infinity */
  queueTimeoutMs?: number
  /** Heartbeat period with remote workers, both ways, in ms. @default 1000 */
  heartbeatIntervalMs?: number
  /** A remote worker silent for this many heartbeat periods is dead. @default 3 */
  heartbeatMisses?: number
  /** Largest frame to or from a remote worker, in bytes. @default 16 MiB */
  maxMessageBytes?: number
}

/** {@link PoolOptions} validated and filled. */
export interface FilledPoolOptions {
  tasksUrl: string | undefined
  threads: number
  slotsPerThread: number
  listen: string | undefined
  maxQueue: number
  maxRetries: number
  timeoutMs: number
  queueTimeoutMs: number
  heartbeatIntervalMs: number
  heartbeatMisses: number
  maxMessageBytes: number
}

function int(value: unknown, path: string, min: number, fallback: number): number {
  if (value === undefined) return fallback
  if (!Number.isSafeInteger(value) || (value as number) < min) {
    throw new TypeError(`options.${path} must be an integer >= ${min}`)
  }
  return value as number
}

function ms(value: unknown, path: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(value > 0))
    throw new TypeError(`options.${path} must be a number > 0 (ms)`)
  return value
}

/** Validates options once, with each option's path in the message. */
export function fillPoolOptions(options: PoolOptions): FilledPoolOptions {
  if (options === null || typeof options !== 'object') throw new TypeError('options must be an object')
  const threads = int(options.threads, 'threads', 0, availableParallelism())
  let tasksUrl: string | undefined
  if (options.tasks instanceof URL) tasksUrl = options.tasks.href
  else if (typeof options.tasks === 'string') {
    tasksUrl = /^[a-z][a-z0-9+.-]*:/i.test(options.tasks) ? options.tasks : pathToFileURL(options.tasks).href
  } else if (options.tasks !== undefined) throw new TypeError('options.tasks must be a URL or a path')
  if (threads > 0 && tasksUrl === undefined)
    throw new TypeError('options.tasks is required when options.threads > 0')
  if (
    options.listen !== undefined &&
    (typeof options.listen !== 'string' || !options.listen.includes('://'))
  ) {
    throw new TypeError('options.listen must be a ZeroMQ address such as tcp://127.0.0.1:5555')
  }
  if (threads === 0 && options.listen === undefined) {
    throw new TypeError('options.threads is 0 and options.listen is not set: the pool would have no worker')
  }
  return {
    tasksUrl,
    threads,
    slotsPerThread: int(options.slotsPerThread, 'slotsPerThread', 1, 32),
    listen: options.listen,
    maxQueue: int(options.maxQueue, 'maxQueue', 1, 10_000),
    maxRetries: int(options.maxRetries, 'maxRetries', 0, 2),
    timeoutMs: ms(options.timeoutMs, 'timeoutMs', Number.POSITIVE_INFINITY),
    queueTimeoutMs: ms(options.queueTimeoutMs, 'queueTimeoutMs', Number.POSITIVE_INFINITY),
    heartbeatIntervalMs: ms(options.heartbeatIntervalMs, 'heartbeatIntervalMs', 1000),
    heartbeatMisses: int(options.heartbeatMisses, 'heartbeatMisses', 1, 3),
    maxMessageBytes: int(options.maxMessageBytes, 'maxMessageBytes', 1024, 16 * 1024 * 1024),
  }
}
