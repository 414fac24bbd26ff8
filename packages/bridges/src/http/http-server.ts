import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { EMPTY_HEAD, type Envelope, type Head, type HeadValue, type JsonCodec } from '@dripdrop/codec'
import {
  type ErrorBody,
  type RouteHost,
  type RouteSocket,
  type RouteSpec,
  TransportError,
} from '@dripdrop/core'
import { Deadlines, Queue } from '@dripdrop/core/internal'
import { formatAddress, listen, nonNegativeInt, parseBind, positiveInt } from '../address.js'
import { bearerOf } from '../auth.js'
import { HttpStatusError, isPeerGone, statusOfError } from '../errors.js'
import { createServer, schemeOf, serverTls, type TlsServerOptions } from '../tls.js'
import {
  BODY_ABORTED,
  type BodyCodecs,
  type BodyHeaders,
  bodyCodecs,
  bodyHeaders,
  decodeBody,
  isMsgpack,
  mediaType,
  readBody,
} from './body.js'
import { HttpReply } from './http-reply.js'
import { NO_PARAMS, parseRouteTable, type RouteMatch, RouteMatcher, type RouteTable } from './route-table.js'

/** Options of an `http-server` route, beside core's route options. */
export interface HttpServerOptions {
  /** Route table: `'METHOD /path/:param'` → message name. Required. */
  routes: RouteTable
  /** Request headers (lower case) copied into `head.headers`. @default [] */
  headers?: readonly string[]
  /** Largest request body, in bytes; larger is answered 413. @default 1 MiB */
  maxMessageBytes?: number
  /**
   * How long a client has to send a whole request, headers and body, in ms, from its first byte; past it the
   * connection gets a 408 and is closed (slowloris uploads), counted in `stats.timeouts`. Checked about every
   * `min(1000, bodyTimeoutMs / 4)` ms (node:http's `requestTimeout`). @default 30000
   */
  bodyTimeoutMs?: number
  /**
   * Bytes of request bodies that may wait for a handler slot (beside `highWaterMark` requests); past it a
   * request is answered 503 `DD_ERR_HTTP_OVERLOADED`. @default 64 MiB
   */
  maxQueueBytes?: number
  /** How long a handler may take before the request is answered 504, in ms. @default 30000 */
  handlerTimeoutMs?: number
  /** How long an idle keep-alive connection stays open, in ms. @default 5000 */
  keepAliveTimeoutMs?: number
  /** Handles requests the route table does not match (static files, a page). @default a 404 JSON error */
  fallback?: (req: IncomingMessage, res: ServerResponse) => void
  /** Put error stacks in HTTP error bodies. Off for HTTP unless set to `true`. @default false */
  exposeErrorStacks?: boolean
  /**
   * TLS: required with an `https://` bind address, refused with `http://`. See {@link TlsServerOptions}.
   * @default undefined (plain HTTP)
   */
  tls?: TlsServerOptions
  /**
   * Decides each request that matches the route table, before its body is read and before any handler:
   * `true` accepts, an object accepts and becomes `head.$auth`, `false` (or a throw) answers 401
   * `DD_ERR_HTTP_UNAUTHORIZED`; throwing an `HttpStatusError` of status 403 answers 403
   * `DD_ERR_HTTP_FORBIDDEN`. Unmatched paths and the `fallback` are not checked. `bearerAuth(token)` is
   * a ready-made hook (constant-time comparison).
   * @default undefined (every request is accepted)
   */
  authorize?: HttpAuthorizeHook
}

/** What the `authorize` hook of an `http-server` route sees of a request. */
export interface HttpAuthorizeInfo {
  /** The bearer token of the `Authorization` header ('' when absent). Never taken from the URL. */
  token: string
  /** The request method. */
  method: string
  /** The path, without the query. */
  path: string
  /** The message name the route table gave this request. */
  name: string
  /** The raw request, for anything else (client certificate, cookies, IP). */
  req: IncomingMessage
}

