/**
 * Options of the ZeroMQ transport. Give them once to `zmqTransport({...})`; a route may override any of them
 * in its own options (`node.route('jobs', { type: 'push', bind, heartbeatIntervalMs: 500 })`).
 */
export interface ZmqOptions {
  /**
   * ZMTP heartbeat interval (libzmq `ZMQ_HEARTBEAT_IVL`), in ms. `0` turns heartbeats off.
   * @default 1000 (ms)
   */
  heartbeatIntervalMs?: number
  /**
   * How long to wait for a heartbeat reply before the connection is dropped (`ZMQ_HEARTBEAT_TIMEOUT`), and
   * the time-to-live the peer is told (`ZMQ_HEARTBEAT_TTL`), in ms.
   * @default 5000 (ms)
   */
  heartbeatTimeoutMs?: number
  /**
   * How long libzmq keeps sending after the socket is closed (`ZMQ_LINGER`), in ms, on top of the route's
   * own `lingerMs` (which flushes dripdrop's queue first). `-1` waits forever.
   * @default 0 (ms) once dripdrop's own queue is flushed, the remaining `lingerMs` is used
   */
  socketLingerMs?: number
  /**
   * First delay before reconnecting to a peer that went away (`ZMQ_RECONNECT_IVL`), in ms.
   * @default 100 (ms)
   */
  reconnectIntervalMs?: number
  /**
   * Upper bound of the exponential reconnect back-off (`ZMQ_RECONNECT_IVL_MAX`), in ms. `0` keeps
   * `reconnectIntervalMs` fixed.
   * @default 2000 (ms)
   */
  reconnectMaxIntervalMs?: number
  /**
   * Most envelopes one batch frame carries.
   * @default 256
   */
  batchMaxMessages?: number
  /**
   * Most bytes one batch frame carries (a single envelope may be larger, up to the codec's
   * `maxMessageBytes`).
   * @default 262144 (256 KiB)
   */
  batchMaxBytes?: number
  /**
   * ZeroMQ's own queue bound per peer, in ZeroMQ messages (each a frame that may be a batch)
   * (`ZMQ_SNDHWM` / `ZMQ_RCVHWM`).
   * @default 1000
   */
  socketHighWaterMark?: number
}

/** {@link ZmqOptions} validated and filled. */
export type FilledZmqOptions = Required<ZmqOptions>

/** The defaults of {@link ZmqOptions}. */
export const ZMQ_DEFAULTS: FilledZmqOptions = Object.freeze({
  heartbeatIntervalMs: 1000,
  heartbeatTimeoutMs: 5000,
  socketLingerMs: 0,
  reconnectIntervalMs: 100,
  reconnectMaxIntervalMs: 2000,
  batchMaxMessages: 256,
  batchMaxBytes: 256 * 1024,
  socketHighWaterMark: 1000,
})

type Rule = (value: number) => boolean
const RULES: { [K in keyof FilledZmqOptions]: [Rule, string] } = {
  heartbeatIntervalMs: [(v) => Number.isInteger(v) && v >= 0, 'a non-negative integer (ms)'],
  heartbeatTimeoutMs: [(v) => Number.isInteger(v) && v > 0, 'a positive integer (ms)'],
  socketLingerMs: [(v) => Number.isInteger(v) && v >= -1, 'an integer >= -1 (ms)'],
  reconnectIntervalMs: [(v) => Number.isInteger(v) && v > 0, 'a positive integer (ms)'],
  reconnectMaxIntervalMs: [(v) => Number.isInteger(v) && v >= 0, 'a non-negative integer (ms)'],
  batchMaxMessages: [(v) => Number.isInteger(v) && v >= 1, 'a positive integer'],
  batchMaxBytes: [(v) => Number.isInteger(v) && v >= 1, 'a positive integer (bytes)'],
  socketHighWaterMark: [(v) => Number.isInteger(v) && v >= 0, 'a non-negative integer'],
}

/**
 * Validates the options found in `source` on top of `base`, with `path` in messages
 * (`options.heartbeatIntervalMs must be …`, `route "jobs": options.batchMaxBytes must be …`).
 */
export function fillOptions(
  source: Readonly<Record<string, unknown>> | undefined,
  base: FilledZmqOptions,
  path: string,
): FilledZmqOptions {
  if (source === undefined) return base
  if (source === null || typeof source !== 'object') throw new TypeError(`${path} must be an object`)
  const out = { ...base }
  for (const key of Object.keys(RULES) as (keyof FilledZmqOptions)[]) {
    const value = source[key]
    if (value === undefined) continue
    const [ok, expected] = RULES[key]
    if (typeof value !== 'number' || !ok(value)) {
      throw new TypeError(`${path}.${key} must be ${expected}, got ${String(value)}`)
    }
    out[key] = value
  }
  return out
}
