import type { RouteHost } from '@dripdrop/core'
import type * as zmq from 'zeromq'
import { HandshakeError } from './errors.js'

/**
 * Forwards a ZeroMQ socket's monitor events to the route as typed node events:
 *
 * | libzmq event | node event |
 * | --- | --- |
 * | `connect`, `accept` | `route:connect` |
 * | `disconnect` | `route:disconnect` |
 * | `handshake:error:protocol`, `handshake:error:auth`, `handshake:error:other` | `route:error` with a `HandshakeError` (`DD_ERR_HANDSHAKE`) |
 *
 * Reconnects are libzmq's own (`reconnectMinMs` … `reconnectMaxMs`); a peer that restarts shows
 * as `route:disconnect` then `route:connect` again.
 */
export function forwardEvents(socket: zmq.Socket, host: RouteHost): void {
  const events = socket.events
  events.on('connect', (e) => host.emit({ type: 'connect', endpoint: e.address }))
  events.on('accept', (e) => host.emit({ type: 'connect', endpoint: e.address }))
  events.on('disconnect', (e) => host.emit({ type: 'disconnect', endpoint: e.address }))
  const handshake = (e: { address: string; error: Error }) =>
    host.emit({
      type: 'error',
      endpoint: e.address,
      error: new HandshakeError(
        `ZMTP handshake with ${e.address} failed: ${e.error.message}`,
        e.address,
        e.error,
      ),
    })
  events.on('handshake:error:protocol', handshake)
  events.on('handshake:error:auth', handshake)
  events.on('handshake:error:other', handshake)
}