/** The `authorize` option of an `http-server` route. */
export type HttpAuthorizeHook = (
  info: HttpAuthorizeInfo,
) => boolean | { [key: string]: HeadValue } | Promise<boolean | { [key: string]: HeadValue }>

/**
 * The head of an envelope made from an HTTP request: `$id`, path parameters, query and the headers named in
 * the route's `headers` option.
 *
 * @example
 * ```ts
 * api.on('job.get', ({ head }) => jobs.get((head as HttpHead).params.id))
 * ```
 */
export type HttpHead = Head & {
  params: Record<string, string>
  query: Record<string, string | string[]>
  headers?: Record<string, string>
}

interface Pending extends BodyHeaders {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  /** The request's route-table match, its URL and where the query starts (-1: none). */
  match: RouteMatch | undefined
  url: string
  q: number
  msgpack: boolean
  /** Body bytes, counted against `maxQueueBytes` while the request waits for a handler slot. */
  size: number
  done: boolean
  /** Counted in #inflight (early answers such as 404 never are). */
  counted: boolean
  /** What `authorize` accepted the request with, carried as `head.$auth`. */
  auth: { [key: string]: HeadValue } | undefined
}

const JSON_TYPE = 'application/json'
const MSGPACK_TYPE = 'application/msgpack'

/**
 * The `http-server` route's socket: one node:http server; each request whose method and path are in the
 * route table becomes an envelope for the route's handlers, and the handler's reply (or error) becomes the
 * response. Requests wait in a bounded queue while the route's handlers are saturated.
 */
export class HttpServerSocket implements RouteSocket {
  readonly replies = true
  #endpoints: string[] = []
  readonly #spec: RouteSpec
  readonly #host: RouteHost
  readonly #matcher: RouteMatcher
  readonly #headers: readonly string[]
  readonly #maxMessageBytes: number
  readonly #bodyTimeoutMs: number
  readonly #maxQueueBytes: number
  #waitingBytes = 0
  readonly #codecs: BodyCodecs
  // Responses are not bound by maxMessageBytes (a request limit): the codecs' default 16 MiB frame limit.
  readonly #out: BodyCodecs = bodyCodecs(16 * 1024 * 1024)
  readonly #keepAliveTimeoutMs: number
  readonly #handlerTimeoutMs: number
  readonly #fallback: HttpServerOptions['fallback']
  readonly #stacks: boolean
  readonly #authorize: HttpAuthorizeHook | undefined
  readonly #scheme: 'http' | 'https'
  readonly #server: Server
  readonly #deadlines: Deadlines<Pending>
  readonly #waiting = new Queue<{ envelope: Envelope; pending: Pending }>()
  #blocked: Promise<void> | undefined
  #inflight = 0
  #seq = 0
  #closing = false
  #closed: Promise<void> | undefined
  #idle: (() => void) | undefined
  /** Connections already counted in `stats.aborted` (a reset reports on the socket and on its request). */
  readonly #gone = new WeakSet<object>()

