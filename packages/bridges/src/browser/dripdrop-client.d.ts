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
  /** Sends kept while disconnected. @default 1000 */
  highWaterMark?: number
}

/**
 * A coded error: `DD_ERR_TIMEOUT`, `DD_ERR_WS_DISCONNECTED`, `DD_ERR_WS_UNAUTHORIZED` (refused token or
 * origin, `data.status` 401 or 403), `DD_ERR_CLOSED`, `DD_ERR_QUEUE_FULL`, or the server's own code.
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
  send(name: string, body?: unknown, head?: Record<string, unknown>): void
  /** Resolves with the reply envelope `{ name, head, body }`. */
  request<R = any>(
    name: string,
    body?: unknown,
    options?: { timeoutMs?: number; head?: Record<string, unknown> },
  ): Promise<Envelope<R>>
  close(): void
}

export function connect(url: string, options?: ClientOptions): DripdropClient
