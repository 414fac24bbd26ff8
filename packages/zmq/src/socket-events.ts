import type { RouteHost } from '@dripdrop/core'
import type * as zmq from 'zeromq'
import type { Refusal } from './curve/zap-handler.js'
import { HandshakeError } from './errors.js'

/**
 * Forwards a ZeroMQ socket's monitor events to the route as typed node events:
 *
 * | libzmq event | node event |
 * | --- | --- |
 * | `connect`, `accept` | `route:connect` |
 * | `disconnect` | `route:disconnect` |
 * | `handshake:error:protocol`, `handshake:error:auth`, `handshake:error:other` | `route:error` with a `HandshakeError` (`DD_ERR_HANDSHAKE`, `reason` `protocol`/`auth`/`other`) |
 *
 * Reconnects are libzmq's own (`reconnectMinMs` … `reconnectMaxMs`); a peer that restarts shows
 * as `route:disconnect` then `route:connect` again.
 */
export function forwardEvents(
  socket: zmq.Socket,
  host: RouteHost,
  refusal?: () => Refusal | undefined,
): void {
  const events = socket.events
  events.on('connect', (e) => host.emit({ type: 'connect', endpoint: e.address }))
  events.on('accept', (e) => host.emit({ type: 'connect', endpoint: e.address }))
  events.on('disconnect', (e) => host.emit({ type: 'disconnect', endpoint: e.address }))
  const handshake = (reason: 'auth' | 'protocol' | 'other') => (e: { address: string; error: Error }) => {
    // A refusal by the ZAP allow-list: the handler kept the client's key and address for this message.
    const refused = reason === 'auth' ? refusal?.() : undefined
    const detail =
      refused === undefined
        ? e.error.message
        : `${refused.reason} (client key ${refused.clientKey ?? 'none'} from ${refused.address})`
    host.emit({
      type: 'error',
      endpoint: e.address,
      error: new HandshakeError(
        `ZMTP handshake with ${e.address} failed (${reason}): ${detail}`,
        e.address,
        e.error,
        reason,
        refused?.clientKey,
      ),
    })
  }
  events.on('handshake:error:protocol', handshake('protocol'))
  events.on('handshake:error:auth', handshake('auth'))
  events.on('handshake:error:other', handshake('other'))
}