  constructor(spec: RouteSpec, host: RouteHost) {
    const o = spec.options as Partial<HttpServerOptions>
    const path = `route "${spec.name}": options`
    if (spec.connect.length > 0 || spec.bind.length !== 1) {
      throw new TypeError(`${path}.bind: an http-server route binds exactly one http:// address`)
    }
    const tls = serverTls(o.tls, schemeOf(spec.bind[0]), 'https', path)
    this.#scheme = tls === undefined ? 'http' : 'https'
    this.#spec = spec
    this.#host = host
    this.#matcher = new RouteMatcher(parseRouteTable(o.routes, `${path}.routes`))
    if (
      o.headers !== undefined &&
      (!Array.isArray(o.headers) || o.headers.some((h) => typeof h !== 'string'))
    ) {
      throw new TypeError(`${path}.headers must be an array of header names`)
    }
    this.#headers = (o.headers ?? []).map((h) => h.toLowerCase())
    this.#maxMessageBytes = positiveInt(o.maxMessageBytes, 1024 * 1024, `${path}.maxMessageBytes`)
    this.#bodyTimeoutMs = positiveInt(o.bodyTimeoutMs, 30_000, `${path}.bodyTimeoutMs`)
    this.#maxQueueBytes = positiveInt(o.maxQueueBytes, 64 * 1024 * 1024, `${path}.maxQueueBytes`)
    this.#codecs = bodyCodecs(this.#maxMessageBytes)
    this.#handlerTimeoutMs = positiveInt(o.handlerTimeoutMs, 30_000, `${path}.handlerTimeoutMs`)
    this.#keepAliveTimeoutMs = nonNegativeInt(o.keepAliveTimeoutMs, 5000, `${path}.keepAliveTimeoutMs`)
    if (o.fallback !== undefined && typeof o.fallback !== 'function') {
      throw new TypeError(`${path}.fallback must be a function (req, res) => void`)
    }
    this.#fallback = o.fallback
    this.#stacks = o.exposeErrorStacks === true
    if (o.authorize !== undefined && typeof o.authorize !== 'function')
      throw new TypeError(`${path}.authorize must be a function (info) => boolean | object`)
    this.#authorize = o.authorize
    parseBind(spec.bind[0], ['http', 'https'])
    this.#deadlines = new Deadlines<Pending>(
      (p) => !p.done,
      (p) => {
        this.#host.stats.timeouts++
        this.#fail(
          p,
          new HttpStatusError(
            504,
            'DD_ERR_HTTP_TIMEOUT',
            `handler took longer than ${this.#handlerTimeoutMs} ms`,
          ),
        )
      },
    )
    const bodyTimeoutMs = this.#bodyTimeoutMs
    this.#server = createServer(
      tls,
      {
        keepAliveTimeout: this.#keepAliveTimeoutMs,
        // node:http's own request deadline (headers and body) is the body read deadline: it answers 408 through
        // 'clientError' below. Its headers deadline may not exceed it.
        requestTimeout: bodyTimeoutMs,
        headersTimeout: Math.min(60_000, bodyTimeoutMs),
        connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(bodyTimeoutMs / 4))),
      },
      this.#onRequest,
    )
    // One listener per connection, not per request: a connection that closes while a body is still arriving
    // ends that request as aborted and frees its slot at once (issue 8).
    // A TLS handshake that fails (a client that does not trust us, a missing client certificate): counted,
    // that connection dropped, the server goes on.
    this.#server.on('tlsClientError', (err: Error) =>
      this.#host.emit({
        type: 'error',
        error: new TransportError(`TLS handshake failed: ${err.message}`, err),
      }),
    )
    // Over TLS the request's socket is the TLSSocket of 'secureConnection', not the TCP one of 'connection'.
    this.#server.on(tls === undefined ? 'connection' : 'secureConnection', (socket: Socket) => {
      ;(socket as Reading)[READING] = undefined
      socket.once('close', () => {
        const p = (socket as Reading)[READING]
        if (p !== undefined) this.#onBody(p, BODY_ABORTED, EMPTY_BODY)
      })
    })
    // A malformed request line or headers: answer 400 and drop that connection, never the process. A client
    // that went away is counted as aborted, one too slow to send its request is answered 408.
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
        this.#host.stats.timeouts++
        this.#gone.add(socket) // its request (if any) ends as aborted when the socket closes: already counted
        return endSocket(socket, '408 Request Timeout')
      }
      if (isPeerGone(err)) {
        this.#peerGone(socket)
        return socket.destroy()
      }
      this.#host.emit({ type: 'error', error: new TransportError(`bad HTTP request: ${err.message}`, err) })
      endSocket(socket, '400 Bad Request')
    })
  }

  get endpoints(): readonly string[] {
    return this.#endpoints
  }

  async start(): Promise<void> {
    const { host, port } = parseBind(this.#spec.bind[0], ['http', 'https'])
    await listen(this.#server, host, port, this.#spec.bind[0])
    this.#server.on('error', (err) =>
      this.#host.emit({ type: 'error', error: new TransportError(err.message, err) }),
    )
    const real = (this.#server.address() as AddressInfo).port
    this.#endpoints = [formatAddress(this.#scheme, host, real)]
    this.#host.emit({ type: 'listening', endpoint: this.#endpoints[0] })
  }

  /** The underlying node:http server (for metrics or tests). */
  get server(): Server {
    return this.#server
  }

  // The outermost handler of every request catches: a throw here would be an uncaught exception (the
  // process gone), so it becomes a 500 and a `route:error`.
  readonly #onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    try {
      this.#request(req, res)
    } catch (err) {
      this.#crashed(res, err)
    }
  }

  #crashed(res: ServerResponse, err: unknown): void {
    this.#host.emit({
      type: 'error',
      error: new TransportError(`http-server: ${(err as Error)?.message ?? String(err)}`, err),
    })
    if (!res.headersSent && !res.destroyed) {
      res.shouldKeepAlive = false
      res.writeHead(500, { 'content-length': 0 })
    }
    res.end()
  }

  // Not annotated `: void`: its early exits return what the answering helpers return (nothing).
  #request(req: IncomingMessage, res: ServerResponse) {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const pathname = q === -1 ? url : url.slice(0, q)
    const match = this.#matcher.match(req.method ?? 'GET', pathname)
    // One record per request: the three body headers, then how to answer.
    const pending: Pending = bodyHeaders(req, {
      req,
      res,
      match: undefined,
      url,
      q,
      contentType: undefined,
      contentLength: undefined,
      accept: undefined,
      msgpack: false,
      size: 0,
      done: false,
      counted: false,
      auth: undefined,
    })
    const h = pending
    pending.msgpack = wantsMsgpack(h)
    if (this.#closing) {
      res.shouldKeepAlive = false
      return this.#fail(pending, new HttpStatusError(503, 'DD_ERR_HTTP_OVERLOADED', 'server is closing'))
    }
    if (match === undefined) {
      if (this.#fallback) return runFallback(this.#fallback, req, res, this.#host)
      return this.#fail(
        pending,
        new HttpStatusError(404, 'DD_ERR_HTTP_NOT_FOUND', `no route for ${req.method} ${pathname}`),
      )
    }
    if (match === 'method') {
      return this.#fail(
        pending,
        new HttpStatusError(
          405,
          'DD_ERR_HTTP_METHOD_NOT_ALLOWED',
          `${req.method} is not allowed on ${pathname}`,
        ),
      )
    }
    this.#inflight++
    pending.counted = true
    // No 'close' listener per request (it costs as much as the routing): a request whose client left is
    // settled by its reply or its deadline like any other, and the write is skipped.
    pending.match = match
    if (this.#authorize !== undefined) return this.#judge(pending, pathname)
    ;(req.socket as Reading)[READING] = pending
    readBody(req, h.contentLength, this.#maxMessageBytes, pending, this.#onBody)
  }

  // The authorize hook, before the body is read: a refused request never reaches a handler, and its body is
  // not read (the connection is closed after the answer).
  #judge(pending: Pending, path: string): void {
    const req = pending.req
    const match = pending.match!
    const info: HttpAuthorizeInfo = {
      token: bearerOf(req),
      method: req.method ?? 'GET',
      path,
      name: match.name,
      req,
    }
    const refuse = (err: unknown) => {
      this.#host.stats.errors++
      pending.res.shouldKeepAlive = false
      const forbidden = err instanceof HttpStatusError && err.status === 403
      if (!forbidden) pending.res.setHeader('www-authenticate', 'Bearer')
      this.#fail(
        pending,
        forbidden
          ? new HttpStatusError(403, 'DD_ERR_HTTP_FORBIDDEN', 'forbidden')
          : new HttpStatusError(401, 'DD_ERR_HTTP_UNAUTHORIZED', 'authentication required'),
      )
    }
    let verdict: ReturnType<HttpAuthorizeHook>
    try {
      verdict = this.#authorize!(info)
    } catch (err) {
      refuse(err)
      return
    }
    Promise.resolve(verdict).then((v) => {
      if (v === true || (v !== null && typeof v === 'object')) {
        if (typeof v === 'object') pending.auth = v
        ;(req.socket as Reading)[READING] = pending
        readBody(req, pending.contentLength, this.#maxMessageBytes, pending, this.#onBody)
      } else refuse(undefined)
    }, refuse)
  }

  // One function for every request's body (its state is the Pending record), not a closure per request.
  // It runs from the request stream's events: nothing may escape it.
  readonly #onBody = (pending: Pending, err: HttpStatusError | undefined, bytes: Buffer): void => {
    try {
      this.#body(pending, err, bytes)
    } catch (e) {
      if (!pending.done) {
        pending.done = true
        if (pending.counted) this.#finished()
      }
      this.#crashed(pending.res, e)
    }
  }

  #body(pending: Pending, err: HttpStatusError | undefined, bytes: Buffer) {
    const socket = pending.req.socket as Reading | null
    if (socket !== null && socket[READING] === pending) socket[READING] = undefined
    if (err === BODY_ABORTED) {
      // Nobody to answer: free the slot now, not at close time (issue 8).
      if (pending.done) return
      pending.done = true
      this.#peerGone(pending.req.socket)
      if (pending.counted) this.#finished()
      return
    }
    if (err) {
      // The rest of an oversized body is not read: close the connection after the answer.
      pending.res.shouldKeepAlive = false
      return this.#fail(pending, err)
    }
    let body: unknown
    try {
      body = decodeBody(bytes, pending.contentType, this.#codecs)
    } catch (e) {
      if ((e as HttpStatusError).status === 400) this.#host.stats.decodeErrors++
      return this.#fail(pending, e as HttpStatusError)
    }
    this.#host.stats.bytesIn += bytes.byteLength
    pending.size = bytes.byteLength
    const match = pending.match!
    const q = pending.q
    let query: Record<string, string | string[]> = NO_PARAMS
    if (q !== -1) {
      const parsed = parseQuery(pending.url.slice(q + 1))
      if (parsed === undefined) {
        return this.#fail(
          pending,
          new HttpStatusError(
            400,
            'DD_ERR_HTTP_BAD_REQUEST',
            'query string names a reserved key (__proto__, constructor or prototype)',
          ),
        )
      }
      query = parsed
    }
    const head: Head = { $id: ++this.#seq, params: match.params, query }
    if (this.#headers.length > 0) head.headers = pickHeaders(pending.req, this.#headers)
    if (pending.auth !== undefined) head.$auth = pending.auth
    this.#dispatch({ name: match.name, head, body: body ?? null }, pending)
    // A synchronous handler has answered already: no deadline to track. Otherwise the deadline starts now,
    // before any wait for a handler slot: a request queued behind stuck handlers gets its 504 like one whose
    // handler is stuck.
    if (!pending.done) this.#deadlines.add(pending, this.#handlerTimeoutMs)
  }

  #dispatch(envelope: Envelope, pending: Pending) {
    if (this.#blocked !== undefined) {
      if (this.#waiting.length >= this.#spec.highWaterMark) {
        return this.#fail(
          pending,
          new HttpStatusError(503, 'DD_ERR_HTTP_OVERLOADED', 'too many requests waiting'),
        )
      }
      if (this.#waitingBytes + pending.size > this.#maxQueueBytes) {
        return this.#fail(
          pending,
          new HttpStatusError(503, 'DD_ERR_HTTP_OVERLOADED', 'too many request bytes waiting'),
        )
      }
      this.#waitingBytes += pending.size
      this.#waiting.push({ envelope, pending })
      return
    }
    const wait = this.#host.receive(envelope, pending)
    if (wait !== undefined) {
      // The route's handlers are saturated: hold further requests until a slot frees.
      this.#blocked = wait
      wait.then(this.#unblock, this.#unblock)
    }
  }

  readonly #unblock = (): void => {
    this.#blocked = undefined
    while (this.#waiting.length > 0 && this.#blocked === undefined) {
      const { envelope, pending } = this.#waiting.shift()
      this.#waitingBytes -= pending.size
      if (!pending.done) this.#dispatch(envelope, pending)
    }
  }

  send(): Promise<void> {
    return Promise.reject(
      new TypeError(`route "${this.#spec.name}" is an http-server route: it only replies`),
    )
  }

  /** The route's reply to one request: the handler's value, or an error body when `$err` is set. */
  sendTo(to: unknown, envelope: Envelope) {
    const p = to as Pending
    if (p.done) {
      // Answered already (504) or the client left: the late reply has nowhere to go.
      this.#host.stats.dropped++
      return
    }
    if (envelope.head.$err === true) {
      const e = envelope.body as ErrorBody
      return this.#respondError(p, statusOfError(e.code, e.data), e)
    }
    let value = envelope.body
    let status = 200
    let extra: readonly (string | readonly string[])[] | undefined
    if (value instanceof HttpReply) {
      status = value.status
      extra = value.flat
      value = value.body
      if (value === undefined) return this.#respond(p, status, undefined, undefined, extra)
    } else if (value === undefined) return this.#respond(p, 204, undefined, undefined, undefined)
    // Encoding may throw (a value JSON cannot carry): the route then answers with that error instead.
    if (p.msgpack) this.#respond(p, status, MSGPACK_TYPE, this.#out.msgpack.encodeValue(value), extra)
    else this.#respond(p, status, JSON_TYPE, jsonText(this.#out.json, value), extra)
  }

  #fail(p: Pending, err: HttpStatusError): void {
    this.#respondError(p, err.status, { name: err.name, code: err.code, message: err.message })
  }

  #respondError(p: Pending, status: number, e: ErrorBody): void {
    const error: Record<string, unknown> = { name: e.name, code: e.code, message: e.message }
    if (e.data !== undefined) error.data = e.data
    if (this.#stacks && e.stack) error.stack = e.stack
    let bytes: Uint8Array
    try {
      bytes = p.msgpack ? this.#out.msgpack.encodeValue({ error }) : this.#out.json.encodeValue({ error })
    } catch {
      // `data` held something the codec cannot carry: answer without it.
      delete error.data
      bytes = this.#out.json.encodeValue({ error })
    }
    this.#respond(p, status, p.msgpack ? MSGPACK_TYPE : JSON_TYPE, bytes, undefined)
  }

  #respond(
    p: Pending,
    status: number,
    type: string | undefined,
    data: Uint8Array | string | undefined,
    extra: readonly (string | readonly string[])[] | undefined,
  ): void {
    if (p.done) return
    p.done = true
    const res = p.res
    if (this.#closing) res.shouldKeepAlive = false
    if (!res.headersSent && !res.destroyed) {
      const size =
        data === undefined ? 0 : typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength
      // The flat array form skips node:http's per-key object walk.
      const headers: (string | readonly string[])[] =
        type === undefined
          ? status === 204 || status === 304
            ? []
            : ['content-length', '0']
          : ['content-type', type, 'content-length', String(size)]
      if (extra !== undefined) for (let i = 0; i < extra.length; i++) headers.push(extra[i])
      res.writeHead(status, headers as string[])
      res.end(data)
      this.#host.stats.bytesOut += size
    } else if (res.destroyed) this.#peerGone(p.req.socket) // the client left while its handler ran
    if (p.counted) this.#finished()
  }

  /** Counts a connection whose client went away, once however many places report it. */
  #peerGone(socket: object | null): void {
    if (socket === null || this.#gone.has(socket)) return
    this.#gone.add(socket)
    this.#host.stats.aborted++
  }

  #finished(): void {
    this.#inflight--
    if (this.#inflight === 0) this.#idle?.()
  }

  /**
   * Stops taking requests, waits for those in flight (each bounded by `handlerTimeoutMs`), then closes every
   * connection. A second call returns the same promise.
   */
  close(_lingerMs: number): Promise<void> {
    this.#closed ??= this.#close()
    return this.#closed
  }

  async #close(): Promise<void> {
    this.#closing = true
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()))
    // Stop taking connections and drop idle keep-alive ones; requests in flight finish (each within its
    // handler timeout) and their connections close after the response.
    this.#server.closeIdleConnections()
    if (this.#inflight > 0) await new Promise<void>((resolve) => (this.#idle = resolve))
    this.#deadlines.clear()
    this.#server.closeAllConnections()
    await closed
  }

  destroy(): number {
    this.#closing = true
    const dropped = this.#inflight + this.#waiting.clear()
    this.#waitingBytes = 0
    this.#deadlines.clear()
    this.#server.close()
    this.#server.closeAllConnections()
    return dropped
  }
}

