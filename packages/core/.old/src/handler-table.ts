import type { Handler } from './route.js'

/**
 * Handlers by message name, plus a catch-all (`'*'`). A route has one; its node has one more that the route
 * falls back to.
 */
export class HandlerTable {
  readonly #byName = new Map<string, Handler>()
  #catchAll: Handler | undefined

  /** Registers `handler` for `name`, or for every name without its own handler when `name` is `'*'`. */
  set(name: string, handler: Handler): void {
    if (typeof handler !== 'function') throw new TypeError('handler must be a function')
    if (name === '*') this.#catchAll = handler
    else this.#byName.set(name, handler)
  }

  /** Removes the handler of `name` (the catch-all with `'*'`). */
  delete(name: string): void {
    if (name === '*') this.#catchAll = undefined
    else this.#byName.delete(name)
  }

  /** The handler of `name`, else the catch-all. */
  get(name: string): Handler | undefined {
    return this.#byName.get(name) ?? this.#catchAll
  }
}
