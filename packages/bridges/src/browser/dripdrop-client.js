// @ts-check
/**
 * dripdrop browser client: speaks the envelope `{ name, head, body }` over one WebSocket, as JSON text frames
 * (`[1, name, head, body]`, docs/protocol.md §9). A plain ES module with no imports: serve this file as
 * is (`ws-server` routes serve it at `/dripdrop-client.js`).
 *
 * @example
 * ```js
 * import { connect } from '/dripdrop-client.js'
 * const dd = connect('ws://localhost:8080')
 * dd.on('chat.said', (body, msg) => console.log(body.text, msg.head))
 * dd.send('chat.say', { text: 'hi' })
 * const reply = await dd.request('sum', [1, 2], { timeoutMs: 2000 })
 * ```
 */

const HELLO = '$hello'

/**
 * An error with a stable `code`: `DD_ERR_TIMEOUT`, `DD_ERR_WS_DISCONNECTED`, `DD_ERR_WS_UNAUTHORIZED` (the
 * server refused the token or the origin; `data.status` is 401 or 403), `DD_ERR_CLOSED`, or the server's own.
 */
export class DripdropClientError extends Error {
  /**
   * @param {string} message
   * @param {string} code
   * @param {Record<string, unknown>} [data]
   */
  constructor(message, code, data) {
    super(message)
    this.name = 'DripdropClientError'
    this.code = code
    this.data = data
  }
}

/**
 * @typedef {{ name: string, head: Record<string, unknown>, body: unknown }} Envelope
 * @typedef {{ token?: string, reconnect?: boolean, reconnectMinMs?: number, reconnectMaxMs?: number,
 *   timeoutMs?: number, highWaterMark?: number }} ClientOptions
 */

/**
 * Opens a client. Options: `token` (sent as `?token=`), `reconnect` (default true), `reconnectMinMs`
 * (100), `reconnectMaxMs` (10000), `timeoutMs` for requests (10000), `highWaterMark` sends kept while
 * disconnected (1000; past it `send` throws `DD_ERR_QUEUE_FULL`).
 *
 * @param {string} url
 * @param {ClientOptions} [options]
 */
export function connect(url, options) {
  return new DripdropClient(url, options)
}

export class DripdropClient {
  /**
   * @param {string} url
   * @param {ClientOptions} [options]
   */
  constructor(url, options = {}) {
    const u = new URL(url, typeof location === 'undefined' ? undefined : location.href)
    if (options.token) u.searchParams.set('token', options.token)
    this.url = u.toString()
    this.options = {
      reconnect: options.reconnect !== false,
      reconnectMinMs: options.reconnectMinMs ?? 100,
      reconnectMaxMs: options.reconnectMaxMs ?? 10000,
      timeoutMs: options.timeoutMs ?? 10000,
      highWaterMark: options.highWaterMark ?? 1000,
    }
    /** The connection id the server gave (`head.$conn` of its messages), or null while not connected. */
    this.id = null
    /** @type {'connecting' | 'open' | 'closed'} */
    this.state = 'connecting'
    /** Times the connection came back after dropping. */
    this.reconnects = 0
    /** @type {Map<string, Set<(body: unknown, msg: Envelope) => void>>} */
    this._handlers = new Map()
    /** @type {Map<string, Set<(info?: unknown) => void>>} */
    this._events = new Map()
    /** @type {string[]} frames waiting for the connection */
    this._queue = []
    /** @type {Map<number, { resolve: (e: Envelope) => void, reject: (e: Error) => void, timer: ReturnType<typeof setTimeout> }>} */
    this._pending = new Map()
    this._seq = 0
    this._attempt = 0
    this._opened = false
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this._timer = undefined
    /** @type {WebSocket | null} */
    this._ws = null
    /** @type {DripdropClientError | undefined} set when the server refused the connection */
    this._refusal = undefined
    this._open()
  }

  /**
   * Calls `handler(body, envelope)` for every message named `name` (`'*'` for all): the body, then the whole
   * envelope `{ name, head, body }`, the same envelope `request()` resolves with. Returns an unsubscribe
   * function.
   * @param {string} name
   * @param {(body: any, msg: Envelope) => void} handler
   */
  on(name, handler) {
    let set = this._handlers.get(name)
    if (!set) this._handlers.set(name, (set = new Set()))
    set.add(handler)
    return () => set.delete(handler)
  }

