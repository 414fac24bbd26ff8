import { EventEmitter } from 'node:events'

/**
 * A typed `EventEmitter` over an event map (event → payload). It has no `error` event, and a listener that
 * throws is ignored, so emitting never throws (a supervisor's child-process callbacks emit).
 */
export class TypedEvents<M extends object> extends EventEmitter {
  override on<K extends keyof M & string>(event: K, listener: (payload: M[K]) => void): this {
    return super.on(event, listener)
  }

  override once<K extends keyof M & string>(event: K, listener: (payload: M[K]) => void): this {
    return super.once(event, listener)
  }

  override off<K extends keyof M & string>(event: K, listener: (payload: M[K]) => void): this {
    return super.off(event, listener)
  }

  /** Calls every listener, each in its own try/catch: one that throws neither escapes nor starves the others. */
  override emit<K extends keyof M & string>(event: K, payload: M[K]): boolean {
    const listeners = this.rawListeners(event) as ((payload: M[K]) => void)[]
    for (const listener of listeners) {
      try {
        listener.call(this, payload)
      } catch {}
    }
    return listeners.length > 0
  }
}
