/**
 * The ZeroMQ wire layout of every dripdrop route type, declared once (see `docs/protocol.md §8`).
 *
 * Every ZeroMQ message that carries dripdrop data has exactly one codec frame, and it is always the **last**
 * part: a single envelope `[1, name, head, body]` or a batch `[2, [1, name, head, body], …]`. The parts before
 * it are routing: a PUB topic, or a ROUTER's peer identity (plus an empty delimiter when the peer is a REQ
 * socket).
 */
import * as zmq from 'zeromq'
import { type CurveRole, curveSocketOptions } from './curve/curve-socket.js'
import { type FilledZmqOptions, socketHighWaterMark } from './options.js'

/** The ZeroMQ socket behind each dripdrop route type, and how its messages are laid out. */
export type WireLayout =
  /** PUB → SUB: `[topic, frame]`; `topic` is the UTF-8 envelope name; a batch only holds one name. */
  | { type: 'topic'; socket: 'PUB' | 'SUB' }
  /** PUSH → PULL, DEALER → ROUTER (requests): `[frame]`. */
  | { type: 'plain'; socket: 'PUSH' | 'PULL' | 'DEALER' }
  /** ROUTER: receives `[identity, …, frame]`, replies `[identity, …, frame]` with the same routing parts. */
  | { type: 'routed'; socket: 'ROUTER' }

/** Route type → wire layout. `req` is a DEALER and `rep` a ROUTER so many requests are in flight at once. */
export const LAYOUTS: Readonly<Record<string, WireLayout>> = {
  pub: { type: 'topic', socket: 'PUB' },
  sub: { type: 'topic', socket: 'SUB' },
  push: { type: 'plain', socket: 'PUSH' },
  pull: { type: 'plain', socket: 'PULL' },
  req: { type: 'plain', socket: 'DEALER' },
  dealer: { type: 'plain', socket: 'DEALER' },
  rep: { type: 'routed', socket: 'ROUTER' },
  router: { type: 'routed', socket: 'ROUTER' },
}

/** The route types the transport opens. */
export const ROUTE_TYPES = Object.keys(LAYOUTS)

/** Route types whose socket sends with `send()` (not only `sendTo()`). */
export const SENDS = new Set(['pub', 'push', 'req', 'dealer'])
/**
 * Sockets whose sends wait for room (a peer, space in its pipe) instead of failing. They are created with a
 * zero send timeout, for speed, and their writer turns an EAGAIN into a blocking send (see `createSocket`).
 */
export const BLOCKS_WHEN_FULL = new Set(['PUSH', 'DEALER'])
/** Route types whose socket reads. */
export const RECEIVES = new Set(['sub', 'pull', 'req', 'dealer', 'rep', 'router'])

/** The routing parts a ROUTER got before the frame: `[identity]`, or `[identity, '']` from a REQ peer. */
export type Routing = readonly Uint8Array[]

export type ZmqSocket = zmq.Publisher | zmq.Subscriber | zmq.Push | zmq.Pull | zmq.Dealer | zmq.Router

/**
 * Bytes allowed above the codec's `maxMessageBytes` in one received ZeroMQ message part (`ZMQ_MAXMSGSIZE`):
 * the codec frame is a part of its own, so this is only a margin; routing parts are a few bytes.
 */
export const FRAME_SLACK_BYTES = 1024

export type { CurveRole }

/**
 * Creates the ZeroMQ socket of a route type with the transport's options applied. `maxMessageBytes` is the
 * route codec's: libzmq refuses a larger incoming part before buffering it (`ZMQ_MAXMSGSIZE`, the
 * connection is dropped), and the default high-water marks are derived from it (see `socketHighWaterMark`).
 */
export function createSocket(
  type: string,
  o: FilledZmqOptions,
  maxMessageBytes: number,
  curve?: CurveRole,
): ZmqSocket {
  const socket = LAYOUTS[type].socket
  const hwm = socketHighWaterMark(o, maxMessageBytes)
  const common: Record<string, number | boolean | string> = {
    linger: o.socketLingerMs,
    reconnectInterval: o.reconnectMinMs,
    reconnectMaxInterval: o.reconnectMaxMs,
    maxMessageSize: maxMessageBytes + FRAME_SLACK_BYTES,
  }
  if (o.heartbeatIntervalMs > 0) {
    common.heartbeatInterval = o.heartbeatIntervalMs
    common.heartbeatTimeout = o.heartbeatTimeoutMs
    // ZMQ_HEARTBEAT_TTL has decisecond resolution.
    common.heartbeatTimeToLive = Math.max(100, Math.floor(o.heartbeatTimeoutMs / 100) * 100)
  }
  if (curve !== undefined && o.curve !== undefined) Object.assign(common, curveSocketOptions(o.curve, curve))
  // zeromq.js refuses options a socket type does not have (a PUB has no receive high-water mark).
  // A PUB drops what a subscriber's pipe has no room for, so a bound derived for 16 MiB messages (2) would
  // drop ordinary bursts: its send side keeps 1000 unless set. Its frames are the publisher's own.
  if (socket === 'PUB') common.sendHighWaterMark = o.socketHighWaterMark ?? 1000
  else if (socket !== 'SUB' && socket !== 'PULL') common.sendHighWaterMark = hwm
  if (socket !== 'PUB' && socket !== 'PUSH') common.receiveHighWaterMark = hwm
  switch (socket) {
    case 'PUB':
      // NODROP + a zero send timeout: a full subscriber pipe makes send() fail at once with EAGAIN instead of
      // libzmq dropping silently, so every envelope dropped at the high-water mark is counted.
      return new zmq.Publisher({ ...common, noDrop: true, sendTimeout: 0 })
    case 'SUB':
      return new zmq.Subscriber(common)
    case 'PUSH':
      // A zero send timeout spares zeromq.js a ZMQ_EVENTS check (a poll(2) in libzmq) before every send; a full
      // pipe or no peer yet fails with EAGAIN, and the writer then waits for room with a blocking send
      // (ZmqRouteSocket, BLOCKS_WHEN_FULL), so backpressure is unchanged.
      return new zmq.Push({ ...common, sendTimeout: 0 })
    case 'PULL':
      return new zmq.Pull(common)
    case 'DEALER':
      return new zmq.Dealer({ ...common, sendTimeout: 0 })
    case 'ROUTER':
      // MANDATORY: a reply to a peer that is gone fails with EHOSTUNREACH (counted) instead of vanishing.
      // A zero send timeout: a peer that stopped reading (its pipe at the high-water mark) gets EAGAIN at
      // once, so its replies are dropped and counted instead of stalling the one writer every peer shares
      // (a ROUTER with MANDATORY polls writable while any pipe has room, so a blocking send would spin).
      return new zmq.Router({ ...common, mandatory: true, sendTimeout: 0 })
  }
}
