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
  /** @default 100 (ms) */
  backoffInitialMs?: number
  /** @default 10000 (ms) */
  backoffMaxMs?: number
  /** Default request timeout. @default 10000 (ms) */
  timeoutMs?: number
  /** Sends kept while disconnected. @default 1000 */
  maxQueued?: number
}

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
  on<B = any>(name: string, handler: (body: B, msg: Envelope<B>) => void): () => void
  addListener(event: 'open' | 'close' | 'error', listener: (info?: unknown) => void): () => void
  ready(): Promise<this>
  send(name: string, body?: unknown, head?: Record<string, unknown>): void
  request<R = any>(
    name: string,
    body?: unknown,
    options?: { timeoutMs?: number; head?: Record<string, unknown> },
  ): Promise<Envelope<R>>
  close(): void
}

export function connect(url: string, options?: ClientOptions): DripdropClient
