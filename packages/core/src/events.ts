import { EventEmitter } from 'node:events'
import type { DripdropError } from './errors.js'

/**
 * Events of a node, namespaced with `:`. Listen with `node.events.on('route:error', …)`.
 *
 * | event | when |
 * | --- | --- |
 * | `route:open` | a route bound and connected |
 * | `route:listening` | a bound endpoint is ready (real port included) |
 * | `route:connect` / `route:disconnect` | a peer connection came up or went down |
 * | `route:error` | a transport error, e.g. a malformed frame (`DecodeError`), a failed bind |
 * | `handler:error` | a handler threw; requests get the error as their reply |
 * | `message:unhandled` | a message found no handler |
 * | `reply:unmatched` | a reply whose request id is unknown or expired |
 * | `request:expired` | a request arrived after its deadline (`$dl`) and was dropped unanswered |
 * | `node:closed` | `close()` or `destroy()` finished |
 */
export interface NodeEventMap {
  'route:open': { route: string; endpoints: readonly string[] }
  'route:listening': { route: string; endpoint: string }
  'route:connect': { route: string; endpoint: string }
  'route:disconnect': { route: string; endpoint: string }
  'route:error': { route: string; error: DripdropError; endpoint?: string }
  'handler:error': { route: string; name: string; error: unknown }
  'message:unhandled': { route: string; name: string }
  'reply:unmatched': { route: string; id: unknown }
  /** `deadline`: the request's `$dl` (Unix epoch ms); `lateMs`: how long before it arrived it had expired. */
  'request:expired': { route: string; name: string; id: unknown; deadline: number; lateMs: number }
  'node:closed': { node: string; dropped: number }
}

/** A typed `EventEmitter` over {@link NodeEventMap}. It has no `error` event, so nothing it emits can throw. */
export class NodeEvents extends EventEmitter {
  override on<K extends keyof NodeEventMap>(event: K, listener: (payload: NodeEventMap[K]) => void): this {
    return super.on(event, listener)
  }

  override once<K extends keyof NodeEventMap>(event: K, listener: (payload: NodeEventMap[K]) => void): this {
    return super.once(event, listener)
  }

  override off<K extends keyof NodeEventMap>(event: K, listener: (payload: NodeEventMap[K]) => void): this {
    return super.off(event, listener)
  }

  override emit<K extends keyof NodeEventMap>(event: K, payload: NodeEventMap[K]): boolean {
    return super.emit(event, payload)
  }
}
