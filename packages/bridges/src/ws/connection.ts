import type { Envelope, HeadValue } from '@dripdrop/codec'
import type { Queue } from '@dripdrop/core/internal'
import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'
import type { WsFormat } from './ws-frames.js'

/** Lifecycle of one server-side connection. */
export type ConnectionState = 'open' | 'closing' | 'closed'

/**
 * One browser (or other client) connected to a `ws-server` route. Its `id` is carried in the `$conn` head
 * key of every message it sends, and names it for `route.sendTo(id, …)`.
 */
export class Connection {
  /** Unique within the process: `<random>-<seq>`. */
  readonly id: string
  /** What `authorize` returned for this connection (an object), carried in head as `$auth`. */
  readonly auth: { [key: string]: HeadValue } | undefined
  /** Remote address and port, for logs. */
  readonly remote: string
  /** @internal */
  readonly ws: WebSocket
  /** Groups this connection is in. */
  readonly groups = new Set<string>()
  state: ConnectionState = 'open'
  /** Format of the frames sent to it: that of the last frame it sent (JSON text until then, unless negotiated). */
  format: WsFormat
  /** @internal answered the last ping (or sent something) */
  alive = true
  /** @internal envelopes read while the route was saturated, in order; set while reading is paused */
  held: Queue<Envelope> | undefined
  /** @internal its socket is corked until the end of this tick */
  corked = false

  constructor(id: string, ws: WebSocket, format: WsFormat, remote: string, auth: Connection['auth']) {
    this.id = id
    this.ws = ws
    this.format = format
    this.remote = remote
    this.auth = auth
  }

  // Frames written to one connection in the same tick (the replies to a burst of requests that arrived in one
  // TCP read, a broadcast loop) leave in one writev instead of one syscall each. `ws` exposes no public handle
  // on its net.Socket; `_socket` has been its name since ws 1.x.
  /** @internal corks the socket until the end of this tick */
  cork(): void {
    const socket = (this.ws as unknown as { _socket?: Socket })._socket
    if (socket === undefined || socket.destroyed) return
    this.corked = true
    socket.cork()
    process.nextTick(uncorkLater, this, socket)
  }

  /** @internal flushes now (a burst passed `CORK_FLUSH_BYTES`) */
  uncork(): void {
    const socket = (this.ws as unknown as { _socket?: Socket })._socket
    this.corked = false
    socket?.uncork()
  }
}

function uncorkLater(conn: Connection, socket: Socket): void {
  // An early uncork() already flushed; a second uncork would end a cork taken later in this tick.
  if (!conn.corked) return
  conn.corked = false
  socket.uncork()
}

/** A corked connection is flushed early once this many bytes wait, so a fast reader never looks slow. */
export const CORK_FLUSH_BYTES = 16 * 1024
