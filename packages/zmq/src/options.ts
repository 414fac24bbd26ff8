import { type CurveOptions, type CurveSettings, fillCurve } from './curve/curve-options.js'

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
  reconnectMinMs?: number
  /**
   * Upper bound of the exponential reconnect back-off (`ZMQ_RECONNECT_IVL_MAX`), in ms. `0` keeps
   * `reconnectMinMs` fixed.
   * @default 2000 (ms)
   */
  reconnectMaxMs?: number
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
   * Bytes of work one route may hold (`maxQueueBytes`, CONTRIBUTING.md): inbound, requests handed to handlers
   * and not answered yet (a `rep`/`router` route stops reading past it, which pushes back on every sender);
   * outbound, the estimated size of envelopes queued for sending (`send()` waits past it, like
   * `highWaterMark`; the estimate counts bytes and strings in the body, one level deep).
   * @default 67108864 (64 MiB)
   */
  maxQueueBytes?: number
  /**
   * Bytes one peer may hold on a route (`maxPeerQueueBytes`, CONTRIBUTING.md). Inbound, on `rep`/`router`
   * routes: a request from a peer whose unanswered requests already hold this much is refused at once (an
   * error reply with `DD_ERR_PEER_QUEUE_FULL`, `stats.dropped`, a `route:error`), so one peer cannot take the
   * route from the others. Outbound, a reply or `sendTo` for a peer that already has this much queued is
   * dropped the same way. Also sets the default {@link ZmqOptions.socketHighWaterMark}. One request is
   * always admitted, whatever its size (up to the codec's `maxMessageBytes`).
   * @default 33554432 (32 MiB)
   */
  maxPeerQueueBytes?: number
  /**
   * ZeroMQ's own queue bound per peer and direction, in ZeroMQ messages (each a frame that may be a batch)
   * (`ZMQ_SNDHWM` / `ZMQ_RCVHWM`). libzmq counts messages, not bytes, and a message may be as large as the
   * codec's `maxMessageBytes`, so the default is derived from bytes:
   * `clamp(floor(maxPeerQueueBytes / maxMessageBytes), 2, 1000)` (2 with the 16 MiB codec default, 1000
   * with `maxMessageBytes` of 32 KiB or less). libzmq then holds at most about `maxPeerQueueBytes` per peer
   * and direction. `0` means no limit.
   * @default derived from maxPeerQueueBytes and the codec's maxMessageBytes (see above)
   */
  socketHighWaterMark?: number
  /**
   * CURVE security (encryption, server authentication, client allow-list through ZAP): see
   * {@link CurveOptions}. A binding route is the CURVE server, a route that only connects a client (it needs
   * `serverKey`). Given to `zmqTransport()` it applies to every route; a route's own `curve` replaces it
   * (`false` turns it off for that route). Validated once; the secret key is never printed.
   * @default undefined (no CURVE: the NULL mechanism, plain text, anyone who reaches the port)
   */
  curve?: CurveOptions | false
}

/** {@link ZmqOptions} validated and filled; `socketHighWaterMark` stays `undefined` when it is derived. */
export type FilledZmqOptions = Required<Omit<ZmqOptions, 'socketHighWaterMark' | 'curve'>> & {
  socketHighWaterMark: number | undefined
  curve: CurveSettings | undefined
}

type NumericOption = Exclude<keyof FilledZmqOptions, 'curve'>

/** The libzmq high-water mark used for a route: the option, or derived from the byte budget. */
export function socketHighWaterMark(o: FilledZmqOptions, maxMessageBytes: number): number {
  if (o.socketHighWaterMark !== undefined) return o.socketHighWaterMark
  return Math.min(1000, Math.max(2, Math.floor(o.maxPeerQueueBytes / maxMessageBytes)))
}

/** The defaults of {@link ZmqOptions}. */
export const ZMQ_DEFAULTS: FilledZmqOptions = Object.freeze({
  heartbeatIntervalMs: 1000,
  heartbeatTimeoutMs: 5000,
  socketLingerMs: 0,
  reconnectMinMs: 100,
  reconnectMaxMs: 2000,
  batchMaxMessages: 256,
  batchMaxBytes: 256 * 1024,
  maxQueueBytes: 64 * 1024 * 1024,
  maxPeerQueueBytes: 32 * 1024 * 1024,
  socketHighWaterMark: undefined,
  curve: undefined,
})

type Rule = (value: number) => boolean
const RULES: { [K in NumericOption]: [Rule, string] } = {
  heartbeatIntervalMs: [(v) => Number.isInteger(v) && v >= 0, 'a non-negative integer (ms)'],
  heartbeatTimeoutMs: [(v) => Number.isInteger(v) && v > 0, 'a positive integer (ms)'],
  socketLingerMs: [(v) => Number.isInteger(v) && v >= -1, 'an integer >= -1 (ms)'],
  reconnectMinMs: [(v) => Number.isInteger(v) && v > 0, 'a positive integer (ms)'],
  reconnectMaxMs: [(v) => Number.isInteger(v) && v >= 0, 'a non-negative integer (ms)'],
  batchMaxMessages: [(v) => Number.isInteger(v) && v >= 1, 'a positive integer'],
  batchMaxBytes: [(v) => Number.isInteger(v) && v >= 1, 'a positive integer (bytes)'],
  maxQueueBytes: [(v) => Number.isInteger(v) && v >= 1, 'a positive integer (bytes)'],
  maxPeerQueueBytes: [(v) => Number.isInteger(v) && v >= 1, 'a positive integer (bytes)'],
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
  strict = false,
): FilledZmqOptions {
  if (source === undefined) return base
  if (source === null || typeof source !== 'object') throw new TypeError(`${path} must be an object`)
  if (strict)
    for (const key of Object.keys(source))
      if (!(key in RULES) && key !== 'curve')
        throw new TypeError(`${path}.${key} is not an option of the zmq transport`)
  const out = { ...base }
  if (source.curve !== undefined) out.curve = fillCurve(source.curve, `${path}.curve`)
  for (const key of Object.keys(RULES) as NumericOption[]) {
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
