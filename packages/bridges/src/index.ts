export {
  DisconnectedError,
  HTTP_STATUS_CODES,
  HttpStatusError,
  NoConnectionError,
  QueueFullError,
  UnauthorizedError,
  WS_CLOSE,
} from './errors.js'
export type { HttpClientOptions } from './http/http-client.js'
export type { HttpServerOptions } from './http/http-server.js'
export { httpTransport } from './http/http-transport.js'
export type { RouteTable } from './http/route-table.js'
