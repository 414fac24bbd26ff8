import type { Codec, CodecName } from '@dripdrop/codec'
import { createCodec, defaultCodec } from '@dripdrop/codec'
import { ClosedError, NoTransportError } from './errors.js'
import { NodeEvents, type NodeEventMap } from './events.js'
import { HandlerTable } from './handler-table.js'
import { inprocTransport } from './inproc/inproc-transport.js'
import { type Handler, isSender, Route, type RouteOwner, type RouteState } from './route.js'
import { CORE_OPTION_KEYS, type RouteOptions, type RouteOptionsBase } from './route-options.js'
import { registeredTransport, type RouteSpec, schemeOf, type TransportFactory } from './transport.js'

/** Options of `new Node()`. */
export interface NodeOptions {
  /** Name for logs and monitoring. @default 'node' */
  name?: string
  /** Transports this node may use, on top of `inproc://` and those registered with `registerTransport()`. */
  transports?: readonly TransportFactory[]
  /** Default codec of the node's routes: an instance or a name (`'msgpack'`, `'json'`, `'bert'`). @default msgpack, 16 MiB frames */
  codec?: Codec | CodecName
  /** Defaults for every route of this node (a route's own options win). */
  routeDefaults?: Omit<RouteOptionsBase, 'bind' | 'connect'>
}

const DEFAULTS = { highWaterMark: 1000, concurrency: 100, timeoutMs: 10_000, lingerMs: 1000 }

/**
 * The unit of a dripdrop application: a set of named routes, the handlers of their messages, and one
 * lifecycle. Routes pick their transport by address scheme, so a node moves from one process to many by
 * changing addresses only.
 *
 * @example
 * ```ts
 * const node = new Node({ name: 'api' })
 * const users = node.route('users', { type: 'rep', bind: 'inproc://users' })
 * users.on('user.get', ({ body }) => db.get(body.id))
 * await node.start()
 * ```
 */
export class Node {
  readonly name: string
  /** Lifecycle and diagnostic events (`route:error`, `handler:error`, …). */
  readonly events = new NodeEvents()
  readonly #routes = new Map<string, Route>()
  readonly #handlers = new HandlerTable()
  readonly #transports = new Map<string, TransportFactory>()
  readonly #codec: Codec
  readonly #defaults: Omit<RouteOptionsBase, 'bind' | 'connect'>
  #state: RouteState = 'idle'
  #started: Promise<this> | undefined
  #closed: Promise<void> | undefined
  readonly #owner: RouteOwner

