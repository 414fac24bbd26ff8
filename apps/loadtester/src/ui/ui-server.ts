import { readFileSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { createRequire } from 'node:module'
import { httpTransport, wsTransport } from '@dripdrop/bridges'
import { Node, type Route } from '@dripdrop/core'
import {
  type AgentInfo,
  type AgentLoss,
  Coordinator,
  type DistributedResult,
  type LocalAgents,
  type SeriesPoint,
  startLocalAgents,
} from '@dripdrop/loadtester'
import { uiPage } from './ui-page.js'

const require = createRequire(import.meta.url)
const UPLOT_JS = readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'))
const UPLOT_CSS = readFileSync(require.resolve('uplot/dist/uPlot.min.css'))

/** Options of a {@link UiServer}. */
export interface UiServerOptions {
  /** HTTP address of the page and its JSON API. @default 'http://127.0.0.1:8089' */
  http?: string
  /** WebSocket address of the live updates. @default 'ws://127.0.0.1:8090' */
  ws?: string
  /** Where remote agents connect. @default 'tcp://127.0.0.1:*' */
  listen?: string
  /** Local agent threads. @default 1 */
  threads?: number
  token?: string
}

/** What the page (or `POST /api/start`) asks for. */
export interface UiStartRequest {
  url: string
  /** Open model, req/s; omit for the closed model. */
  rate?: number
  connections?: number
  /** @default 10000 (ms) */
  durationMs?: number
}

/**
 * The live web UI: a page served by an @dripdrop/bridges `http-server` route (with `POST /api/start`,
 * `POST /api/stop`, `GET /api/state`), live points and agents' health pushed over a `ws-server` route, and a
 * {@link Coordinator} with local agent threads (and any remote agents) doing the work.
 */
export class UiServer {
  readonly coordinator: Coordinator
  readonly #node: Node
  readonly #api: Route
  readonly #live: Route
  readonly #o: UiServerOptions
  #local: LocalAgents | undefined
  #points: SeriesPoint[] = []
  #losses: AgentLoss[] = []
  #last: Record<string, unknown> | undefined
  #startPromise: Promise<void> | undefined
  #closePromise: Promise<void> | undefined

  constructor(options: UiServerOptions = {}) {
    this.#o = options
    this.coordinator = new Coordinator({
      listen: options.listen ?? 'tcp://127.0.0.1:*',
      ...(options.token === undefined ? {} : { token: options.token }),
    })
    this.#node = new Node({ name: 'dripdrop-load-ui', transports: [httpTransport(), wsTransport()] })
    this.#live = this.#node.route('live', { type: 'ws-server', bind: options.ws ?? 'ws://127.0.0.1:8090' })
    this.#api = this.#node.route('api', {
      type: 'http-server',
      bind: options.http ?? 'http://127.0.0.1:8089',
      routes: { 'POST /api/start': 'run.start', 'POST /api/stop': 'run.stop', 'GET /api/state': 'run.state' },
      fallback: (req: IncomingMessage, res: ServerResponse) => this.#serve(req, res),
    } as never)
    this.#api.on('run.start', ({ body }) => this.#start(body as UiStartRequest))
    this.#api.on('run.stop', () => this.#stop())
    this.#api.on('run.state', () => this.#state())
    // The page may also start and stop over its WebSocket.
    this.#live.on('run.start', ({ body }) => this.#start(body as UiStartRequest))
    this.#live.on('run.stop', () => this.#stop())
    this.#live.on('run.state', () => this.#state())
    const c = this.coordinator
    const agents = () => this.#broadcast('ui.agents', c.agents)
    c.events.on('coordinator:agent:join', agents)
    c.events.on('coordinator:agent:lost', agents)
    c.events.on('coordinator:agent:overloaded', agents)
    c.events.on('coordinator:agent:share', (loss) => {
      this.#losses.push(loss)
      this.#broadcast('ui.loss', loss)
    })
    c.events.on('coordinator:progress', ({ point, agents: list }) => {
      this.#points.push(point)
      this.#broadcast('ui.point', { point, agents: list })
    })
  }

  /** The page's URL. */
  get url(): string {
    return this.#api.endpoints[0] ?? ''
  }

  /** Binds, starts the coordinator and the local agent threads. Same promise on repeat. */
  start(): Promise<void> {
    this.#startPromise ??= (async () => {
      await this.coordinator.start()
      await this.#node.start()
      const threads = this.#o.threads ?? 1
      if (threads > 0)
        this.#local = await startLocalAgents({
          connect: this.coordinator.endpoint.replace('://0.0.0.0:', '://127.0.0.1:'),
          count: threads,
          ...(this.#o.token === undefined ? {} : { token: this.#o.token }),
        })
    })()
    return this.#startPromise
  }

  /** Stops a run, the agents and the servers. Same promise on repeat. */
  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      this.coordinator.stop()
      await this.#local?.close()
      await this.coordinator.close()
      await this.#node.close()
    })()
    return this.#closePromise
  }

  #broadcast(name: string, body: unknown): void {
    this.#live.send(name, body).catch(() => {})
  }

  #state() {
    return {
      running: this.coordinator.running,
      agents: this.coordinator.agents,
      points: this.#points,
      losses: this.#losses,
      last: this.#last ?? null,
      ws: this.#live.endpoints[0] ?? '',
    }
  }

  #start(req: UiStartRequest) {
    if (this.coordinator.running) return { started: false, reason: 'a run is in progress' }
    let url: URL
    try {
      url = new URL(String(req?.url))
    } catch {
      return { started: false, reason: 'url must be an http(s) URL' }
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      return { started: false, reason: 'url must be an http(s) URL' }
    const rate = req.rate === undefined || req.rate === null ? undefined : Number(req.rate)
    const connections =
      req.connections === undefined || req.connections === null ? undefined : Number(req.connections)
    const durationMs = Number(req.durationMs ?? 10_000)
    if (rate !== undefined && !(rate > 0)) return { started: false, reason: 'rate must be > 0' }
    if (connections !== undefined && !(Number.isInteger(connections) && connections > 0))
      return { started: false, reason: 'connections must be a positive integer' }
    if (!(Number.isInteger(durationMs) && durationMs > 0 && durationMs <= 86_400_000))
      return { started: false, reason: 'durationMs must be a positive integer' }
    this.#points = []
    this.#losses = []
    this.#last = undefined
    const run = this.coordinator.run({
      scenario: { kind: 'requests', requests: [{ url: url.href }] },
      durationMs,
      ...(rate === undefined ? {} : { rate }),
      ...(connections === undefined ? {} : { connections }),
      agentsTimeoutMs: 5000,
    })
    run.then(
      (r) => {
        this.#last = summary(r)
        this.#broadcast('ui.end', this.#last)
        this.#broadcast('ui.agents', this.coordinator.agents)
      },
      (err: unknown) => this.#broadcast('ui.end', { error: (err as Error)?.message ?? String(err) }),
    )
    return { started: true }
  }

  #stop() {
    this.coordinator.stop()
    return { stopping: this.coordinator.running }
  }

  #serve(req: IncomingMessage, res: ServerResponse): void {
    // The outermost handler of a network callback: nothing thrown here may end the process.
    try {
      const path = (req.url ?? '/').split('?')[0]
      if (path === '/uplot.js') send(res, 'text/javascript', UPLOT_JS)
      else if (path === '/uplot.css') send(res, 'text/css', UPLOT_CSS)
      else if (path === '/' || path === '/index.html')
        send(res, 'text/html; charset=utf-8', uiPage(this.#live.endpoints[0] ?? ''))
      else {
        res.statusCode = 404
        res.end('not found')
      }
    } catch {
      if (!res.headersSent) res.statusCode = 500
      res.end()
    }
  }
}

function send(res: ServerResponse, type: string, body: string | Buffer): void {
  res.setHeader('content-type', type)
  res.setHeader('cache-control', 'no-store')
  res.end(body)
}

function summary(r: DistributedResult) {
  const h = r.totals.latency
  const pct = (p: number) => (h.totalCount === 0 ? 0 : h.getValueAtPercentile(p))
  return {
    responses: r.totals.counters.responses,
    sent: r.totals.counters.sent,
    p50: pct(50),
    p99: pct(99),
    durationMs: r.durationMs,
    agents: r.agents,
    losses: r.losses,
    lostRate: r.lostRate,
  }
}

export type { AgentInfo }
