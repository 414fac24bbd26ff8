export {
  AbortError,
  ClosedError,
  DecodeError,
  DestroyedError,
  DripdropError,
  EncodeError,
  ProtocolVersionError,
  QueueFullError,
  RemoteError,
  TimeoutError,
  UnknownTaskError,
  WorkerCrashedError,
  WorkerStartError,
} from './errors.js'
export type { PoolOptions } from './options.js'
export { createPool, type DeferOptions, Pool, type PoolEventMap, type PoolState } from './pool.js'
export {
  type ByeMessage,
  type CancelMessage,
  type DoneMessage,
  type HelloMessage,
  type PingMessage,
  type PoolMessage,
  PROTOCOL_VERSION,
  type RefuseMessage,
  type RunMessage,
  STATUS_ERROR,
  STATUS_OK,
  type WelcomeMessage,
  type WorkerMessage,
} from './protocol.js'
export { RemoteWorker, type RemoteWorkerOptions, type RemoteWorkerState } from './remote-worker.js'
export type { Percentiles, PoolStats } from './stats.js'
export { defineTasks, isTask, type Task, type TaskContext, type TaskFunction, type Tasks } from './tasks.js'
export { decodeMessage, encodeMessage } from './wire.js'
