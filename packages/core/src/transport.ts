import type { Codec, Envelope } from '@dripdrop/codec'
import type { DripdropError } from './errors.js'
import type { Route } from './route.js'
import type { RouteStats } from './stats.js'

/**
 * The route types dripdrop knows. Transports may add their own (a string), e.g. `http` or `ws`.
 *
 * | type | sends | receives | pairs with |
 * | --- | --- | --- | --- |
 * | `pub` | to every matching subscriber | – | `sub` |
 * | `sub` | – | envelopes whose name starts with a subscribed prefix | `pub` |
 * | `push` | round-robin to one puller, waits when all are full | – | `pull` |
 * | `pull` | – | its share of pushed envelopes | `push` |
 * | `req` | requests, many in flight, correlated by `$id` | replies | `rep` |
 * | `rep` | replies (a handler's return value) | requests | `req` |
 * | `dealer` | like `req`, raw: no automatic correlation | anything | `router` |
 * | `router` | to one peer by id (`route.sendTo`) | envelopes with the sender's id | `dealer` |
 */
export type RouteType = 'pub' | 'sub' | 'push' | 'pull' | 'req' | 'rep' | 'dealer' | 'router' | (string & {})

/** What a transport is asked to open: a route's options, validated and filled. */
export interface RouteSpec {
  /** The route's name within its node. */
  readonly name: string
  readonly type: RouteType
  /** Addresses to bind, e.g. `tcp://127.0.0.1:*`. */
  readonly bind: readonly string[]
  /** Addresses to connect to. */
  readonly connect: readonly string[]
  /** `sub` only: name prefixes to receive. `''` receives everything. */
  readonly subscribe: readonly string[]
  /** Bound of the outbound and inbound queues, in envelopes. */
  readonly highWaterMark: number
  /** The codec frames use on this route (transports that do not encode ignore it). */
  readonly codec: Codec
  /** All options as the user gave them, for transport-specific settings. */
  readonly options: Readonly<Record<string, unknown>>
}

/** Events a transport reports through {@link RouteHost.emit}. */
export type TransportEvent =
  | { type: 'connect'; endpoint: string }
  | { type: 'disconnect'; endpoint: string }
  | { type: 'listening'; endpoint: string }
  | { type: 'error'; error: DripdropError; endpoint?: string }

/**
 * What a transport socket gets from the route that owns it.
 */
export interface RouteHost {
  /** The route this socket belongs to (for transports that hand out per-route helpers, e.g. `wsConnections`). */
  readonly route: Route
  /** The route's counters; the transport bumps bytes, batches, drops and decode errors. */
  readonly stats: RouteStats
  /**
   * Hands one inbound envelope to the route. `from` identifies the peer for replies (`RouteSocket.sendTo`).
   * When this returns a promise the route is saturated: the transport must stop reading until it settles,
   * which is what turns a slow handler into backpressure on the sender.
   */
  receive(envelope: Envelope, from?: unknown): void | Promise<void>
  /** Reports a connection event or an error (errors are counted by the route). */
  emit(event: TransportEvent): void
}

/**
 * One route's socket, created by a {@link TransportFactory}. Lifecycle: `start()` once, then any number of
 * `send()`, then `close()` (flush) or `destroy()` (drop).
 */
export interface RouteSocket {
  /** The real endpoints after `start()` (a bound `tcp://127.0.0.1:*` reports its port). */
  readonly endpoints: readonly string[]
  /**
   * True when the route answers requests like `rep` does (a handler's return value goes back through
   * `sendTo` with `$re`), for transport-defined route types such as `http-server`. `rep` and `router`
   * routes answer whatever this says.
   */
  readonly replies?: boolean
  /** Binds and connects. Rejects with a coded error (e.g. `DD_ERR_ADDRESS_IN_USE`). */
  start(): Promise<void>
  /**
   * Admits one envelope for sending. Returns `undefined` when it was admitted at once, or a promise that
   * resolves when it is (the queue was full: backpressure). Never drops silently.
   */
  send(envelope: Envelope): void | Promise<void>
  /** Sends to one peer: the `from` a `receive()` gave (replies of `rep`, raw `router` sends). */
  sendTo?(to: unknown, envelope: Envelope): void | Promise<void>
  /**
   * A transport whose protocol is request/reply itself (HTTP) implements this; for the others the route
   * correlates requests and replies by `$id`/`$re` over `send()` and `receive()`.
   */
  request?(envelope: Envelope, options: { timeoutMs: number; signal?: AbortSignal }): Promise<Envelope>
  /**
   * Resolves once at least `peers` connections to peers are up; rejects with the signal's reason when it
   * aborts. Transports that know their connections implement it (`route.connected()` delegates here).
   */
  connected?(peers: number, signal: AbortSignal): Promise<void>
  /**
   * Connects a started socket to one more address (`route.connect()`). Transports that can change their
   * peers at run time implement it; the others leave it out and `route.connect()` refuses with
   * `DD_ERR_UNSUPPORTED`. Connecting an address already connected does nothing.
   */
  connect?(address: string): void | Promise<void>
  /**
   * Disconnects a started socket from an address it connected to (`route.disconnect()`): what was queued for
   * that peer only is dropped by the transport (counted), the other peers are served on. Disconnecting an
   * address not connected does nothing.
   */
  disconnect?(address: string): void | Promise<void>
  /** `sub` routes: starts receiving names with this prefix. */
  subscribe?(prefix: string): void
  /** `sub` routes: stops receiving names with this prefix. */
  unsubscribe?(prefix: string): void
  /** Flushes what is queued for at most `lingerMs`, then closes. */
  close(lingerMs: number): Promise<void>
  /** Closes at once, dropping what is queued. Returns how many envelopes were dropped. */
  destroy(): number
}

/**
 * A transport: opens route sockets for the address schemes it serves.
 *
 * @example
 * ```ts
 * const node = new Node({ transports: [zmqTransport()] })
 * node.route('jobs', { type: 'push', bind: 'tcp://127.0.0.1:*' })
 * ```
 */
export interface TransportFactory {
  /** Name for messages, e.g. `zmq`. */
  readonly name: string
  /** Address schemes, without `://`: `['tcp', 'ipc']`. */
  readonly schemes: readonly string[]
  /** Route types it can open. */
  readonly types: readonly RouteType[]
  /**
   * The route options it reads, beyond core's own (`bind`, `highWaterMark`, …), by route type. `node.route()`
   * refuses any other option with its name. A transport that leaves this out gets no such check.
   *
   * @example `{ push: ['batchMaxBytes'], pull: ['batchMaxBytes'] }`
   */
  readonly optionKeys?: Readonly<Record<string, readonly string[]>>
  /** Creates (does not start) a socket for a route. */
  create(spec: RouteSpec, host: RouteHost): RouteSocket
}

const registry = new Map<string, TransportFactory>()

/**
 * Registers a transport for every node in this process (a node's own `transports` option wins).
 * `@dripdrop/zmq` and `@dripdrop/bridges` export factories to register.
 */
export function registerTransport(factory: TransportFactory): void {
  for (const scheme of factory.schemes) registry.set(scheme, factory)
}

/** The transport registered for a scheme, if any. */
export function registeredTransport(scheme: string): TransportFactory | undefined {
  return registry.get(scheme)
}

/** `tcp://127.0.0.1:5555` → `tcp`. */
export function schemeOf(address: string): string {
  const at = address.indexOf('://')
  if (at <= 0)
    throw new TypeError(`address "${address}" has no scheme (expected e.g. inproc://name or tcp://host:port)`)
  return address.slice(0, at)
}
