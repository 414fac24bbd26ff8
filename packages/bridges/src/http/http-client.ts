import type { Envelope, Head, HeadValue } from '@dripdrop/codec'
import {
  AbortError,
  ClosedError,
  DestroyedError,
  DripdropError,
  fromErrorBody,
  type RouteHost,
  type RouteSocket,
  type RouteSpec,
  TimeoutError,
  TransportError,
} from '@dripdrop/core'
import { Queue } from '@dripdrop/core/internal'
import { Pool } from 'undici'
import { positiveInt } from '../address.js'
import { clientTls, type TlsClientOptions } from '../tls.js'
import { HttpDisconnectedError, HttpStatusError, QueueFullError } from '../errors.js'
import { type BodyCodecs, bodyCodecs, decodeBody } from './body.js'
import { fillPath, parseRouteTable, type RouteEntry, type RouteTable } from './route-table.js'

/** Options of an `http-client` route, beside core's route options. */
export interface HttpClientOptions {
  /**
   * TLS for an `https://` origin: `ca` pins the CAs the server certificate must chain to (the system's by
   * default); a self-signed or unknown certificate is refused. See {@link TlsClientOptions}.
   */
  tls?: TlsClientOptions
  /** Message name → `'METHOD /path/:param'`, the same table as the server's. Names not in it are sent as `POST /<name>`. @default {} */
  routes?: RouteTable
  /** Keep-alive connections the pool opens at most; more requests wait (backpressure). @default 10 */
  connections?: number
  /** How long an idle pooled connection is kept, in ms. @default 4000 */
  keepAliveTimeoutMs?: number
  /** Request body encoding. @default 'json' */
  contentType?: 'json' | 'msgpack'
  /** Largest response body accepted, in bytes. @default 16 MiB */
  maxMessageBytes?: number
}

/**
 * The head of an `http-client` reply: the response's `status` and its `headers` (names in lower case; a
 * header sent several times is joined with `, `, except `set-cookie`, which stays a list).
 *
 * @example
 * ```ts
 * const reply = await api.request('job.get', undefined, { head: { params: { id: 'j1' } } })
 * const { status, headers } = reply.head as HttpReplyHead
 * console.log(status, headers['content-type'])
 * ```
 */
export interface HttpReplyHead {
  status: number
  headers: Record<string, string | string[]>
}

interface Waiter {
  resolve: () => void
  reject: (err: unknown) => void
  signal: AbortSignal
}

const NO_BODY = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS'])

/**
 * The `http-client` route's socket: an undici `Pool` of keep-alive connections to one origin. `request()` maps
 * the envelope to a method and path through the route table; the status and body come back as the reply, or as
 * a coded error. At most `connections` requests are on the wire; the next ones wait in a queue bounded by the
 * route's `highWaterMark`.
 */
export class HttpClientSocket implements RouteSocket {
  readonly endpoints: readonly string[]
  readonly #spec: RouteSpec
  readonly #host: RouteHost
  readonly #origin: string
  readonly #byName = new Map<string, RouteEntry>()
  readonly #connections: number
  readonly #keepAliveTimeoutMs: number
  readonly #msgpack: boolean
  readonly #codecs: BodyCodecs
  readonly #timeoutMs: number
  #pool: Pool | undefined
  readonly #tls: TlsClientOptions | undefined
  #active = 0
  readonly #waiters = new Queue<Waiter>()
  #state: 'idle' | 'open' | 'closing' | 'closed' = 'idle'
  #idle: (() => void) | undefined
  #closed: Promise<void> | undefined

  constructor(spec: RouteSpec, host: RouteHost) {
    const o = spec.options as HttpClientOptions
    const path = `route "${spec.name}": options`
    if (spec.bind.length > 0 || spec.connect.length !== 1) {
      throw new TypeError(`${path}.connect: an http-client route connects to exactly one http:// origin`)
    }
    let url: URL
    try {
      url = new URL(spec.connect[0])
    } catch {
      throw new TypeError(`${path}.connect: "${spec.connect[0]}" is not a URL`)
    }
    this.#origin = url.origin
    this.#tls = clientTls(o.tls, url.protocol.slice(0, -1), 'https', path)
    this.endpoints = [spec.connect[0]]
    this.#spec = spec
    this.#host = host
    for (const e of parseRouteTable(o.routes ?? {}, `${path}.routes`)) this.#byName.set(e.name, e)
    this.#connections = positiveInt(o.connections, 10, `${path}.connections`)
    this.#keepAliveTimeoutMs = positiveInt(o.keepAliveTimeoutMs, 4000, `${path}.keepAliveTimeoutMs`)
    if (o.contentType !== undefined && o.contentType !== 'json' && o.contentType !== 'msgpack') {
      throw new TypeError(`${path}.contentType must be "json" or "msgpack"`)
    }
    this.#msgpack = o.contentType === 'msgpack'
    this.#codecs = bodyCodecs(positiveInt(o.maxMessageBytes, 16 * 1024 * 1024, `${path}.maxMessageBytes`))
    this.#timeoutMs = typeof spec.options.timeoutMs === 'number' ? spec.options.timeoutMs : 10_000
  }

