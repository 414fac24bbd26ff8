import type { DecodeErrorCode } from './errors.js'
import { DecodeError, EncodeError } from './errors.js'
import type { Envelope, Head } from './envelope.js'
import { isPlainObject } from './envelope.js'
import { TAG_BATCH_V1, TAG_ENVELOPE_V1 } from './codec.js'

// Shared by the msgpack and JSON codecs, which carry the same arrays, `[1, name, head, body]` and
// `[2, env, env, …]`; the BERT codec reads its tuples itself and shares only checkEnvelope.

function fail(message: string, code: DecodeErrorCode, bytes: number): never {
  throw new DecodeError(message, code, bytes)
}

/** Validates one decoded `[1, name, head, body]` array and returns the envelope. */
export function toEnvelope(value: unknown, bytes: number): Envelope {
  if (!Array.isArray(value)) return fail('frame is not an array', 'DD_ERR_DECODE_SHAPE', bytes)
  if (value[0] !== TAG_ENVELOPE_V1) return badTag(value[0], TAG_ENVELOPE_V1, bytes)
  if (value.length !== 4) {
    return fail(`envelope must have 4 elements, got ${value.length}`, 'DD_ERR_DECODE_SHAPE', bytes)
  }
  const name = value[1]
  if (typeof name !== 'string' || name.length === 0) {
    return fail('envelope name must be a non-empty string', 'DD_ERR_DECODE_SHAPE', bytes)
  }
  const head = value[2]
  if (!isPlainObject(head)) return fail('envelope head must be a map', 'DD_ERR_DECODE_SHAPE', bytes)
  return { name, head: head as Head, body: value[3] }
}

/** Validates a decoded `[2, env, env, …]` array. */
export function toBatch(value: unknown, bytes: number): Envelope[] {
  if (!Array.isArray(value)) return fail('frame is not an array', 'DD_ERR_DECODE_SHAPE', bytes)
  if (value[0] !== TAG_BATCH_V1) return badTag(value[0], TAG_BATCH_V1, bytes)
  const out = new Array<Envelope>(value.length - 1)
  for (let i = 1; i < value.length; i++) out[i - 1] = toEnvelope(value[i], bytes)
  return out
}

/** Validates either kind of frame. */
export function toFrame(value: unknown, bytes: number): Envelope | Envelope[] {
  if (Array.isArray(value) && value[0] === TAG_BATCH_V1) return toBatch(value, bytes)
  return toEnvelope(value, bytes)
}

// A known tag in the wrong place (a batch given to `decode`, a batch inside a batch) is a shape error; only a
// number this peer does not know means the sender speaks another protocol version.
function badTag(tag: unknown, expected: number, bytes: number): never {
  if (tag === TAG_ENVELOPE_V1 || tag === TAG_BATCH_V1) {
    const kind = (t: number) => (t === TAG_BATCH_V1 ? 'a batch' : 'one envelope')
    return fail(
      `expected ${kind(expected)} (tag ${expected}), got ${kind(tag)} (tag ${tag})`,
      'DD_ERR_DECODE_SHAPE',
      bytes,
    )
  }
  if (typeof tag === 'number') {
    return fail(`unknown frame tag ${tag} (this peer speaks tags 1 and 2)`, 'DD_ERR_DECODE_VERSION', bytes)
  }
  return fail('frame does not start with a numeric tag', 'DD_ERR_DECODE_SHAPE', bytes)
}

/** Checks what `encode` is given, so a bad envelope fails at the sender with a clear message. */
export function checkEnvelope(envelope: Envelope): void {
  if (typeof envelope !== 'object' || envelope === null) {
    throw new EncodeError('envelope must be an object { name, head, body }', 'DD_ERR_ENCODE_INVALID')
  }
  if (typeof envelope.name !== 'string' || envelope.name.length === 0) {
    throw new EncodeError('envelope.name must be a non-empty string', 'DD_ERR_ENCODE_INVALID')
  }
  if (!isPlainObject(envelope.head))
    throw new EncodeError('envelope.head must be a plain object', 'DD_ERR_ENCODE_INVALID')
}
