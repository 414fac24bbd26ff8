import type { RouteHost, RouteOptionsBase, RouteSpec, TransportFactory } from '@dripdrop/core'
import { WsClientSocket, type WsClientOptions } from './ws-client.js'
import { WsServerSocket, type WsServerOptions } from './ws-server.js'

declare module '@dripdrop/core' {
  interface RouteOptionsByType {
    'ws-server': RouteOptionsBase & WsServerOptions
    'ws-client': RouteOptionsBase & WsClientOptions
  }
}

/**
 * Every option each route type reads beyond core's, as a record of all its keys: an option added to the
 * interface and not here (or the other way round) fails to compile, so the runtime check cannot drift.
 */
const WS_SERVER_KEYS: Record<keyof WsServerOptions, true> = {
  maxMessageBytes: true,
  maxPeerQueueBytes: true,
  heartbeatIntervalMs: true,
  origins: true,
  authorize: true,
  serveClient: true,
  fallback: true,
  tls: true,
}
const WS_CLIENT_KEYS: Record<keyof WsClientOptions, true> = {
  format: true,
  reconnect: true,
  reconnectMinMs: true,
  reconnectMaxMs: true,
  token: true,
  headers: true,
  maxMessageBytes: true,
  maxQueueBytes: true,
  tls: true,
}
const OPTION_KEYS = {
  'ws-server': Object.keys(WS_SERVER_KEYS),
  'ws-client': Object.keys(WS_CLIENT_KEYS),
}

/**
 * The WebSocket transport, schemes `ws://` and `wss://` (with the route's `tls` option), two route types:
 *
 * - `ws-server`: binds `ws://host:port[/path]`; browsers and `ws-client` routes connect. Messages reach the
 *   route's handlers with `head.$conn`; `route.send()` broadcasts, `route.sendTo(id | { group })` targets, a
 *   handler's return value answers a request (`$id` → `$re`). See {@link wsConnections} for groups and events.
 * - `ws-client`: connects to a `ws-server` with reconnect and exponential backoff; `send()`, `request()`, and
 *   handlers for what the server sends.
 *
 * Text frames carry the JSON codec, binary frames msgpack (docs/protocol.md §9).
 *
 * @example
 * ```ts
 * const node = new Node({ transports: [wsTransport()] })
 * const browsers = node.route('browsers', { type: 'ws-server', bind: 'ws://127.0.0.1:8080' })
 * browsers.on('ping', ({ head }) => ({ pong: head.$conn }))
 * ```
 */
export function wsTransport(): TransportFactory {
  return {
    name: 'ws',
    schemes: ['ws', 'wss'],
    types: ['ws-server', 'ws-client'],
    optionKeys: OPTION_KEYS,
    create(spec: RouteSpec, host: RouteHost) {
      return spec.type === 'ws-server' ? new WsServerSocket(spec, host) : new WsClientSocket(spec, host)
    },
  }
}