  async start(): Promise<void> {
    this.#pool = new Pool(this.#origin, {
      connections: this.#connections,
      pipelining: 1,
      keepAliveTimeout: this.#keepAliveTimeoutMs,
      ...(this.#tls === undefined
        ? {}
        : {
            connect: {
              ca: this.#tls.ca as string[] | string | undefined,
              cert: this.#tls.cert,
              key: this.#tls.key,
              servername: this.#tls.servername,
              rejectUnauthorized: true,
            },
          }),
    })
    this.#state = 'open'
  }

  /** Requests on the wire now. */
  get active(): number {
    return this.#active
  }

  /** Requests waiting for a free connection. */
  get waiting(): number {
    return this.#waiters.length
  }

  /** Fire and forget: resolves once the request is on the wire; its failure is reported as `route:error`. */
  send(envelope: Envelope): void | Promise<void> {
    const admitted = this.#active < this.#connections && this.#waiters.length === 0
    let onWire: (() => void) | undefined
    const wire = admitted ? undefined : new Promise<void>((resolve) => (onWire = resolve))
    this.#call(envelope, this.#timeoutMs, undefined, onWire).catch((error) => {
      onWire?.()
      this.#host.emit({ type: 'error', error, endpoint: this.endpoints[0] })
    })
    return wire
  }

  request(envelope: Envelope, options: { timeoutMs: number; signal?: AbortSignal }): Promise<Envelope> {
    return this.#call(envelope, options.timeoutMs, options.signal, undefined)
  }

  async #call(
    envelope: Envelope,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    onWire: (() => void) | undefined,
  ): Promise<Envelope> {
    if (this.#state !== 'open') throw new ClosedError(`route "${this.#spec.name}" is ${this.#state}`)
    const { method, path, headers, body } = this.#toRequest(envelope)
    const ac = new AbortController()
    const timer = setTimeout(
      () => ac.abort(new TimeoutError(`${method} ${path} timed out after ${timeoutMs} ms`, timeoutMs)),
      timeoutMs,
    )
    const onAbort = () => ac.abort(new AbortError('request aborted', signal!.reason))
    signal?.addEventListener('abort', onAbort, { once: true })
    let slot = false
    try {
      await this.#acquire(ac.signal)
      slot = true
      onWire?.()
      const res = await this.#pool!.request({ method, path, headers, body, signal: ac.signal })
      const bytes = Buffer.from(await res.body.arrayBuffer())
      this.#host.stats.bytesIn += bytes.byteLength
      this.#host.stats.messagesIn++
      const type = res.headers['content-type']
      const value = decodeBody(bytes, Array.isArray(type) ? type[0] : type, this.#codecs)
      if (res.statusCode >= 400) throw toError(res.statusCode, value)
      const head: HttpReplyHead = { status: res.statusCode, headers: replyHeaders(res.headers) }
      return { name: envelope.name, head: head as unknown as Head, body: value ?? null }
    } catch (err) {
      if (ac.signal.aborted) {
        if (ac.signal.reason instanceof TimeoutError) this.#host.stats.timeouts++
        throw ac.signal.reason
      }
      if (err instanceof DripdropError) throw err
      if (isReset(err)) {
        // The server went away mid-request: a peer gone, counted as aborted (CONTRIBUTING), not an error of ours.
        this.#host.stats.aborted++
        throw new HttpDisconnectedError(
          `${method} ${this.#origin}${path}: the server closed the connection before the whole reply (${(err as Error).message})`,
          err,
        )
      }
      throw new TransportError(`${method} ${this.#origin}${path} failed: ${(err as Error).message}`, err)
    } finally {
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      if (slot) this.#release()
    }
  }

  #toRequest(envelope: Envelope): {
    method: string
    path: string
    headers: Record<string, string>
    body: Uint8Array | undefined
  } {
    const head = envelope.head
    const entry = this.#byName.get(envelope.name)
    const method = entry?.method ?? 'POST'
    let path = entry
      ? fillPath(entry, head.params as Record<string, unknown> | undefined)
      : `/${encodeURIComponent(envelope.name)}`
    const query = head.query
    if (query !== null && typeof query === 'object' && !Array.isArray(query)) {
      const search = new URLSearchParams()
      for (const [k, v] of Object.entries(query as Record<string, HeadValue>)) {
        if (Array.isArray(v)) for (const item of v) search.append(k, String(item))
        else if (v !== null && v !== undefined) search.append(k, String(v))
      }
      const s = search.toString()
      if (s) path += `?${s}`
    }
    const headers: Record<string, string> = {}
    const extra = head.headers
    if (extra !== null && typeof extra === 'object' && !Array.isArray(extra)) {
      for (const [k, v] of Object.entries(extra as Record<string, HeadValue>))
        headers[k.toLowerCase()] = String(v)
    }
    headers.accept = this.#msgpack ? 'application/msgpack' : 'application/json'
    let body: Uint8Array | undefined
    if (!NO_BODY.has(method) && envelope.body !== undefined) {
      body = this.#msgpack
        ? this.#codecs.msgpack.encodeValue(envelope.body)
        : this.#codecs.json.encodeValue(envelope.body)
      headers['content-type'] = this.#msgpack ? 'application/msgpack' : 'application/json'
      this.#host.stats.bytesOut += body.byteLength
    }
    return { method, path, headers, body }
  }

  #acquire(signal: AbortSignal): Promise<void> {
    if (this.#active < this.#connections && this.#waiters.length === 0) {
      this.#active++
      return Promise.resolve()
    }
    if (this.#waiters.length >= this.#spec.highWaterMark) {
      return Promise.reject(
        new QueueFullError(
          `route "${this.#spec.name}": ${this.#waiters.length} requests already wait for a connection`,
        ),
      )
    }
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject, signal }
      this.#waiters.push(w)
      signal.addEventListener('abort', () => reject(signal.reason), { once: true })
    })
  }

  #release(): void {
    while (this.#waiters.length > 0) {
      const w = this.#waiters.shift()
      if (w.signal.aborted) continue
      w.resolve() // the slot passes straight to the next waiter
      return
    }
    this.#active--
    if (this.#active === 0) this.#idle?.()
  }

  /**
   * Waits up to `lingerMs` for the requests on the wire, then closes the pool. A second call returns the same
   * promise.
   */
  close(lingerMs: number): Promise<void> {
    this.#closed ??= this.#close(lingerMs)
    return this.#closed
  }

  async #close(lingerMs: number): Promise<void> {
    if (this.#state !== 'open') {
      this.#state = 'closed'
      return
    }
    this.#state = 'closing'
    if (this.#active > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, lingerMs)
        this.#idle = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
    this.#state = 'closed'
    await this.#pool?.destroy()
  }

  destroy(): number {
    const dropped = this.#active + this.#waiters.length
    const err = new DestroyedError(`route "${this.#spec.name}" was destroyed`)
    while (this.#waiters.length > 0) this.#waiters.shift().reject(err)
    this.#state = 'closed'
    this.#pool?.destroy(err).catch(() => {})
    return dropped
  }
}

