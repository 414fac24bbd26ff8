import { DripdropError } from '@dripdrop/core'

export { DripdropError } from '@dripdrop/core'

/**
 * An HTTP status as a coded error. The server answers with `status` and a JSON error body; the client turns
 * a status back into one of these (or into a `RemoteError` when the body carries a code).
 *
 * Throw one from an `http-server` handler to pick the status:
 *
 * @example
 * ```ts
 * route.on('job.get', ({ head }) => {
 *   const job = jobs.get(head.params.id)
 *   if (!job) throw new HttpStatusError(404, 'DD_ERR_JOB_NOT_FOUND', 'no such job')
 *   return job
 * })
 * ```
 */
export class HttpStatusError extends DripdropError {
  /** The HTTP status, 400..599. */
  readonly status: number
  /** Carried in the error body's `data`, so the status crosses process boundaries. */
  readonly data: { status: number }

  constructor(
    status: number,
    code: string = codeOfStatus(status),
    message = `HTTP ${status}`,
    cause?: unknown,
  ) {
    super(message, code, { cause })
    this.status = status
    this.data = { status }
  }
}

/**
 * Stable codes of the bridges and the status each one travels as.
 *
 * | code | status | meaning |
 * | --- | --- | --- |
 * | `DD_ERR_HTTP_BAD_REQUEST` | 400 | the body does not decode (malformed JSON or msgpack) |
 * | `DD_ERR_HTTP_UNAUTHORIZED` | 401 | the route's `authorize` hook refused the request (no or a wrong token) |
 * | `DD_ERR_HTTP_FORBIDDEN` | 403 | the `authorize` hook threw a 403 `HttpStatusError` |
 * | `DD_ERR_HTTP_NOT_FOUND` | 404 | no entry of the route table matches the path |
 * | `DD_ERR_HTTP_METHOD_NOT_ALLOWED` | 405 | the path matches, the method does not |
 * | `DD_ERR_HTTP_BODY_TOO_LARGE` | 413 | the body is larger than `maxMessageBytes` |
 * | `DD_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE` | 415 | a body whose content type is not JSON, msgpack or text |
 * | `DD_ERR_NO_HANDLER` | 501 | the route table names a message no handler takes |
 * | `DD_ERR_HTTP_OVERLOADED` | 503 | more requests wait than `highWaterMark` allows |
 * | `DD_ERR_HTTP_TIMEOUT` | 504 | the handler did not answer within `handlerTimeoutMs` |
 * | `DD_ERR_HTTP_STATUS` | other | any other status without a coded error body |
 */
export const HTTP_STATUS_CODES: Readonly<Record<number, string>> = Object.freeze({
  400: 'DD_ERR_HTTP_BAD_REQUEST',
  401: 'DD_ERR_HTTP_UNAUTHORIZED',
  403: 'DD_ERR_HTTP_FORBIDDEN',
  404: 'DD_ERR_HTTP_NOT_FOUND',
  405: 'DD_ERR_HTTP_METHOD_NOT_ALLOWED',
  413: 'DD_ERR_HTTP_BODY_TOO_LARGE',
  415: 'DD_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE',
  501: 'DD_ERR_NO_HANDLER',
  503: 'DD_ERR_HTTP_OVERLOADED',
  504: 'DD_ERR_HTTP_TIMEOUT',
})

const STATUS_OF_CODE: Record<string, number> = {
  ...Object.fromEntries(Object.entries(HTTP_STATUS_CODES).map(([s, c]) => [c, Number(s)])),
  DD_ERR_TIMEOUT: 504,
  DD_ERR_CLOSED: 503,
  DD_ERR_DESTROYED: 503,
}

/** The code a status travels as when the response carries no coded body. */
export function codeOfStatus(status: number): string {
  return HTTP_STATUS_CODES[status] ?? 'DD_ERR_HTTP_STATUS'
}

/** The status an error code is answered with: a known code's status, `data.status` if given, else 500. */
export function statusOfError(code: string, data: unknown): number {
  const given = (data as { status?: unknown } | undefined)?.status
  if (typeof given === 'number' && Number.isInteger(given) && given >= 400 && given <= 599) return given
  if (code.startsWith('DD_ERR_DECODE')) return 400
  return STATUS_OF_CODE[code] ?? 500
}

/**
 * Close codes of the `ws-server` route (4000-4999 is the range RFC 6455 leaves to applications).
 *
 * | close code | meaning |
 * | --- | --- |
 * | 1001 | the server is closing (`route.close()`) |
 * | 1009 | a frame larger than `maxMessageBytes` (sent by `ws` itself) |
 * | 4000 | closed by the application (`connections.disconnect(id)`) |
 * | 4401 | upgrade refused by `authorize` (401), sent to clients that offered a dripdrop sub-protocol |
 * | 4403 | upgrade refused by `origins` (403), sent to clients that offered a dripdrop sub-protocol |
 * | 4008 | slow consumer: more than `maxPeerQueueBytes` waited to be written to it |
 * | 4009 | heartbeat: no pong within `heartbeatIntervalMs` (the socket is terminated, peers see 1006) |
 */
export const WS_CLOSE = Object.freeze({
  GOING_AWAY: 1001,
  TOO_LARGE: 1009,
  APPLICATION: 4000,
  SLOW_CONSUMER: 4008,
  HEARTBEAT: 4009,
  UNAUTHORIZED: 4401,
  FORBIDDEN: 4403,
})

/** The connection went away before a request got its reply (`DD_ERR_WS_DISCONNECTED`); it is not re-sent. */
export class DisconnectedError extends DripdropError {
  constructor(message: string) {
    super(message, 'DD_ERR_WS_DISCONNECTED')
  }
}

/**
 * The HTTP server went away in the middle of a request (`DD_ERR_HTTP_DISCONNECTED`): the connection was reset
 * or closed before the whole reply arrived. The request may or may not have run; it is not re-sent. Counted in
 * the client route's `stats.aborted` (a peer that went away), not in `errors`; `cause` is the socket error.
 */
export class HttpDisconnectedError extends DripdropError {
  constructor(message: string, cause?: unknown) {
    super(message, 'DD_ERR_HTTP_DISCONNECTED', { cause })
  }
}

/** `sendTo` named a connection id the server does not have (`DD_ERR_WS_NO_CONNECTION`). */
export class NoConnectionError extends DripdropError {
  readonly connection: string
  constructor(connection: string) {
    super(`no open WebSocket connection "${connection}"`, 'DD_ERR_WS_NO_CONNECTION')
    this.connection = connection
  }
}

/**
 * The server refused the WebSocket upgrade (`DD_ERR_WS_UNAUTHORIZED`): `status` is 401 (`authorize` said no)
 * or 403 (origin not allowed), whether it came as the HTTP status or as close code 4401/4403.
 */
export class UnauthorizedError extends DripdropError {
  readonly status: number
  constructor(message: string, status: number) {
    super(message, 'DD_ERR_WS_UNAUTHORIZED')
    this.status = status
  }
}

/** More requests wait for a free connection than the route's `highWaterMark` allows (`DD_ERR_QUEUE_FULL`). */
export class QueueFullError extends DripdropError {
  constructor(message: string) {
    super(message, 'DD_ERR_QUEUE_FULL')
  }
}

// HPE_INVALID_EOF_STATE: node:http's parser saw the connection end in the middle of a request (a hang-up).
const GONE = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'HPE_INVALID_EOF_STATE',
])

/** A socket error that means the peer simply went away (counted in `stats.aborted`, not `stats.errors`). */
export function isPeerGone(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code
  return typeof code === 'string' && GONE.has(code)
}