  /**
   * Connection events: `open` (after the server's hello, `id` is set), `close`, `error`.
   * @param {'open' | 'close' | 'error'} event
   * @param {(info?: unknown) => void} listener
   */
  addListener(event, listener) {
    let set = this._events.get(event)
    if (!set) this._events.set(event, (set = new Set()))
    set.add(listener)
    return () => set.delete(listener)
  }

  /**
   * Resolves once connected (now, if already); rejects with `DD_ERR_WS_UNAUTHORIZED` if the server refuses
   * the connection, or `DD_ERR_CLOSED` if the client is closed first.
   */
  ready() {
    if (this.state === 'open' && this.id !== null) return Promise.resolve(this)
    if (this.state === 'closed') return Promise.reject(this._closedError())
    return new Promise((resolve, reject) => {
      const offOpen = this.addListener('open', () => {
        offOpen()
        offClose()
        resolve(this)
      })
      const offClose = this.addListener('close', () => {
        if (this.state !== 'closed') return
        offOpen()
        offClose()
        reject(this._closedError())
      })
    })
  }

  _closedError() {
    return this._refusal ?? new DripdropClientError('client is closed', 'DD_ERR_CLOSED')
  }

  /**
   * Sends one message. While disconnected it waits in a queue and is sent once after reconnecting.
   * @param {string} name
   * @param {unknown} [body]
   * @param {Record<string, unknown>} [head]
   */
  send(name, body = null, head = {}) {
    if (this.state === 'closed') throw this._closedError()
    this._write(JSON.stringify([1, name, head, body === undefined ? null : body]))
  }

