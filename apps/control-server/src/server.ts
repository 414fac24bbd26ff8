import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  browserClientSource,
  type HttpHead,
  httpTransport,
  wsConnections,
  wsTransport,
} from '@dripdrop/bridges'
import { Node, type Route } from '@dripdrop/core'
import { Collector, type DetectorOptions, MemoryStore, RedisStore } from '@dripdrop/monitor'
import type { CurveOptions } from '@dripdrop/zmq'
import { RoleController, type RoleControllerOptions, type Topology } from '@dripdrop/roles'
import { presentedToken, tokenMatches } from './auth.js'
import { ControlHttpError, ControlOptionsError } from './errors.js'
import { instanceRows, int, type LoggedEvent, pageRows, roleLinks, str } from './views.js'

/** Options of `new ControlServer()`. */
export interface ControlServerOptions {
  /** The collector's PULL address. @default 'tcp://0.0.0.0:7100' */
  collector?: string
  /** The HTTP server (API, dashboard, `/metrics`). @default 'http://127.0.0.1:7180' */
  http?: string
  /** The WebSocket server of live updates. @default 'ws://127.0.0.1:7181' */
  ws?: string
  /** The bearer token; `undefined` turns auth off (then a non-loopback bind needs `insecure`). */
  token?: string
  /** Allows binding the HTTP/WebSocket servers on a non-loopback address without a token. @default false */
  insecure?: boolean
  /** `redis://…`: keep series and members in Redis instead of memory. @default undefined (memory) */
  redis?: string
  /** Seconds of per-second series kept in memory. @default 300 */
  windowSeconds?: number
  /** How often the live view is pushed to dashboards, ms (a change reaches a dashboard within one report interval + this). @default 500 */
  pushIntervalMs?: number
  /** Events kept for the events log. @default 1000 */
  maxEvents?: number
  /**
   * Largest WebSocket frame either way, bytes: a larger frame from a dashboard closes that socket (1009); the
   * live view of 1,000 instances is ~300 KB. @default 8388608 (8 MiB)
   */
  maxMessageBytes?: number
  /** Failure detector parameters of the collector. */
  detector?: DetectorOptions
  /**
   * CURVE on the collector's backchannel (`CurveOptions` of @dripdrop/zmq): the collector's key pair and, with
   * `allow`, the reporters' public keys. A reporter without a listed key is refused at the handshake, counted
   * in `collector.stats.refused.DD_ERR_HANDSHAKE` (`/api/overview`, `dripdrop_collector_refused_total` in
   * `/metrics`); none of its reports is read. @default undefined (plain text: bind the collector to a trusted network)
   */
  curve?: CurveOptions
  /**
   * Role-based deployment: a topology file (or object). With it the server runs a {@link RoleController}:
   * hosts' agents connect to `roles.agents` (default `tcp://0.0.0.0:7200`), the API gets `/api/roles…` and
   * the dashboard a Roles panel. @default undefined (no agents)
   */
  topology?: string | Topology
  /** Options of the {@link RoleController} (agent channel address, CURVE, heartbeats). */
  roles?: Omit<RoleControllerOptions, 'topology'>
}

