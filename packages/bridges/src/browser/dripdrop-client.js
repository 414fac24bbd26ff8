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
 *   timeoutMs?: number, highWaterMark?: number, maxQueueBytes?: number }} ClientOptions
 * @typedef {{ frame: string, size: number, done: ((err?: Error) => void) | undefined }} Outgoing
 */

/**
 * Opens a client. Options: `token` (sent as `?token=`), `reconnect` (default true), `reconnectMinMs`
 * (100), `reconnectMaxMs` (10000), `timeoutMs` for requests (10000), `highWaterMark` frames queued here
 * (1000) and `maxQueueBytes` bytes queued here plus what the socket has not sent (`bufferedAmount`, 4 MiB):
 * past either, `send` returns a promise that resolves once its frame is handed to the socket (as the Node
 * `ws-client` does).
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
      maxQueueBytes: options.maxQueueBytes ?? 4 * 1024 * 1024,
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
    /** @type {Outgoing[]} frames waiting for the connection or for room on the socket */
    this._queue = []
    this._queuedBytes = 0
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this._roomTimer = undefined
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
   * Bytes waiting to be sent: frames queued here plus what the socket has not sent yet (`bufferedAmount`).
   * Sends wait for room once this passes `maxQueueBytes`.
   */
  get bufferedBytes() {
    const ws = this._ws
    return this._queuedBytes + (ws && ws.readyState === 1 ? ws.bufferedAmount : 0)
  }

  /**
   * Sends one message. Written at once while connected with room on the socket; otherwise queued (while
   * disconnected it is sent once after reconnecting). Past `highWaterMark` frames or `maxQueueBytes` bytes
   * waiting, returns a promise that resolves once the frame is handed to the socket, or rejects with
   * `DD_ERR_CLOSED` / `DD_ERR_WS_UNAUTHORIZED` if it never will be: `await` it to slow down with the network.
   * @param {string} name
   * @param {unknown} [body]
   * @param {Record<string, unknown>} [head]
   * @returns {void | Promise<void>}
   */
  send(name, body = null, head = {}) {
    if (this.state === 'closed') throw this._closedError()
    return this._write(JSON.stringify([1, name, head, body === undefined ? null : body]))
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
      const fail = (/** @type {Error} */ err) => {
        if (!this._pending.has(id)) return
        clearTimeout(timer)
        this._pending.delete(id)
        reject(err)
      }
      try {
        const admitted = this.send(name, body, { ...(options.head ?? {}), $id: id })
        if (admitted) admitted.catch(fail)
      } catch (err) {
        fail(/** @type {Error} */ (err))
      }
    })
  }

  /** Closes for good: no reconnect; pending requests and waiting sends fail with `DD_ERR_CLOSED`. */
  close() {
    this.state = 'closed'
    clearTimeout(this._timer)
    this._failPending('DD_ERR_CLOSED', 'client closed')
    this._failQueue(new DripdropClientError('client closed', 'DD_ERR_CLOSED'))
    this._ws?.close(1000)
  }

  /**
   * @param {string} frame
   * @returns {void | Promise<void>}
   */
  _write(frame) {
    const size = utf8Length(frame)
    const ws = this._ws
    if (ws && ws.readyState === 1 && this._queue.length === 0 && this._hasRoom(ws, size)) {
      ws.send(frame)
      return
    }
    if (
      this._queue.length < this.options.highWaterMark &&
      this.bufferedBytes + size <= this.options.maxQueueBytes
    ) {
      this._enqueue({ frame, size, done: undefined })
      return
    }
    return new Promise((resolve, reject) =>
      this._enqueue({ frame, size, done: (err) => (err ? reject(err) : resolve()) }),
    )
  }

  /**
   * Room on the socket for `size` more bytes; one frame always fits an empty socket.
   * @param {WebSocket} ws
   * @param {number} size
   */
  _hasRoom(ws, size) {
    const buffered = ws.bufferedAmount
    return buffered === 0 || buffered + size <= this.options.maxQueueBytes
  }

  /** @param {Outgoing} item */
  _enqueue(item) {
    this._queue.push(item)
    this._queuedBytes += item.size
    if (this._ws && this._ws.readyState === 1) this._waitForRoom()
  }

  /** Hands queued frames to the open socket while it has room; each frame once, then forgotten. */
  _flush() {
    const ws = this._ws
    while (this._queue.length > 0 && ws && ws.readyState === 1) {
      const item = this._queue[0]
      if (!this._hasRoom(ws, item.size)) {
        this._waitForRoom()
        return
      }
      this._queue.shift()
      this._queuedBytes -= item.size
      ws.send(item.frame)
      item.done?.()
    }
  }

  /** Browsers have no drain event: look at `bufferedAmount` again shortly, while frames wait. */
  _waitForRoom() {
    if (this._roomTimer !== undefined) return
    this._roomTimer = setTimeout(() => {
      this._roomTimer = undefined
      this._flush()
    }, 10)
  }

  /** @param {Error} err */
  _failQueue(err) {
    const queued = this._queue
    this._queue = []
    this._queuedBytes = 0
    for (const item of queued) item.done?.(err)
  }

  _open() {
    const ws = new WebSocket(this.url, ['dripdrop.json'])
    this._ws = ws
    ws.onopen = () => {
      // Each queued frame is handed to the socket once, then forgotten: nothing is sent twice.
      this._flush()
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
        this._failQueue(this._refusal)
        this._failPending('DD_ERR_WS_UNAUTHORIZED', this._refusal.message, { status })
        this._emit('error', this._refusal)
        this._emit('close', { code: event.code, reason: event.reason })
        return
      }
      this._failPending('DD_ERR_WS_DISCONNECTED', 'connection closed before the reply')
      if (wasOpen || this.state === 'closed') this._emit('close', { code: event.code, reason: event.reason })
      if (this.state === 'closed' || !this.options.reconnect) {
        this.state = 'closed'
        this._failQueue(new DripdropClientError('connection closed, no reconnect', 'DD_ERR_CLOSED'))
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

/**
 * The UTF-8 length of a string (what `bufferedAmount` counts), without encoding it.
 * @param {string} text
 */
function utf8Length(text) {
  let n = text.length
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) continue
    if (c < 0x800) n += 1
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 2 // a surrogate pair: 4 bytes for 2 UTF-16 units
      i++
    } else n += 2
  }
  return n
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
