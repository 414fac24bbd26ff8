export { bearerAuth, tokenDigest, tokenEquals } from './auth.js'
export type { TlsClientOptions, TlsServerOptions } from './tls.js'
export {
  DisconnectedError,
  HTTP_STATUS_CODES,
  HttpDisconnectedError,
  HttpStatusError,
  NoConnectionError,
  QueueFullError,
  UnauthorizedError,
  WS_CLOSE,
} from './errors.js'
export type { HttpClientOptions, HttpReplyHead } from './http/http-client.js'
export { HttpReply, type HttpReplyHeaders, httpReply } from './http/http-reply.js'
export type {
  HttpAuthorizeHook,
  HttpAuthorizeInfo,
  HttpHead,
  HttpServerOptions,
} from './http/http-server.js'
export { httpTransport } from './http/http-transport.js'
export type { RouteTable } from './http/route-table.js'
export { browserClientPath, browserClientSource } from './browser-client.js'
export { Connection, type ConnectionState } from './ws/connection.js'
export { SUBPROTOCOLS, type WsFormat } from './ws/ws-frames.js'
export type { AuthorizeHook, AuthorizeVerdict, UpgradeInfo } from './ws/upgrade.js'
export {
  wsConnections,
  type WsServerEventMap,
  type WsServerOptions,
  WsServerSocket,
} from './ws/ws-server.js'
export { wsClient, type WsClientOptions, WsClientSocket } from './ws/ws-client.js'
export { wsTransport } from './ws/ws-transport.js'