type State = 'idle' | 'starting' | 'open' | 'closing' | 'closed'

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]'])
const PUBLIC = resolve(dirname(fileURLToPath(import.meta.url)), '../public')
const require = createRequire(import.meta.url)
const UPLOT = dirname(require.resolve('uplot/package.json'))
const STATIC: Record<string, { file: string; type: string }> = {
  '/assets/dashboard.js': { file: join(PUBLIC, 'dashboard.js'), type: 'text/javascript; charset=utf-8' },
  '/assets/dashboard.css': { file: join(PUBLIC, 'dashboard.css'), type: 'text/css; charset=utf-8' },
  '/vendor/uplot.js': { file: join(UPLOT, 'dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/uplot.css': { file: join(UPLOT, 'dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
}

/**
 * The control room: a monitor {@link Collector} (failure detector and store included), an HTTP server made
 * of a dripdrop `http-server` route (JSON API, `/metrics`, the dashboard) and a `ws-server` route that pushes
 * the live view to every dashboard once a second and each `instance:*` event as it happens.
 *
 * @example
 * ```ts
 * const server = new ControlServer({ collector: 'tcp://127.0.0.1:7100', token: 's3cret' })
 * await server.start()
 * console.log(server.urls) // { dashboard, api, ws, collector }
 * ```
 */
export class ControlServer {
  readonly collector: Collector
  /** The role controller, when the server was given a `topology`. */
  readonly roles: RoleController | undefined
  readonly #node: Node
  readonly #http: Route
  readonly #ws: Route
  readonly #token: string | undefined
  readonly #pushIntervalMs: number
  readonly #maxEvents: number
  readonly #events: LoggedEvent[] = []
  #pushTimer: NodeJS.Timeout | undefined
  #state: State = 'idle'
  #started: Promise<void> | undefined
  #closed: Promise<void> | undefined
  /** Live views pushed, WebSocket connections closed for bad input, pushes that failed (too large, closed). */
  readonly stats = { pushes: 0, wsRefused: 0, sendErrors: 0 }

  constructor(options: ControlServerOptions = {}) {
    const httpBind = options.http ?? 'http://127.0.0.1:7180'
    const wsBind = options.ws ?? 'ws://127.0.0.1:7181'
    this.#token = options.token
    for (const [name, bind] of [
      ['http', httpBind],
      ['ws', wsBind],
    ]) {
      const host = /^[a-z]+:\/\/(\[[^\]]+\]|[^:/]+)/.exec(bind)?.[1]
      if (host === undefined)
        throw new TypeError(`options.${name} must look like ${name}://host:port, got ${bind}`)
      if (this.#token === undefined && !LOOPBACK.has(host) && options.insecure !== true) {
        throw new ControlOptionsError(
          `options.${name} binds ${host}, not a loopback address, without a token: give a token or insecure: true`,
          'DD_ERR_CONTROL_INSECURE',
        )
      }
    }
    this.#pushIntervalMs = options.pushIntervalMs ?? 500
    this.#maxEvents = options.maxEvents ?? 1000
    const windowSeconds = options.windowSeconds ?? 300
    this.collector = new Collector({
      bind: options.collector ?? 'tcp://0.0.0.0:7100',
      store:
        options.redis === undefined
          ? new MemoryStore({ windowSeconds })
          : new RedisStore({ url: options.redis, windowSeconds }),
      ...(options.detector === undefined ? {} : { detector: options.detector }),
      ...(options.curve === undefined ? {} : { curve: options.curve }),
    })
    for (const type of [
      'instance:up',
      'instance:suspect',
      'instance:down',
      'instance:restarted',
      'instance:left',
    ] as const) {
      this.collector.events.on(type, (e) => this.#onEvent(type, e))
    }
    if (options.topology !== undefined) {
      this.roles = new RoleController({ ...options.roles, topology: options.topology })
      for (const type of [
        'instance:down',
        'instance:up',
        'instance:restart',
        'instance:failed',
        'instance:stopped',
      ] as const)
        this.roles.on(type, (e) => this.#logEvent(`roles:${type}`, e.instance, e.role, e.host))
      this.roles.on('host:lost', (e) => this.#logEvent('roles:host:lost', e.host, 'host', undefined))
      this.roles.on('host:up', (e) => this.#logEvent('roles:host:up', e.host, 'host', undefined))
      this.roles.on('failover', (e) =>
        this.#logEvent(
          'roles:failover',
          e.moved.map((m) => `${m.instance} ${m.from}→${m.to}`).join(', ') || e.host,
          'failover',
          undefined,
        ),
      )
    }
    this.#node = new Node({ name: 'dd.control', transports: [httpTransport(), wsTransport()] })
    this.#http = this.#node.route('control-http', {
      type: 'http-server',
      bind: httpBind,
      headers: ['authorization', 'cookie'],
      maxMessageBytes: 64 * 1024,
      routes: {
        'GET /api/overview': 'api.overview',
        'GET /api/instances': 'api.instances',
        'GET /api/instances/:id': 'api.instance',
        'GET /api/routes': 'api.routes',
        'GET /api/series': 'api.series',
        'GET /api/events': 'api.events',
        'GET /api/topology': 'api.topology',
        'GET /api/latency': 'api.latency',
        'GET /api/roles': 'api.roles',
        'POST /api/roles/command': 'api.roles.command',
        'POST /api/roles/scale': 'api.roles.scale',
        'POST /api/roles/reload': 'api.roles.reload',
        'POST /api/roles/rebalance': 'api.roles.rebalance',
        'GET /api/roles/logs/:instance': 'api.roles.logs',
      },
      fallback: (req: IncomingMessage, res: ServerResponse) => this.#fallback(req, res),
    })
    this.#ws = this.#node.route('control-ws', {
      type: 'ws-server',
      bind: wsBind,
      maxMessageBytes: options.maxMessageBytes ?? 8 * 1024 * 1024,
      serveClient: false,
      authorize: ({ token, req }: { token?: string; req: IncomingMessage }) =>
        this.#authorized(req.headers, token),
    })
    this.#wireApi()
    this.#wireWs()
  }

  /** `idle`, `starting`, `open`, `closing` or `closed`. */
  get state(): State {
    return this.#state
  }

  /** Where everything listens (real ports once started). */
  get urls(): { dashboard: string; api: string; ws: string; collector: string; metrics: string } {
    const http = this.#http.endpoints[0] ?? ''
    return {
      dashboard: `${http}/`,
      api: `${http}/api`,
      metrics: `${http}/metrics`,
      ws: this.#ws.endpoints[0] ?? '',
      collector: this.collector.endpoint,
    }
  }

  /** The events log, oldest first. */
  get events(): readonly LoggedEvent[] {
    return this.#events
  }

  /** Starts the collector (loads the store), the HTTP and WebSocket servers and the push timer. */
  start(): Promise<void> {
    this.#started ??= (async () => {
      this.#state = 'starting'
      await this.collector.start()
      await this.roles?.start()
      await this.#node.start()
      this.#pushTimer = setInterval(() => this.#push(), this.#pushIntervalMs)
      this.#state = 'open'
    })()
    return this.#started
  }

  /** Stops pushing, closes the servers and the collector (ports free when it resolves). Same promise twice. */
  close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#closed ??= (async () => {
      this.#state = 'closing'
      clearInterval(this.#pushTimer)
      await this.#node.close({ timeoutMs: options.timeoutMs ?? 1000 })
      await this.collector.close({ timeoutMs: options.timeoutMs ?? 1000 })
      await this.roles?.close()
      this.#state = 'closed'
    })()
    return this.#closed
  }

  /** Stops at once; returns what was dropped. */
  destroy(): number {
    clearInterval(this.#pushTimer)
    this.#state = 'closed'
    return this.#node.destroy() + this.collector.destroy() + (this.roles?.destroy() ?? 0)
  }

  /** The live view pushed to dashboards: every instance row, role links, top-level counts, latency. */
  live(): Record<string, unknown> {
    const rows = instanceRows(this.collector)
    const roleOf = new Map(rows.map((r) => [r.instance, r.role]))
    const links = this.collector.links()
    const counts: Record<string, number> = { up: 0, suspect: 0, down: 0, left: 0 }
    for (const r of rows) counts[r.status] = (counts[r.status] ?? 0) + 1
    return {
      at: Date.now(),
      counts,
      instances: rows,
      // Instance links only while they stay drawable; role links always.
      links: links.length <= 500 ? links : [],
      roleLinks: roleLinks(links, roleOf),
      latency: this.collector.latency().slice(0, 200),
      store: this.collector.storeHealth(),
      ...(this.roles?.state === 'open' ? { roles: this.roles.status() } : {}),
    }
  }

  #logEvent(type: string, instance: string, role: string, previous: string | undefined): void {
    const event: LoggedEvent = { at: Date.now(), type, instance, role, previous }
    this.#events.push(event)
    if (this.#events.length > this.#maxEvents) this.#events.splice(0, this.#events.length - this.#maxEvents)
    if (this.#state === 'open') this.#send(() => this.#ws.send('event', event))
  }

  #onEvent(
    type: string,
    e: { instance: string; role: string; previous: string | undefined; lastSeen: number },
  ) {
    const event: LoggedEvent = {
      at: Date.now(),
      type,
      instance: e.instance,
      role: e.role,
      previous: e.previous,
    }
    this.#events.push(event)
    if (this.#events.length > this.#maxEvents) this.#events.splice(0, this.#events.length - this.#maxEvents)
    // Pushed at once: an alert must not wait for the next tick.
    if (this.#state === 'open') this.#send(() => this.#ws.send('event', event))
  }

  #push(): void {
    if (wsConnections(this.#ws).size === 0) return
    this.stats.pushes++
    this.#send(() => this.#ws.send('live', this.live()))
  }

  /** Sends without letting a failure escape a timer or an event (a view over `maxMessageBytes`, a closed socket). */
  #send(fn: () => Promise<unknown>): void {
    try {
      fn().catch(() => {
        this.stats.sendErrors++
      })
    } catch {
      this.stats.sendErrors++
    }
  }

  #authorized(
    headers: Record<string, string | string[] | undefined>,
    query?: string | URLSearchParams,
  ): boolean {
    if (this.#token === undefined) return true
    const q = typeof query === 'string' ? { token: query } : query
    return tokenMatches(this.#token, presentedToken(headers, q))
  }

  #check(head: HttpHead): void {
    if (!this.#authorized(head.headers ?? {}, undefined)) {
      throw new ControlHttpError(401, 'DD_ERR_CONTROL_UNAUTHORIZED', 'a bearer token is required')
    }
  }

  #wireApi(): void {
    const http = this.#http
    const on = (name: string, fn: (head: HttpHead) => unknown) =>
      http.on(name, ({ head }) => {
        const h = head as HttpHead
        this.#check(h)
        return fn(h)
      })
    on('api.overview', () => {
      const live = this.live()
      return {
        counts: live.counts,
        roleLinks: live.roleLinks,
        store: live.store,
        collector: this.collector.stats,
      }
    })
    on('api.instances', (h) => pageRows(instanceRows(this.collector), h.query))
    on('api.instance', (h) => {
      const info = this.collector.instance(h.params.id)
      if (info === undefined)
        throw new ControlHttpError(
          404,
          'DD_ERR_CONTROL_NOT_FOUND',
          `no instance ${JSON.stringify(h.params.id)}`,
        )
      return info
    })
    on('api.routes', (h) => {
      const instance = str(h.query, 'instance')
      const role = str(h.query, 'role')
      return this.collector
        .routeRates()
        .filter(
          (r) =>
            (instance === undefined || r.instance === instance) && (role === undefined || r.role === role),
        )
        .slice(0, int(h.query, 'limit', 1000, 1, 100_000))
    })
    on('api.series', (h) => {
      const instance = str(h.query, 'instance')
      const route = str(h.query, 'route')
      const metric = str(h.query, 'metric') ?? 'messagesIn'
      if (instance === undefined || route === undefined) {
        throw new ControlHttpError(400, 'DD_ERR_CONTROL_BAD_QUERY', 'instance and route are required')
      }
      const name = str(h.query, 'name')
      return this.collector.series({
        instance,
        route,
        metric,
        windowSeconds: int(h.query, 'windowSeconds', 60, 1, 3600),
        ...(name === undefined ? {} : { name }),
      })
    })
    on('api.events', (h) => {
      const limit = int(h.query, 'limit', 100, 1, this.#maxEvents)
      return this.#events.slice(-limit)
    })
    on('api.topology', () => {
      const rows = instanceRows(this.collector)
      const links = this.collector.links()
      return {
        instances: rows.map((r) => ({ instance: r.instance, role: r.role, status: r.status })),
        links,
        roleLinks: roleLinks(links, new Map(rows.map((r) => [r.instance, r.role]))),
      }
    })
    on('api.latency', () => this.collector.latency())
    const roles = (): RoleController => {
      if (this.roles === undefined)
        throw new ControlHttpError(
          404,
          'DD_ERR_CONTROL_NO_ROLES',
          'this control server runs no topology (--topology)',
        )
      return this.roles
    }
    const bodyOf = (b: unknown): Record<string, unknown> =>
      b !== null && typeof b === 'object' && !Array.isArray(b) ? (b as Record<string, unknown>) : {}
    const name = (v: unknown, what: string): string | undefined => {
      if (v === undefined) return undefined
      if (typeof v !== 'string' || v.length === 0 || v.length > 256)
        throw new ControlHttpError(400, 'DD_ERR_CONTROL_BAD_QUERY', `${what} must be a name`)
      return v
    }
    const controlled = async (fn: () => Promise<unknown> | unknown) => {
      try {
        return await fn()
      } catch (err) {
        const code = (err as { code?: string }).code
        if (code === 'DD_ERR_CONTROL') throw new ControlHttpError(409, code, (err as Error).message)
        throw err
      }
    }
    http.on('api.roles', ({ head }) => {
      this.#check(head as HttpHead)
      return roles().status()
    })
    http.on('api.roles.command', ({ head, body }) => {
      this.#check(head as HttpHead)
      const b = bodyOf(body)
      const op = b.op
      if (op !== 'start' && op !== 'stop' && op !== 'restart' && op !== 'kill')
        throw new ControlHttpError(400, 'DD_ERR_CONTROL_BAD_QUERY', 'op must be start, stop, restart or kill')
      const instance = name(b.instance, 'instance')
      const role = name(b.role, 'role')
      if ((instance === undefined) === (role === undefined))
        throw new ControlHttpError(400, 'DD_ERR_CONTROL_BAD_QUERY', 'give an instance or a role')
      return controlled(async () => {
        await roles().command(op, instance === undefined ? { role } : { instance })
        return { ok: true }
      })
    })
    http.on('api.roles.scale', ({ head, body }) => {
      this.#check(head as HttpHead)
      const b = bodyOf(body)
      const role = name(b.role, 'role')
      const n = b.instances
      if (role === undefined || !Number.isInteger(n) || (n as number) < 0 || (n as number) > 10_000)
        throw new ControlHttpError(
          400,
          'DD_ERR_CONTROL_BAD_QUERY',
          'role and instances (0..10000) are required',
        )
      return controlled(() => roles().scale(role, n as number))
    })
    http.on('api.roles.reload', ({ head }) => {
      this.#check(head as HttpHead)
      return controlled(async () => {
        await roles().reload()
        return { ok: true, generation: roles().status().generation }
      })
    })
    http.on('api.roles.rebalance', ({ head }) => {
      this.#check(head as HttpHead)
      return controlled(() => ({ moved: roles().rebalance() }))
    })
    http.on('api.roles.logs', async ({ head }) => {
      const h = head as HttpHead
      this.#check(h)
      const lines = int(h.query, 'lines', 100, 1, 10_000)
      return controlled(async () => {
        const out: unknown[] = []
        for await (const l of roles().logs(h.params.instance, { lines })) out.push(l)
        return out
      })
    })
  }

  #wireWs(): void {
    const conns = wsConnections(this.#ws)
    // A dashboard only listens; anything it sends that does not decode closes that socket (1007), not others.
    this.#node.events.on('route:error', (e: { route?: string; endpoint?: string }) => {
      if (e.route !== 'control-ws' || e.endpoint === undefined) return
      this.stats.wsRefused++
      try {
        conns.disconnect(e.endpoint, 1007, 'malformed message')
      } catch {
        // already gone
      }
    })
    conns.on('connection:open', (c: { id: string }) => {
      this.#send(() => this.#ws.sendTo(c.id, 'live', this.live()))
      this.#send(() => this.#ws.sendTo(c.id, 'events', this.#events.slice(-200)))
    })
    this.#ws.on('*', ({ head }) => {
      // Any other message from a dashboard is refused the same way.
      const id = (head as { $conn?: string }).$conn
      if (id !== undefined) {
        this.stats.wsRefused++
        try {
          conns.disconnect(id, 1008, 'dashboards only listen')
        } catch {
          // already gone
        }
      }
    })
  }

  // `GET /api/roles/logs/:instance/follow?lines=N`: the tail, then every new line, one JSON object per line
  // (NDJSON), until the client hangs up.
  #followLogs(instance: string, query: URLSearchParams, req: IncomingMessage, res: ServerResponse): void {
    const roles = this.roles
    if (roles === undefined) {
      json(res, 404, 'DD_ERR_CONTROL_NO_ROLES', 'this control server runs no topology (--topology)')
      return
    }
    const lines = Math.min(10_000, Math.max(1, Number(query.get('lines') ?? 100) || 100))
    const abort = new AbortController()
    req.once('close', () => abort.abort())
    res.once('close', () => abort.abort())
    const stream = roles.logs(instance, { lines, follow: true, signal: abort.signal })
    ;(async () => {
      let started = false
      try {
        for await (const l of stream) {
          if (!started) {
            started = true
            res.writeHead(200, { 'content-type': 'application/x-ndjson' })
          }
          res.write(`${JSON.stringify(l)}\n`)
        }
        if (!started) res.writeHead(200, { 'content-type': 'application/x-ndjson' })
        res.end()
      } catch (err) {
        if (!started) json(res, 409, 'DD_ERR_CONTROL', (err as Error).message)
        else res.end()
      }
    })().catch(() => {})
  }

  #fallback(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x')
    const path = url.pathname
    const asset = STATIC[path]
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(res, 405, 'DD_ERR_HTTP_METHOD_NOT_ALLOWED', 'GET only')
      return
    }
    if (asset !== undefined) {
      // Code and styles only: no data, so no token needed (the page and the API hold the data).
      readFile(asset.file).then(
        (data) => {
          res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'max-age=300' })
          res.end(data)
        },
        () => json(res, 404, 'DD_ERR_CONTROL_NOT_FOUND', `${path} is missing`),
      )
      return
    }
    if (path === '/vendor/dripdrop-client.js') {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' })
      res.end(browserClientSource())
      return
    }
    const authorized = this.#authorized(req.headers, url.searchParams)
    const follow = /^\/api\/roles\/logs\/([^/]+)\/follow$/.exec(path)
    if (follow !== null) {
      if (!authorized) {
        json(res, 401, 'DD_ERR_CONTROL_UNAUTHORIZED', 'a bearer token is required')
        return
      }
      this.#followLogs(decodeURIComponent(follow[1]), url.searchParams, req, res)
      return
    }
    if (path === '/' || path === '/index.html') {
      if (!authorized) {
        res.writeHead(401, { 'content-type': 'text/html; charset=utf-8' })
        res.end(
          '<!doctype html><title>dripdrop control: token required</title><p>Open the URL the server printed: it carries <code>?token=…</code>.</p>',
        )
        return
      }
      readFile(join(PUBLIC, 'index.html'), 'utf8').then(
        (html) => {
          const headers: Record<string, string> = { 'content-type': 'text/html; charset=utf-8' }
          const token = url.searchParams.get('token')
          if (token !== null && this.#token !== undefined) {
            // The page's later API calls and WebSocket carry the token from this cookie; HttpOnly keeps it from scripts.
            headers['set-cookie'] = `dd_token=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`
          }
          res.writeHead(200, headers)
          res.end(html.replace('__WS_URL__', JSON.stringify(this.urls.ws)))
        },
        () => json(res, 500, 'DD_ERR_CONTROL_NOT_FOUND', 'index.html is missing'),
      )
      return
    }
    if (path === '/metrics') {
      if (!authorized) {
        json(res, 401, 'DD_ERR_CONTROL_UNAUTHORIZED', 'a bearer token is required')
        return
      }
      this.collector.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': this.collector.metricsContentType })
          res.end(text)
        },
        () => json(res, 500, 'DD_ERR_CONTROL_METRICS', 'metrics failed'),
      )
      return
    }
    json(res, 404, 'DD_ERR_CONTROL_NOT_FOUND', `no such path ${path}`)
  }
}

function json(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' })
  res.end(JSON.stringify({ error: { name: 'ControlHttpError', code, message } }))
}