// A connection reset or closed by the server once the request was under way (undici `SocketError`, or the
// socket's own ECONNRESET/EPIPE), as opposed to one that never opened (ECONNREFUSED, DNS: TransportError).
const RESET_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'EPIPE'])
function isReset(err: unknown): boolean {
  for (let e = err, depth = 0; e !== null && typeof e === 'object' && depth < 4; depth++) {
    if (RESET_CODES.has((e as { code?: string }).code ?? '')) return true
    e = (e as { cause?: unknown }).cause
  }
  return false
}

/** undici's response headers as plain, null-free data (undefined values dropped, lists joined but cookies). */
function replyHeaders(raw: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const k of Object.keys(raw)) {
    const v = raw[k]
    if (v === undefined || k === '__proto__') continue
    out[k] = Array.isArray(v) && k !== 'set-cookie' ? v.join(', ') : v
  }
  return out
}

/** A status of 400 or more as a coded error: the server's own code when its body carries one. */
function toError(status: number, value: unknown): Error {
  const e = (value as { error?: unknown } | undefined)?.error
  if (e !== null && typeof e === 'object' && typeof (e as { code?: unknown }).code === 'string') {
    const body = e as { data?: Record<string, unknown> }
    return fromErrorBody({ ...body, data: { ...(body.data ?? {}), status } })
  }
  return new HttpStatusError(status)
}
