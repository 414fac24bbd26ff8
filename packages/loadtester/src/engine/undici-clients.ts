import { Client } from 'undici'

/** Options of {@link UndiciClients}. */
export interface UndiciClientsOptions {
  connections: number
  pipelining: number
  timeoutMs: number
  ca: string | Buffer | Array<string | Buffer> | undefined
  rejectUnauthorized: boolean
}

/**
 * One undici `Client` per connection to an origin, driven directly: the engine picks a client with a free
 * pipelining slot itself (the most recently freed first, so connections stay warm) instead of going through
 * a `Pool`'s queue and selection, which measured 15–45% more CPU per request.
 */
export class UndiciClients {
  readonly #clients: Client[]
  readonly #counts: Uint32Array
  /** Indices of the clients with a free slot, the most recently freed last. */
  readonly #free: number[] = []
  readonly #inFree: Uint8Array
  readonly #pipelining: number

  constructor(origin: string, o: UndiciClientsOptions) {
    this.#pipelining = o.pipelining
    this.#clients = Array.from(
      { length: o.connections },
      () =>
        new Client(origin, {
          pipelining: o.pipelining,
          headersTimeout: o.timeoutMs,
          bodyTimeout: o.timeoutMs,
          connect: {
            timeout: o.timeoutMs,
            ...(o.ca === undefined ? {} : { ca: o.ca }),
            rejectUnauthorized: o.rejectUnauthorized,
          },
        }),
    )
    this.#counts = new Uint32Array(o.connections)
    this.#inFree = new Uint8Array(o.connections).fill(1)
    for (let i = o.connections - 1; i >= 0; i--) this.#free.push(i)
  }

  /** Takes a slot on a client with room; returns its index. Throws when every slot is taken (a caller's bug). */
  acquire(): number {
    const i = this.#free[this.#free.length - 1]
    if (i === undefined) throw new Error('UndiciClients.acquire: every connection slot is busy')
    const n = (this.#counts[i] as number) + 1
    this.#counts[i] = n
    if (n >= this.#pipelining) {
      this.#free.pop()
      this.#inFree[i] = 0
    }
    return i
  }

  /** The client at `index`. */
  client(index: number): Client {
    return this.#clients[index] as Client
  }

  /** Gives back a slot taken by {@link acquire}. */
  release(index: number): void {
    this.#counts[index] = (this.#counts[index] as number) - 1
    if (this.#inFree[index] === 0) {
      this.#inFree[index] = 1
      this.#free.push(index)
    }
  }

  /** Destroys every client (requests in flight fail, and are not waited for). */
  destroy(): void {
    for (const c of this.#clients) c.destroy().catch(() => {})
  }
}
