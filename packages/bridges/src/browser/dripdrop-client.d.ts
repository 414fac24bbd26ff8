/** Types of the dependency-free browser client (`@dripdrop/bridges/browser`). */
export interface Envelope<B = unknown> {
  name: string
  head: Record<string, unknown>
  body: B
}

export interface ClientOptions {
  /** Sent as `?token=` for the server's `authorize` hook. */
  token?: string
  /** @default true */
  reconnect?: boolean
  /** First reconnect delay, doubled per failed attempt (±50% jitter). @default 100 (ms) */
  reconnectMinMs?: number
  /** Largest reconnect delay. @default 10000 (ms) */
  reconnectMaxMs?: number
  /** Default request timeout. @default 10000 (ms) */
  timeoutMs?: number
  /** Frames queued here (while disconnected, or waiting for room on the socket) before `send` waits. @default 1000 */
  highWaterMark?: number
  /**
   * Bytes queued here plus what the socket has not sent yet (`bufferedAmount`) before `send` waits, as the
   * Node `ws-client`. @default 4194304 (4 MiB)
   */
  maxQueueBytes?: number
}

/**
 * A coded error: `DD_ERR_TIMEOUT`, `DD_ERR_WS_DISCONNECTED`, `DD_ERR_WS_UNAUTHORIZED` (refused token or
 * origin, `data.status` 401 or 403), `DD_ERR_CLOSED`, or the server's own code.
 */
export class DripdropClientError extends Error {
  readonly code: string
  readonly data: Record<string, unknown> | undefined
}

export class DripdropClient {
  constructor(url: string, options?: ClientOptions)
  readonly url: string
  id: string | null
  state: 'connecting' | 'open' | 'closed'
  reconnects: number
  /** `handler(body, envelope)`: the whole envelope is the one `request()` resolves with. */
  on<B = any>(name: string, handler: (body: B, msg: Envelope<B>) => void): () => void
  addListener(event: 'open' | 'close' | 'error', listener: (info?: unknown) => void): () => void
  /** Rejects with `DD_ERR_WS_UNAUTHORIZED` when the server refuses the connection, `DD_ERR_CLOSED` after `close()`. */
  ready(): Promise<this>
  /** Bytes waiting to be sent: queued here plus the socket's `bufferedAmount`. */
  readonly bufferedBytes: number
  /**
   * Sends one message. Returns a promise when `highWaterMark` frames or `maxQueueBytes` bytes already wait:
   * it resolves once the frame is handed to the socket (await it to slow down with the network), or rejects
   * with `DD_ERR_CLOSED` / `DD_ERR_WS_UNAUTHORIZED`.
   */
  send(name: string, body?: unknown, head?: Record<string, unknown>): void | Promise<void>
  /** Resolves with the reply envelope `{ name, head, body }`. */
  request<R = any>(
    name: string,
    body?: unknown,
    options?: { timeoutMs?: number; head?: Record<string, unknown> },
  ): Promise<Envelope<R>>
  close(): void
}

export function connect(url: string, options?: ClientOptions): DripdropClient
