import type { RouteHost, RouteSocket, RouteSpec, TransportFactory } from '@dripdrop/core'
import { fillOptions, type ZmqOptions, ZMQ_DEFAULTS } from './options.js'
import { ROUTE_TYPES } from './wire.js'
import { ZmqRouteSocket } from './zmq-route-socket.js'

// Every zmq route type takes the transport's options as its own (typed, so a misspelt one fails to compile).
declare module '@dripdrop/core' {
  interface PubRouteOptions extends ZmqOptions {}
  interface SubRouteOptions extends ZmqOptions {}
  interface PushRouteOptions extends ZmqOptions {}
  interface PullRouteOptions extends ZmqOptions {}
  interface ReqRouteOptions extends ZmqOptions {}
  interface RepRouteOptions extends ZmqOptions {}
  interface DealerRouteOptions extends ZmqOptions {}
  interface RouterRouteOptions extends ZmqOptions {}
}

/** The route options the zmq transport reads, on every route type: the keys of {@link ZmqOptions}. */
const OPTION_KEYS: readonly string[] = Object.keys(ZMQ_DEFAULTS)

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
    optionKeys: Object.fromEntries(ROUTE_TYPES.map((type) => [type, OPTION_KEYS])),
    create(spec: RouteSpec, host: RouteHost): RouteSocket {
      const own = fillOptions(spec.options, filled, `route "${spec.name}": options`)
      if (own.curve !== undefined && spec.bind.length === 0 && own.curve.serverKey === undefined)
        throw new TypeError(
          `route "${spec.name}": options.curve.serverKey is required on a route that only connects (the CURVE server's public key)`,
        )
      return new ZmqRouteSocket(spec, host, own)
    },
  }
}
