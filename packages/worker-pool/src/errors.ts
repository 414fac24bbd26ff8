import { DripdropError } from '@dripdrop/core'

export {
  AbortError,
  ClosedError,
  DecodeError,
  DestroyedError,
  DripdropError,
  EncodeError,
  RemoteError,
  TimeoutError,
} from '@dripdrop/core'

/**
 * A worker thread or remote worker died (crash, `process.exit`, SIGKILL, missed heartbeats) while running the
 * task, and the task already used its `maxRetries` (`DD_ERR_WORKER_CRASHED`). The last death reason is the `cause`.
 */
export class WorkerCrashedError extends DripdropError {
  /** How many times the task was started in total. */
  readonly attempts: number
  constructor(message: string, attempts: number, cause?: unknown) {
    super(message, 'DD_ERR_WORKER_CRASHED', { cause })
    this.attempts = attempts
  }
}

/** The worker has no task of that name (`DD_ERR_UNKNOWN_TASK`). Raised in the worker, it reaches the caller. */
export class UnknownTaskError extends DripdropError {
  constructor(message: string) {
    super(message, 'DD_ERR_UNKNOWN_TASK')
  }
}

/**
 * A peer speaks another version of the worker-pool protocol (`DD_ERR_PROTOCOL_VERSION`). The pool refuses such a
 * worker; the worker's `start()` rejects with this error.
 */
export class ProtocolVersionError extends DripdropError {
  /** The version the peer announced. */
  readonly peerVersion: unknown
  constructor(message: string, peerVersion: unknown) {
    super(message, 'DD_ERR_PROTOCOL_VERSION')
    this.peerVersion = peerVersion
  }
}

/** A worker could not load its tasks module (`DD_ERR_WORKER_START`). The loader's error is the `cause`. */
export class WorkerStartError extends DripdropError {
  constructor(message: string, cause?: unknown) {
    super(message, 'DD_ERR_WORKER_START', { cause })
  }
}

/**
 * `defer(…, { wait: false })` found `maxQueue` tasks already queued (`DD_ERR_QUEUE_FULL`). Nothing was queued;
 * retry later or call without `wait: false` to wait for admission. It carries no stack: a refusal must stay
 * cheap under a flood (capturing a stack costs more than the refusal itself).
 */
export class QueueFullError extends DripdropError {
  constructor(message: string) {
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    try {
      super(message, 'DD_ERR_QUEUE_FULL')
    } finally {
      Error.stackTraceLimit = limit
    }
  }
}
