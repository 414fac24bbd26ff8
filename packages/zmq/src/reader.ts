import type { Codec, Envelope } from '@dripdrop/codec'
import type { RouteHost } from '@dripdrop/core'
import type * as zmq from 'zeromq'
import { DecodeError, DripdropError, TransportError } from './errors.js'
import type { InboundLedger } from './inbound-ledger.js'
import { peerKey } from './parked-replies.js'
import type { Routing } from './wire.js'

/** What the reader of one socket needs. */
export interface ReaderContext {
  host: RouteHost
  codec: Codec
  /** The route's name, for messages. */
  route: string
  /** ROUTER sockets: the parts before the frame are the peer's routing, handed to the route as `from`. */
  routed: boolean
  /** False once the socket is closing: the loop ends at the next message or when the socket closes. */
  isOpen: () => boolean
  /** ROUTER sockets: the byte budget of unanswered requests, per peer and for the route. */
  ledger?: InboundLedger
  /** Answers a request refused by the ledger (its peer is over `maxPeerQueueBytes`). */
  refuse?: (envelope: Envelope, from: Routing, bytes: number) => void
}

/**
 * The single reader of a socket: takes one ZeroMQ message at a time, decodes its last part (one envelope or a
 * batch), and hands each envelope to the route. When the route pushes back (its handlers are all busy) the
 * loop waits, ZeroMQ's receive queue fills, and the sender feels it. A frame that fails to decode is reported
 * as a `DecodeError` (the route counts it) and the loop goes on with the next message.
 */
export async function readLoop(socket: zmq.Pull | zmq.Router, ctx: ReaderContext): Promise<void> {
  const { host, codec, routed } = ctx
  const stats = host.stats
  while (ctx.isOpen()) {
    let message: Buffer[]
    try {
      message = await socket.receive()
    } catch (err) {
      if (socket.closed || !ctx.isOpen()) return
      if ((err as { code?: string }).code === 'EAGAIN') continue
      host.emit({ type: 'error', error: new TransportError(`route "${ctx.route}": receive failed`, err) })
      return
    }
    const frame = message[message.length - 1]
    stats.bytesIn += frame.byteLength
    if (routed && message.length < 2) {
      const error = new DecodeError('ROUTER message without a frame', 'DD_ERR_DECODE_SHAPE', 0)
      host.emit({ type: 'error', error })
      continue
    }
    const from = routed ? message.slice(0, -1) : undefined
    let decoded: Envelope | Envelope[]
    try {
      decoded = codec.decodeFrame(frame)
    } catch (err) {
      host.emit({ type: 'error', error: asDripdropError(err, ctx.route) })
      continue
    }
    if (Array.isArray(decoded)) {
      stats.batchesIn++
      const bytes = Math.ceil(frame.byteLength / Math.max(1, decoded.length))
      for (let i = 0; i < decoded.length; i++) {
        const wait = deliver(decoded[i], from, bytes, ctx)
        if (wait !== undefined) await wait
      }
    } else {
      const wait = deliver(decoded, from, frame.byteLength, ctx)
      if (wait !== undefined) await wait
    }
  }
}

// Hands one envelope to the route. A request on a ROUTER goes through the byte budget first: refused when its
// peer is over budget, held (the loop stops reading) while the route is.
function deliver(
  envelope: Envelope,
  from: Routing | undefined,
  bytes: number,
  ctx: ReaderContext,
): void | Promise<void> {
  const id = envelope.head.$id
  const ledger = ctx.ledger
  if (ledger === undefined || from === undefined || id === undefined) return ctx.host.receive(envelope, from)
  const peer = peerKey(from[0])
  const admission = ledger.admit(peer, id, bytes)
  if (admission === 'ok') return handOver(envelope, from, peer, id, ctx)
  if (admission === 'peer-full') {
    ctx.refuse?.(envelope, from, bytes)
    return
  }
  return (async () => {
    while (ctx.isOpen()) {
      await ledger.whenReleased()
      const again = ledger.admit(peer, id, bytes)
      if (again === 'ok') return handOver(envelope, from, peer, id, ctx)
      if (again === 'peer-full') return ctx.refuse?.(envelope, from, bytes)
    }
  })()
}

function handOver(
  envelope: Envelope,
  from: Routing,
  peer: string,
  id: unknown,
  ctx: ReaderContext,
): void | Promise<void> {
  const stats = ctx.host.stats
  const expired = stats.expired
  const wait = ctx.host.receive(envelope, from)
  // Dropped unanswered (its deadline had passed): no reply will release it.
  if (stats.expired !== expired) ctx.ledger!.release(peer, id)
  return wait
}

/** A coded error as is; anything else wrapped in a `TransportError` (`DD_ERR_TRANSPORT`). */
export function asDripdropError(err: unknown, route: string): DripdropError {
  if (err instanceof DripdropError) return err
  return new TransportError(`route "${route}": ${(err as Error)?.message ?? String(err)}`, err)
}