/** The request whose body a connection is reading, if any (set on the socket: no map lookup per request). */
const READING = Symbol('dripdrop.reading')
type Reading = Socket & { [READING]?: Pending | undefined }
const EMPTY_BODY = Buffer.alloc(0)

const VALUE_AT = '[1,"v",{},'.length

/**
 * A value as JSON text, with the JSON codec's rules (byte arrays as `{ $bin }`). The codec gives text only for
 * envelopes: encode one around the value and cut the value out. A string body lets node:http send the
 * headers and the body in one write; bytes would take a second buffer and a writev.
 */
function jsonText(codec: JsonCodec, value: unknown): string {
  // One envelope for every response: encodeText reads it synchronously, and it never holds a value after.
  WRAP.body = value
  try {
    return codec.encodeText(WRAP).slice(VALUE_AT, -1)
  } finally {
    WRAP.body = null
  }
}

const WRAP: Envelope = { name: 'v', head: EMPTY_HEAD, body: null }

/** Runs a user's fallback; a throw becomes a 500 and a `route:error`, never an uncaught exception. */
export function runFallback(
  fallback: (req: IncomingMessage, res: ServerResponse) => void,
  req: IncomingMessage,
  res: ServerResponse,
  host: RouteHost,
): void {
  try {
    fallback(req, res)
  } catch (err) {
    host.emit({ type: 'error', error: new TransportError(`fallback threw: ${(err as Error)?.message}`, err) })
    if (!res.headersSent) res.writeHead(500)
    res.end()
  }
}