  /**
   * Sends a request and resolves with the reply envelope `{ name, head, body }` (what `on()` handlers get as
   * their second argument); rejects with the server's coded error, `DD_ERR_TIMEOUT`,
   * `DD_ERR_WS_DISCONNECTED` if the connection drops first (it is never re-sent), or
   * `DD_ERR_WS_UNAUTHORIZED` if the server refuses the connection.
   * @param {string} name
   * @param {unknown} [body]
   * @param {{ timeoutMs?: number, head?: Record<string, unknown> }} [options]
   * @returns {Promise<Envelope>}
   */
  request(name, body = null, options = {}) {
    const id = ++this._seq
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this._pending.delete(id)
        reject(new DripdropClientError(`request "${name}" timed out after ${timeoutMs} ms`, 'DD_ERR_TIMEOUT'))
      }, timeoutMs)
      this._pending.set(id, { resolve, reject, timer })
      try {
        this.send(name, body, { ...(options.head ?? {}), $id: id })
      } catch (err) {
        clearTimeout(timer)
        this._pending.delete(id)
        reject(err)
      }
    })
  }

  /** Closes for good: no reconnect; pending requests fail with `DD_ERR_CLOSED`. */
  close() {
    this.state = 'closed'
    clearTimeout(this._timer)
    this._failPending('DD_ERR_CLOSED', 'client closed')
    this._ws?.close(1000)
  }

  /** @param {string} frame */
  _write(frame) {
    if (this._ws && this._ws.readyState === 1 && this._queue.length === 0) this._ws.send(frame)
    else if (this._queue.length >= this.options.highWaterMark) {
      throw new DripdropClientError(
        `${this._queue.length} messages already wait for the connection`,
        'DD_ERR_QUEUE_FULL',
      )
    } else this._queue.push(frame)
  }

  _open() {
    const ws = new WebSocket(this.url, ['dripdrop.json'])
    this._ws = ws
    ws.onopen = () => {
      // Each queued frame is handed to the socket once, then forgotten: nothing is sent twice.
      const queued = this._queue
      this._queue = []
      for (const frame of queued) ws.send(frame)
    }
    ws.onmessage = (event) => {
      if (typeof event.data !== 'string') return // binary frames are msgpack: this client speaks JSON only
      let frame
      try {
        frame = JSON.parse(event.data)
      } catch {
        this._emit('error', new DripdropClientError('frame is not JSON', 'DD_ERR_DECODE_MALFORMED'))
        return
      }
      if (Array.isArray(frame) && frame[0] === 2) for (const f of frame.slice(1)) this._receive(f)
      else this._receive(frame)
    }
    ws.onerror = () =>
      this._emit('error', new DripdropClientError(`WebSocket error on ${this.url}`, 'DD_ERR_TRANSPORT'))
    ws.onclose = (event) => {
      const wasOpen = this.state === 'open'
      this.id = null
      // A dripdrop server refuses a token (4401) or an origin (4403) with a close code, since a browser never
      // sees the HTTP status of a refused upgrade. Retrying would be refused again: the client closes for good.
      if (event.code === 4401 || event.code === 4403) {
        const status = event.code - 4000
        this._refusal = new DripdropClientError(
          `${this.url} refused the connection (${status})`,
          'DD_ERR_WS_UNAUTHORIZED',
          { status },
        )
        this.state = 'closed'
        this._queue = []
        this._failPending('DD_ERR_WS_UNAUTHORIZED', this._refusal.message, { status })
        this._emit('error', this._refusal)
        this._emit('close', { code: event.code, reason: event.reason })
        return
      }
      this._failPending('DD_ERR_WS_DISCONNECTED', 'connection closed before the reply')
      if (wasOpen || this.state === 'closed') this._emit('close', { code: event.code, reason: event.reason })
      if (this.state === 'closed' || !this.options.reconnect) {
        this.state = 'closed'
        return
      }
      this.state = 'connecting'
      const base = Math.min(this.options.reconnectMaxMs, this.options.reconnectMinMs * 2 ** this._attempt++)
      this._timer = setTimeout(() => this._open(), Math.round(base * (0.5 + Math.random())))
    }
  }

  /** @param {unknown} frame */
  _receive(frame) {
    if (!Array.isArray(frame) || frame[0] !== 1 || typeof frame[1] !== 'string' || frame.length !== 4) {
      this._emit('error', new DripdropClientError('frame is not an envelope', 'DD_ERR_DECODE_SHAPE'))
      return
    }
    /** @type {Envelope} */
    const msg = { name: frame[1], head: frame[2] ?? {}, body: revive(frame[3]) }
    const re = msg.head.$re
    if (typeof re === 'number') {
      const p = this._pending.get(re)
      if (!p) return
      this._pending.delete(re)
      clearTimeout(p.timer)
      if (msg.head.$err === true) {
        const e = /** @type {any} */ (msg.body) ?? {}
        p.reject(
          new DripdropClientError(
            String(e.message ?? 'remote error'),
            String(e.code ?? 'DD_ERR_HANDLER'),
            e.data,
          ),
        )
      } else p.resolve(msg)
      return
    }
    if (msg.name === HELLO) {
      this.id = /** @type {string} */ (msg.head.$conn)
      if (this._opened) this.reconnects++
      this._opened = true
      this._attempt = 0
      this.state = 'open'
      this._emit('open', { id: this.id })
      return
    }
    for (const key of [msg.name, '*']) {
      const set = this._handlers.get(key)
      if (set) for (const h of set) h(msg.body, msg)
    }
  }

  /**
   * @param {string} event
   * @param {unknown} info
   */
  _emit(event, info) {
    const set = this._events.get(event)
    if (set) for (const l of set) l(info)
  }

  /**
   * @param {string} code
   * @param {string} message
   * @param {Record<string, unknown>} [data]
   */
  _failPending(code, message, data) {
    for (const [id, p] of this._pending) {
      clearTimeout(p.timer)
      this._pending.delete(id)
      p.reject(new DripdropClientError(message, code, data))
    }
  }
}

// Byte arrays travel as { "$bin": "<base64>" } and look-alike objects as { "$esc": {…} } (the JSON codec's rules).
/** @param {unknown} value @returns {unknown} */
function revive(value) {
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map(revive)
  const obj = /** @type {Record<string, unknown>} */ (value)
  const keys = Object.keys(obj)
  if (keys.length === 1 && keys[0] === '$bin' && typeof obj.$bin === 'string') {
    const raw = atob(obj.$bin)
    const out = new Uint8Array(raw.length)
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i)
    return out
  }
  if (keys.length === 1 && keys[0] === '$esc')
    return Object.fromEntries(
      Object.entries(/** @type {object} */ (obj.$esc)).map(([k, v]) => [k, revive(v)]),
    )
  /** @type {Record<string, unknown>} */
  const out = {}
  for (const k of keys) out[k] = revive(obj[k])
  return out
}
