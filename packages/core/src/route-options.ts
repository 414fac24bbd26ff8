import type { Codec, CodecName } from '@dripdrop/codec'

/**
 * Options every route type takes, whatever its transport. Per-type options add to these (see
 * {@link RouteOptionsByType}).
 */
export interface RouteOptionsBase {
  /** Address(es) to bind, e.g. `inproc://jobs`, `tcp://127.0.0.1:*`. */
  bind?: string | readonly string[]
  /** Address(es) to connect to. */
  connect?: string | readonly string[]
  /** Bound of the outbound and inbound queues, in envelopes. @default 1000 */
  highWaterMark?: number
  /** Async handlers in flight at once before the route stops reading. @default 100 */
  concurrency?: number
  /** Default timeout of `request()` on this route, in ms (also the deadline `$dl` sent with it). @default 10000 */
  timeoutMs?: number
  /** How long `close()` waits to flush queued envelopes, in ms. @default 1000 */
  lingerMs?: number
  /**
   * Codec for frames on this route: an instance, or a name (`'msgpack'`, `'json'`, `'bert'`) given to
   * `createCodec` with its defaults. @default the node's codec (msgpack)
   */
  codec?: Codec | CodecName
  /**
   * Include the handler's stack in error replies sent to a remote requester. Stacks tell an attacker about
   * your code and paths, so this is off unless a route opts in. @default false
   */
  exposeErrorStacks?: boolean
}

/** Options of a `pub` route. A transport may add its own by augmenting this interface. */
export interface PubRouteOptions extends RouteOptionsBase {}
/** Options of a `sub` route. */
export interface SubRouteOptions extends RouteOptionsBase {
  /** Name prefixes to receive. `''` receives everything. @default [''] */
  subscribe?: string | readonly string[]
}
/** Options of a `push` route. */
export interface PushRouteOptions extends RouteOptionsBase {}
/** Options of a `pull` route. */
export interface PullRouteOptions extends RouteOptionsBase {}
/** Options of a `req` route. */
export interface ReqRouteOptions extends RouteOptionsBase {}
/** Options of a `rep` route. */
export interface RepRouteOptions extends RouteOptionsBase {}
/** Options of a `dealer` route. */
export interface DealerRouteOptions extends RouteOptionsBase {}
/** Options of a `router` route. */
export interface RouterRouteOptions extends RouteOptionsBase {}

/**
 * Route type → its options. Transports extend this map by module augmentation: a transport with route types
 * of its own adds keys; a transport with extra options for core's types augments the per-type interfaces
 * (`PushRouteOptions`, …) with an `extends` clause.
 *
 * @example
 * ```ts
 * declare module '@dripdrop/core' {
 *   interface RouteOptionsByType {
 *     'http-server': RouteOptionsBase & HttpServerOptions
 *   }
 *   interface PushRouteOptions extends ZmqOptions {}
 * }
 * ```
 */
export interface RouteOptionsByType {
  pub: PubRouteOptions
  sub: SubRouteOptions
  push: PushRouteOptions
  pull: PullRouteOptions
  req: ReqRouteOptions
  rep: RepRouteOptions
  dealer: DealerRouteOptions
  router: RouterRouteOptions
}

/**
 * Options of `node.route(name, options)`: a union discriminated by `type`, so an option the route type does
 * not take (a misspelt one included) fails to compile.
 *
 * @example
 * ```ts
 * node.route('jobs', { type: 'push', bind: 'inproc://jobs', highWaterMark: 100 })
 * // @ts-expect-error: no such option
 * node.route('jobs', { type: 'push', bind: 'inproc://jobs', batchMaxMesages: 1 })
 * ```
 */
export type RouteOptions<T extends keyof RouteOptionsByType = keyof RouteOptionsByType> = {
  [K in T]: RouteOptionsByType[K] & { type: K }
}[T]

/** The option names core itself reads, on every route type (`subscribe` on `sub` only). */
export const CORE_OPTION_KEYS: readonly string[] = [
  'type',
  'bind',
  'connect',
  'highWaterMark',
  'concurrency',
  'timeoutMs',
  'lingerMs',
  'codec',
  'exposeErrorStacks',
]
