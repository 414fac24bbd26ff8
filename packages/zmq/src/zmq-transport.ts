import type { RouteHost, RouteSocket, RouteSpec, TransportFactory } from '@dripdrop/core'
import { fillOptions, type ZmqOptions, ZMQ_DEFAULTS } from './options.js'
import { ROUTE_TYPES } from './wire.js'
import { ZmqRouteSocket } from './zmq-route-socket.js'

/**
 * The ZeroMQ transport for `tcp://` and `ipc://` addresses (`inproc://` stays core's own, in-process path).
 * Opens every pattern: `pub`/`sub` (topic = envelope name, prefix subscriptions), `push`/`pull`, `req`/`rep`
 * (a DEALER and a ROUTER: many requests in flight, correlated by id) and raw `dealer`/`router`.
 *
 * Options are validated here, once; a route may override any of them in its own options.
 *
 * @example
 * ```ts
 * import { Node } from '@dripdrop/core'
 * import { zmqTransport } from '@dripdrop/zmq'
 *
 * const node = new Node({ transports: [zmqTransport({ heartbeatIntervalMs: 500 })] })
 * const jobs = node.route('jobs', { type: 'push', bind: 'tcp://127.0.0.1:*' })
 * await node.start()
 * console.log(jobs.endpoints) // ['tcp://127.0.0.1:41234']
 * ```
 */
export function zmqTransport(options?: ZmqOptions): TransportFactory {
  const filled = fillOptions(options as Record<string, unknown> | undefined, ZMQ_DEFAULTS, 'options', true)
  return {
    name: 'zmq',
    schemes: ['tcp', 'ipc'],
    types: ROUTE_TYPES,
    create(spec: RouteSpec, host: RouteHost): RouteSocket {
      const own = fillOptions(spec.options, filled, `route "${spec.name}": options`)
      return new ZmqRouteSocket(spec, host, own)
    },
  }
}
