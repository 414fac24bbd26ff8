import type { Envelope, HeadValue } from '@dripdrop/codec'
import type { Queue } from '@dripdrop/core'
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
}
