import type { RouteHost, RouteSpec, TransportFactory } from '../transport.js'
import { InprocSocket } from './inproc-socket.js'

const TYPES = ['pub', 'sub', 'push', 'pull', 'req', 'rep', 'dealer', 'router'] as const

let shared: TransportFactory | undefined

/**
 * The in-process transport, `inproc://<name>`: every pattern, no ZeroMQ, no encoding (envelopes are handed
 * over as objects, so do not mutate one after sending it). Queues are bounded by the route's
 * `highWaterMark` and a send waits for room. Every node has it; nothing to register.
 */
export function inprocTransport(): TransportFactory {
  shared ??= {
    name: 'inproc',
    schemes: ['inproc'],
    types: TYPES,
    create: (spec: RouteSpec, host: RouteHost) => new InprocSocket(spec, host),
  }
  return shared
}
