import { EventEmitter } from 'node:events'
import type { DripdropError } from '../errors.js'
import type { InstanceStatus } from '../store/store.js'

/** Payload of the `instance:*` events. */
export interface InstanceEvent {
  instance: string
  role: string
  /** The status before this change (`undefined` for an instance never seen before). */
  previous: InstanceStatus | undefined
  /** When the collector last heard from it, ms since the epoch. */
  lastSeen: number
}

/**
 * Events of a collector, namespaced with `:`.
 *
 * | event | when |
 * | --- | --- |
 * | `instance:up` | first heard of, or heard again after `suspect`/`down` |
 * | `instance:suspect` | `suspectAfterMissed` heartbeat intervals without a word |
 * | `instance:down` | `downAfterMissed` heartbeat intervals without a word |
 * | `instance:restarted` | a message with a newer `startedAt` (the process restarted) |
 * | `instance:left` | a goodbye: the process closed cleanly |
 * | `report:error` | a message was refused (`ReportError`, or a `DecodeError` of the frame) |
 * | `store:error` | the store failed to write (Redis down); the collector goes on from memory |
 */
export interface CollectorEventMap {
  'instance:up': InstanceEvent
  'instance:suspect': InstanceEvent
  'instance:down': InstanceEvent
  'instance:restarted': InstanceEvent & { startedAt: number; previousStartedAt: number }
  'instance:left': InstanceEvent
  'report:error': { error: DripdropError }
  'store:error': { error: DripdropError }
}

/** A typed `EventEmitter` over {@link CollectorEventMap}; it has no `error` event, so emitting never throws. */
export class CollectorEvents extends EventEmitter {
  override on<K extends keyof CollectorEventMap>(
    event: K,
    listener: (payload: CollectorEventMap[K]) => void,
  ): this {
    return super.on(event, listener)
  }

  override once<K extends keyof CollectorEventMap>(
    event: K,
    listener: (payload: CollectorEventMap[K]) => void,
  ): this {
    return super.once(event, listener)
  }

  override off<K extends keyof CollectorEventMap>(
    event: K,
    listener: (payload: CollectorEventMap[K]) => void,
  ): this {
    return super.off(event, listener)
  }

  override emit<K extends keyof CollectorEventMap>(event: K, payload: CollectorEventMap[K]): boolean {
    // A throwing listener must not break ingestion or the detector.
    try {
      return super.emit(event, payload)
    } catch {
      return true
    }
  }
}
