import type { RouteHost, RouteOptionsBase, RouteSpec, TransportFactory } from '@dripdrop/core'
import { type HttpClientOptions, HttpClientSocket } from './http-client.js'
import { type HttpServerOptions, HttpServerSocket } from './http-server.js'

declare module '@dripdrop/core' {
  interface RouteOptionsByType {
    'http-server': RouteOptionsBase & HttpServerOptions
    'http-client': RouteOptionsBase & HttpClientOptions
  }
}

/** The route options each type reads beyond core's (the names after the one-name-per-concept rename). */
const OPTION_KEYS = {
  'http-server': [
    'routes',
    'headers',
    'maxMessageBytes',
    'handlerTimeoutMs',
    'bodyTimeoutMs',
    'maxQueueBytes',
    'keepAliveTimeoutMs',
    'fallback',
    'authorize',
    'tls',
  ],
  'http-client': ['routes', 'connections', 'keepAliveTimeoutMs', 'contentType', 'maxMessageBytes', 'tls'],
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
