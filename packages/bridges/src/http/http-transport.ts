import type { RouteHost, RouteOptionsBase, RouteSpec, TransportFactory } from '@dripdrop/core'
import { type HttpClientOptions, HttpClientSocket } from './http-client.js'
import { type HttpServerOptions, HttpServerSocket } from './http-server.js'

declare module '@dripdrop/core' {
  interface RouteOptionsByType {
    'http-server': RouteOptionsBase & HttpServerOptions
    'http-client': RouteOptionsBase & HttpClientOptions
  }
}

/**
 * Every option each route type reads beyond core's, as a record of all its keys: an option added to the
 * interface and not here (or the other way round) fails to compile, so the runtime check cannot drift.
 */
const HTTP_SERVER_KEYS: Record<keyof HttpServerOptions, true> = {
  routes: true,
  headers: true,
  maxMessageBytes: true,
  bodyTimeoutMs: true,
  maxQueueBytes: true,
  handlerTimeoutMs: true,
  keepAliveTimeoutMs: true,
  fallback: true,
  exposeErrorStacks: true,
  authorize: true,
  tls: true,
}
const HTTP_CLIENT_KEYS: Record<keyof HttpClientOptions, true> = {
  routes: true,
  connections: true,
  keepAliveTimeoutMs: true,
  contentType: true,
  maxMessageBytes: true,
  tls: true,
}
const OPTION_KEYS = {
  'http-server': Object.keys(HTTP_SERVER_KEYS),
  'http-client': Object.keys(HTTP_CLIENT_KEYS),
}

/**
 * The HTTP transport, schemes `http://` and `https://` (with the route's `tls` option), two route types:
 *
 * - `http-server`: binds `http://host:port` (`:0` or `:*` for any port); each request matched by the
 *   `routes` table becomes an envelope for the route's handlers, whose return value is the response.
 * - `http-client`: connects to `http://host:port`; `route.request(name, body, { head })` sends one request
 *   over an undici keep-alive pool and resolves with the response envelope.
 *
 * @example
 * ```ts
 * const node = new Node({ transports: [httpTransport()] })
 * const api = node.route('api', { type: 'http-server', bind: 'http://127.0.0.1:0', routes: { 'POST /echo': 'echo' } })
 * api.on('echo', ({ body }) => body)
 * await node.start()
 * ```
 */
export function httpTransport(): TransportFactory {
  return {
    name: 'http',
    schemes: ['http', 'https'],
    types: ['http-server', 'http-client'],
    optionKeys: OPTION_KEYS,
    create(spec: RouteSpec, host: RouteHost) {
      return spec.type === 'http-server' ? new HttpServerSocket(spec, host) : new HttpClientSocket(spec, host)
    },
  }
}