/** A bare HTTP response on a connection node:http handed over (`clientError`), then the end of it. */
function endSocket(
  socket: { writable: boolean; end(s: string): void; destroy(): void },
  status: string,
): void {
  if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`)
  else socket.destroy()
}

function wantsMsgpack(h: BodyHeaders): boolean {
  const accept = h.accept
  if (accept?.includes('msgpack')) return true
  return accept === undefined || accept === '*/*' ? isMsgpack(mediaType(h.contentType)) : false
}

function pickHeaders(req: IncomingMessage, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {}
  for (const n of names) {
    const v = req.headers[n]
    if (v !== undefined) out[n] = Array.isArray(v) ? v.join(', ') : v
  }
  return out
}

/** Query keys refused like the body codecs refuse them: they would reach `head.query` as own keys. */
const RESERVED_KEYS = new Set(['__proto__', 'constructor', 'prototype'])

/** `a=1&b=x&a=2` → `{ a: ['1', '2'], b: 'x' }`; `undefined` when a key is reserved (`__proto__`…). */
function parseQuery(search: string): Record<string, string | string[]> | undefined {
  const out: Record<string, string | string[]> = Object.create(null)
  for (const [k, v] of new URLSearchParams(search)) {
    if (RESERVED_KEYS.has(k)) return undefined
    const prev = out[k]
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v]
  }
  return { ...out }
}
