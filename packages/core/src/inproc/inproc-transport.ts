import type { RouteHost, RouteSpec, TransportFactory } from '../transport.js'
import { InprocSocket } from './inproc-socket.js'

const TYPES = ['pub', 'sub', 'push', 'pull', 'req', 'rep', 'dealer', 'router'] as const

let shared: TransportFactory | undefined

/**
 * The in-process transport, `inproc://<name>`: every pattern, no ZeroMQ, no encoding (envelopes are handed
 * over as objects, so do not mutate one after sending it). Queues are bounded by the route's
 * `highWaterMark`; `push`, `req` and `dealer` sends wait for room, `pub` never waits (a full subscriber misses
 * the message, counted in `stats.dropped`). Every node has it; nothing to register.
 */
export function inprocTransport(): TransportFactory {
  shared ??= {
    name: 'inproc',
    schemes: ['inproc'],
    types: TYPES,
    // No options of its own: everything inproc does is set by core's route options.
    optionKeys: Object.fromEntries(TYPES.map((t) => [t, []])),
    create: (spec: RouteSpec, host: RouteHost) => new InprocSocket(spec, host),
  }
  return shared
}