  constructor(options: NodeOptions = {}) {
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name === '')) {
      throw new TypeError('options.name must be a non-empty string')
    }
    this.name = options.name ?? 'node'
    this.#codec = codecOption(options.codec, 'options.codec') ?? defaultCodec()
    this.#defaults = options.routeDefaults ?? {}
    const inproc = inprocTransport()
    for (const scheme of inproc.schemes) this.#transports.set(scheme, inproc)
    for (const t of options.transports ?? []) for (const scheme of t.schemes) this.#transports.set(scheme, t)
    this.#owner = {
      emit: <K extends keyof NodeEventMap>(event: K, payload: NodeEventMap[K]) => {
        this.events.emit(event, payload)
      },
      fallback: (name: string) => this.#handlers.get(name),
    }
  }

  /** `idle`, `starting`, `open`, `closing` or `closed` (see {@link RouteState}). */
  get state(): RouteState {
    return this.#state
  }

  /** The node's routes by name. */
  get routes(): ReadonlyMap<string, Route> {
    return this.#routes
  }

  /**
   * Declares a named route. Its transport is chosen by the address scheme (`inproc://`, `tcp://`, …).
   * Routes declared after `start()` open at once. Options are typed per route type; an option that neither
   * core nor the route's transport knows is refused with a `TypeError` naming it.
   *
   * @example
   * ```ts
   * node.route('jobs', { type: 'push', bind: 'inproc://jobs' })
   * node.route('work', { type: 'pull', connect: 'inproc://jobs', concurrency: 8 })
   * ```
   */
  route(name: string, options: RouteOptions): Route {
    if (typeof name !== 'string' || name === '') throw new TypeError('route name must be a non-empty string')
    if (this.#routes.has(name))
      throw new TypeError(`route "${name}" is already declared on node "${this.name}"`)
    if (this.#state === 'closing' || this.#state === 'closed')
      throw new TypeError(`node "${this.name}" is ${this.#state}`)
    const opts = { ...this.#defaults, ...options } as RouteOptions
    const spec = this.#spec(name, opts)
    const transport = this.#transportFor(spec)
    checkOptionKeys(spec, transport)
    const route = new Route(
      spec,
      this.#owner,
      positive(opts.concurrency ?? DEFAULTS.concurrency, `route "${name}": options.concurrency`),
      positive(opts.timeoutMs ?? DEFAULTS.timeoutMs, `route "${name}": options.timeoutMs`),
      nonNegative(opts.lingerMs ?? DEFAULTS.lingerMs, `route "${name}": options.lingerMs`),
      (host) => transport.create(spec, host),
    )
    this.#routes.set(name, route)
    if (this.#state === 'open' || this.#state === 'starting') {
      route.start().catch((error) => this.events.emit('route:error', { route: name, error }))
    }
    return route
  }

  /** Looks up a declared route. */
  get(name: string): Route | undefined {
    return this.#routes.get(name)
  }

  /**
   * Registers a handler for a message name on every route of this node (or `'*'` for all names).
   * A route's own handlers win.
   */
  on<B = any, R = unknown>(name: string, handler: Handler<B, R>): this {
    this.#handlers.set(name, handler as Handler)
    return this
  }

  /** Removes a node-wide handler. */
  off(name: string): this {
    this.#handlers.delete(name)
    return this
  }

  /**
   * Opens every route: binding routes first, so connecting routes of the same node find them.
   * Rejects with the first route's error (and destroys what had opened). Calling it again returns the same
   * promise; after `close()` or `destroy()` it rejects with `DD_ERR_CLOSED`.
   */
  start(): Promise<this> {
    if (this.#started) return this.#started
    if (this.#state !== 'idle')
      return Promise.reject(new ClosedError(`node "${this.name}" is ${this.#state}; it cannot start again`))
    this.#state = 'starting'
    this.#started = this.#start()
    return this.#started
  }

  async #start(): Promise<this> {
    const routes = [...this.#routes.values()]
    try {
      await Promise.all(routes.filter((r) => r.spec.bind.length > 0).map((r) => r.start()))
      await Promise.all(routes.filter((r) => r.spec.bind.length === 0).map((r) => r.start()))
    } catch (err) {
      this.destroy()
      throw err
    }
    if (this.#state === 'starting') this.#state = 'open'
    return this
  }

  /**
   * Graceful close: receiving routes first (they finish their handlers), then sending routes (they wait for
   * their pending requests and flush their queues within `lingerMs`). If that takes longer than
   * `timeoutMs`, whatever is left is destroyed (see {@link Node.destroy}).
   *
   * A second call returns the same promise (its options are ignored).
   *
   * @param options.timeoutMs how long to wait for the graceful part, in ms. @default 10000
   */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#closed) return this.#closed
    if (this.#state === 'closed') {
      this.#closed = Promise.resolve()
      return this.#closed
    }
    const timeoutMs = nonNegative(options.timeoutMs ?? 10_000, 'options.timeoutMs')
    this.#closed = this.#close(timeoutMs)
    return this.#closed
  }

  async #close(timeoutMs: number): Promise<void> {
    // A close during start() waits for it, so every route is in a state close() can drain.
    if (this.#started) await this.#started.catch(() => undefined)
    if (this.#state === 'closed') return
    this.#state = 'closing'
    const routes = [...this.#routes.values()]
    const graceful = (async () => {
      await Promise.all(routes.filter((r) => !isSender(r.type)).map((r) => r.close()))
      await Promise.all(routes.filter((r) => isSender(r.type)).map((r) => r.close()))
    })()
    let timer: NodeJS.Timeout | undefined
    const late = await Promise.race([
      graceful.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), timeoutMs)
      }),
    ])
    clearTimeout(timer)
    let dropped = 0
    if (late) for (const r of routes) dropped += r.destroy()
    this.#state = 'closed'
    this.events.emit('node:closed', { node: this.name, dropped })
  }

  /** Forceful close: drops whatever is queued and rejects pending requests. Returns the envelopes dropped. */
  destroy(): number {
    if (this.#state === 'closed') return 0
    let dropped = 0
    for (const r of this.#routes.values()) dropped += r.destroy()
    this.#state = 'closed'
    this.events.emit('node:closed', { node: this.name, dropped })
    return dropped
  }

  /** `await using node = …` closes it gracefully. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close()
  }

  #spec(name: string, opts: RouteOptions): RouteSpec {
    if (opts === null || typeof opts !== 'object')
      throw new TypeError(`route "${name}": options must be an object`)
    if (typeof opts.type !== 'string' || (opts.type as string) === '') {
      throw new TypeError(`route "${name}": options.type must be a route type such as "push" or "rep"`)
    }
    const bind = list(opts.bind, `route "${name}": options.bind`)
    const connect = list(opts.connect, `route "${name}": options.connect`)
    if (bind.length + connect.length === 0) {
      throw new TypeError(`route "${name}": give options.bind or options.connect an address`)
    }
    const raw = (opts as { subscribe?: unknown }).subscribe
    const subscribe = raw === undefined ? [''] : list(raw, `route "${name}": options.subscribe`)
    return {
      name,
      type: opts.type,
      bind,
      connect,
      subscribe,
      highWaterMark: positive(
        opts.highWaterMark ?? DEFAULTS.highWaterMark,
        `route "${name}": options.highWaterMark`,
      ),
      codec: codecOption(opts.codec, `route "${name}": options.codec`) ?? this.#codec,
      options: opts as unknown as Readonly<Record<string, unknown>>,
    }
  }

  #transportFor(spec: RouteSpec): TransportFactory {
    const schemes = new Set([...spec.bind, ...spec.connect].map(schemeOf))
    if (schemes.size > 1) {
      throw new TypeError(
        `route "${spec.name}": all addresses must use one scheme, got ${[...schemes].join(', ')}`,
      )
    }
    const [scheme] = schemes
    const transport = this.#transports.get(scheme) ?? registeredTransport(scheme)
    if (!transport) {
      throw new NoTransportError(
        `route "${spec.name}": no transport for ${scheme}:// (pass it in new Node({ transports }) or registerTransport())`,
      )
    }
    if (!transport.types.includes(spec.type)) {
      throw new NoTransportError(
        `route "${spec.name}": the ${transport.name} transport cannot open "${spec.type}" routes (it opens ${transport.types.join(', ')})`,
      )
    }
    return transport
  }
}

// Misspelt options would otherwise be ignored silently: refuse what neither core nor the transport reads.
function checkOptionKeys(spec: RouteSpec, transport: TransportFactory): void {
  const own = transport.optionKeys
  if (own === undefined) return // a transport that does not declare its options: cannot tell
  const known = own[spec.type] ?? []
  for (const key of Object.keys(spec.options)) {
    if (CORE_OPTION_KEYS.includes(key) || known.includes(key)) continue
    if (key === 'subscribe' && spec.type === 'sub') continue
    if (spec.options[key] === undefined) continue
    const all = [...CORE_OPTION_KEYS, ...(spec.type === 'sub' ? ['subscribe'] : []), ...known]
    throw new TypeError(
      `route "${spec.name}": unknown option "${key}" for a ${spec.type} route on the ${transport.name} transport (known: ${all.join(', ')})`,
    )
  }
}

// A codec given by name is made here, once per route (or node), with the codec's default options.
function codecOption(value: Codec | CodecName | undefined, path: string): Codec | undefined {
  if (typeof value !== 'string') return value
  if (value !== 'msgpack' && value !== 'json' && value !== 'bert') {
    throw new TypeError(`${path} must be a Codec or "msgpack", "json" or "bert", got "${value}"`)
  }
  return createCodec(value)
}

function list(value: unknown, path: string): string[] {
  if (value === undefined) return []
  const items = typeof value === 'string' ? [value] : value
  if (!Array.isArray(items) || items.some((a) => typeof a !== 'string')) {
    throw new TypeError(`${path} must be a string or an array of strings`)
  }
  return items as string[]
}

function positive(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new TypeError(`${path} must be a positive number`)
  }
  return value
}

function nonNegative(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new TypeError(`${path} must be a non-negative number`)
  }
  return value
}
