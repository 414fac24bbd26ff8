import { availableParallelism } from 'node:os'
import { pathToFileURL } from 'node:url'
import { type CurveOptions, type CurveSettings, validateCurve } from '@dripdrop/zmq'

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
  concurrencyPerThread?: number
  /** A ZeroMQ address to accept remote workers on, e.g. `tcp://0.0.0.0:5555` or `tcp://127.0.0.1:*`. @default none */
  listen?: string
  /**
   * Tasks admitted to the queue (waiting for a free worker slot). Beyond it `defer()` waits for admission (its
   * call holds only its own arguments), or rejects at once with `DD_ERR_QUEUE_FULL` when called with
   * `{ wait: false }`. @default 10_000
   */
  maxQueue?: number
  /** Times a task is re-dispatched after the worker running it died. @default 2 */
  maxRetries?: number
  /**
   * Default run-time limit of a task, in ms, counted from dispatch; `Infinity` for none. A per-call
   * `timeoutMs` overrides it. @default none on local threads, 60_000 (1 min) on remote workers, so that a
   * remote peer that takes tasks and never answers (while it answers heartbeats) cannot hold them for ever.
   */
  timeoutMs?: number
  /** Default limit, in ms, on the time a task waits for a worker (admission and queue). @default Infinity */
  queueTimeoutMs?: number
  /** Heartbeat period with remote workers, both ways, in ms. @default 1000 */
  heartbeatIntervalMs?: number
  /** A remote worker silent for this many heartbeat periods is dead. @default 3 */
  heartbeatMisses?: number
  /**
   * Largest frame to or from a remote worker, in bytes. `run` batches are cut to fit; a task whose arguments
   * alone do not fit fails with `DD_ERR_ENCODE_TOO_LARGE`. @default 16 MiB
   */
  maxMessageBytes?: number
  /**
   * The most tasks the pool keeps in flight on one remote worker, whatever concurrency its `hello`
   * advertises. @default 256
   */
  maxWorkerConcurrency?: number
  /**
   * Bytes of frames waiting for one remote worker that does not read them (its pipe full), in bytes
   * (`maxPeerQueueBytes` of the `router` route, @dripdrop/zmq). Past it, the frame is dropped and the worker is
   * dropped with it as if it had died: its tasks run again elsewhere. @default 33554432 (32 MiB)
   */
  maxPeerQueueBytes?: number
  /**
   * CURVE on the `listen` socket (`@dripdrop/zmq`'s options, one shape for every ZeroMQ channel): the pool is
   * the CURVE server with this key pair; with `allow`, a remote worker whose public key is not listed is
   * refused at the handshake (`worker:refused` with a `DD_ERR_HANDSHAKE` error, counted in
   * `stats.workersRefused`), gets no task and can send nothing. Workers pass `curve` with the pool's public key
   * as `serverKey` (`RemoteWorker({ curve })`, `dripdrop-worker --curve-*`).
   * @default undefined (plain text: anyone who reaches `listen` can join and read tasks' arguments)
   */
  curve?: CurveOptions
}

/** Default run-time limit of a task on a remote worker, in ms. */
export const REMOTE_TIMEOUT_MS = 60_000

const KNOWN = new Set([
  'tasks',
  'threads',
  'concurrencyPerThread',
  'listen',
  'maxQueue',
  'maxRetries',
  'timeoutMs',
  'queueTimeoutMs',
  'heartbeatIntervalMs',
  'heartbeatMisses',
  'maxMessageBytes',
  'maxWorkerConcurrency',
  'curve',
  'maxPeerQueueBytes',
])

/** {@link PoolOptions} validated and filled. */
export interface FilledPoolOptions {
  tasksUrl: string | undefined
  threads: number
  concurrencyPerThread: number
  listen: string | undefined
  maxQueue: number
  maxRetries: number
  timeoutMs: number | undefined
  queueTimeoutMs: number
  heartbeatIntervalMs: number
  heartbeatMisses: number
  maxMessageBytes: number
  maxWorkerConcurrency: number
  curve: CurveSettings | undefined
  maxPeerQueueBytes: number
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
  for (const key of Object.keys(options)) {
    if (key === 'slotsPerThread')
      throw new TypeError('options.slotsPerThread was renamed options.concurrencyPerThread')
    if (!KNOWN.has(key)) throw new TypeError(`options.${key} is not a pool option`)
  }
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
    concurrencyPerThread: int(options.concurrencyPerThread, 'concurrencyPerThread', 1, 32),
    listen: options.listen,
    maxQueue: int(options.maxQueue, 'maxQueue', 1, 10_000),
    maxRetries: int(options.maxRetries, 'maxRetries', 0, 2),
    timeoutMs: options.timeoutMs === undefined ? undefined : ms(options.timeoutMs, 'timeoutMs', 0),
    queueTimeoutMs: ms(options.queueTimeoutMs, 'queueTimeoutMs', Number.POSITIVE_INFINITY),
    heartbeatIntervalMs: ms(options.heartbeatIntervalMs, 'heartbeatIntervalMs', 1000),
    heartbeatMisses: int(options.heartbeatMisses, 'heartbeatMisses', 1, 3),
    maxMessageBytes: int(options.maxMessageBytes, 'maxMessageBytes', 1024, 16 * 1024 * 1024),
    maxWorkerConcurrency: int(options.maxWorkerConcurrency, 'maxWorkerConcurrency', 1, 256),
    curve: curveOf(options),
    maxPeerQueueBytes: int(options.maxPeerQueueBytes, 'maxPeerQueueBytes', 1, 32 * 1024 * 1024),
  }
}

function curveOf(options: PoolOptions): CurveSettings | undefined {
  if (options.curve === undefined) return undefined
  if (options.listen === undefined) throw new TypeError('options.curve is given without options.listen')
  return validateCurve(options.curve, 'options.curve', 'server')
}
