import { AddressInUseError, type DripdropError, TransportError } from './errors.js'
import type { Routing } from './wire.js'

// Small helpers of the route socket: routing parts, batch frames, bind errors.

/** True for the `from` a ROUTER message gave: a non-empty list of byte parts. */
export function isRouting(to: unknown): to is Routing {
  return Array.isArray(to) && to.length > 0 && to.every((p) => p instanceof Uint8Array)
}

/** True when two routings name the same peer (byte-equal parts). */
export function sameRouting(a: Routing, b: Routing | undefined): boolean {
  if (a === b) return true
  if (b === undefined || a.length !== b.length) return false
  for (let i = 0; i < a.length; i++)
    if (!Buffer.from(a[i].buffer, a[i].byteOffset, a[i].byteLength).equals(b[i])) return false
  return true
}

/**
 * Envelopes in a frame. msgpack: a batch frame starts with an array header whose first element is 2; count
 * its elements.
 */
export function countEnvelopes(frame: Uint8Array): number {
  const b0 = frame[0]
  if (b0 >= 0x92 && b0 <= 0x9f && frame[1] === 2) return (b0 & 0x0f) - 1
  if (b0 === 0xdc && frame[3] === 2) return ((frame[1] << 8) | frame[2]) - 1
  return 1
}

/** The coded error of a failed bind or connect (`DD_ERR_ADDRESS_IN_USE`, else `DD_ERR_TRANSPORT`). */
export function bindError(route: string, err: unknown): DripdropError {
  const e = err as { code?: string; address?: string; message?: string }
  if (e.code === 'EADDRINUSE')
    return new AddressInUseError(`route "${route}": ${e.address ?? 'address'} is already in use`, err)
  return new TransportError(`route "${route}": bind/connect failed: ${e.message ?? String(err)}`, err)
}
