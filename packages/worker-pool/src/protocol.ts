/**
 * Every message between a pool and its workers, for local threads (posted as structured-clone objects) and for
 * remote workers (each message one ZeroMQ frame holding one msgpack envelope, see
 * `docs/protocol.md §10`). Declared once here; the `type` is the envelope's `name` on the wire.
 */

/** The protocol version this build speaks. A peer announcing another version is refused. */
export const PROTOCOL_VERSION = 1

/** Result status in a {@link DoneMessage}: the task returned a value. */
export const STATUS_OK = 0
/** Result status in a {@link DoneMessage}: the task threw; the value is an `ErrorBody`. */
export const STATUS_ERROR = 1

/** Worker -> pool, first message: who I am and how many tasks I run at once. */
export interface HelloMessage {
  type: 'hello'
  v: number
  /** Tasks the worker runs at the same time (its credit). */
  slots: number
  /** Names of the tasks the worker's module exports. */
  tasks: string[]
  pid: number
}

/** Pool -> worker: you are in; heartbeat every `heartbeatMs`. */
export interface WelcomeMessage {
  type: 'welcome'
  v: number
  heartbeatMs: number
}

/** Pool -> worker: you are not accepted (wrong protocol version). The worker stops. */
export interface RefuseMessage {
  type: 'refuse'
  v: number
  code: string
  message: string
}

/**
 * Pool -> worker: run these tasks. `tasks` is flat, three items per task: `id, name, args`. Over threads `args`
 * is the value itself; over the network it is the msgpack encoding of the value (a bin), so one bad value fails
 * one task, not the whole frame.
 */
export interface RunMessage {
  type: 'run'
  tasks: unknown[]
}

/** Pool -> worker: abandon these tasks (timeout or abort). The worker aborts their signals, drops their results. */
export interface CancelMessage {
  type: 'cancel'
  ids: number[]
}

/**
 * Worker -> pool: results, flat, three items per task: `id, status, value` ({@link STATUS_OK} or
 * {@link STATUS_ERROR}). Over the network `value` is msgpack bytes, like `args`.
 */
export interface DoneMessage {
  type: 'done'
  results: unknown[]
}

/** Either way: I am alive. Sent every heartbeat interval; any message counts as a sign of life. */
export interface PingMessage {
  type: 'ping'
}

/**
 * Either way: forget me. A worker leaving sends it; a pool sends it to a peer it does not know (after a pool
 * restart), which makes the worker say hello again.
 */
export interface ByeMessage {
  type: 'bye'
}

/** Everything a pool sends to a worker. */
export type PoolMessage =
  | WelcomeMessage
  | RefuseMessage
  | RunMessage
  | CancelMessage
  | PingMessage
  | ByeMessage

/** Everything a worker sends to a pool. */
export type WorkerMessage = HelloMessage | DoneMessage | PingMessage | ByeMessage

/** Data the pool passes to a worker thread (`workerData`). */
export interface ThreadData {
  tasksUrl: string
  slots: number
  /**
   * One Int32 the pool bumps (and notifies) after each post: an idle thread sleeps in `Atomics.wait` on it
   * instead of in its event loop, which wakes it several microseconds sooner.
   */
  wake: Int32Array
}
