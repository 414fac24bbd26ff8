/**
 * A value allowed in an envelope's `head`: plain data only, so every codec and every language can carry it.
 */
export type HeadValue =
  | string
  | number
  | boolean
  | null
  | Uint8Array
  | readonly HeadValue[]
  | { readonly [key: string]: HeadValue }

/**
 * The envelope's metadata: ids, correlation, timestamps, routing. Keys that start with `$` are reserved for
 * dripdrop itself (`$id`, `$re`, `$err`, …, see `docs/protocol.md`); everything else belongs to the application.
 */
export type Head = { [key: string]: HeadValue }

/**
 * The one message type every dripdrop socket carries.
 *
 * - `name`: a non-empty string; handlers and pub/sub topics are chosen by it.
 * - `head`: a map of string keys to plain values.
 * - `body`: any value msgpack can carry, `Uint8Array`/`Buffer` included.
 *
 * @example
 * ```ts
 * const msg: Envelope<{ id: number }> = { name: 'job.created', head: {}, body: { id: 7 } }
 * ```
 */
export interface Envelope<B = unknown> {
  name: string
  head: Head
  body: B
}

/** A shared empty head. Never mutate it: {@link envelope} hands it out when no head is given. */
export const EMPTY_HEAD: Head = Object.freeze({}) as Head

/**
 * Builds an envelope. The head defaults to a shared frozen empty object, so a message without metadata costs
 * no allocation beyond the envelope itself.
 *
 * @example
 * ```ts
 * route.send(envelope('tick', { n: 1 }))
 * ```
 */
export function envelope<B>(name: string, body: B, head: Head = EMPTY_HEAD): Envelope<B> {
  return { name, head, body }
}

/** True when `value` is a plain object (not an array, not a byte array, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object') return false
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}
