import type { Codec, CodecOptions } from './codec.js'
import { resolveMaxMessageBytes, TAG_BATCH_V1, TAG_ENVELOPE_V1 } from './codec.js'
import type { Envelope } from './envelope.js'
import { isPlainObject } from './envelope.js'
import { DecodeError, EncodeError } from './errors.js'
import { checkEnvelope, toBatch, toEnvelope, toFrame } from './shape.js'

const BIN = '$bin'
const ESC = '$esc'
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * The text codec, for peers that speak only JSON (browsers, curl, shell scripts).
 *
 * Frames are the same arrays as msgpack, as JSON text: `[1,"name",{…},body]` and `[2,[1,…],[1,…]]`.
 * Byte arrays travel as `{"$bin":"<base64>"}`; an application object whose only key is `$bin` or `$esc` is
 * wrapped as `{"$esc":{…}}` so it round-trips unchanged. JSON has no `undefined`, `NaN` or `Infinity`: they
 * become `null` as `JSON.stringify` makes them.
 *
 * Decoding is strict: byte frames must be valid UTF-8, `$bin` must hold padded standard base64, `$esc` must
 * wrap an object whose only key is `$bin` or `$esc`, and a `__proto__` key is refused (`DD_ERR_DECODE_SHAPE`),
 * as the msgpack codec refuses it. Byte arrays decode as plain `Uint8Array`.
 *
 * @example
 * ```ts
 * const codec = new JsonCodec()
 * new TextDecoder().decode(codec.encode({ name: 'hi', head: {}, body: [1] })) // '[1,"hi",{},[1]]'
 * ```
 */
export class JsonCodec implements Codec {
  readonly name = 'json'
  readonly contentType = 'application/json'
  readonly binary = false
  readonly maxMessageBytes: number

  constructor(options?: CodecOptions) {
    this.maxMessageBytes = resolveMaxMessageBytes(options)
  }

  encode(envelope: Envelope): Uint8Array {
    return encoder.encode(this.encodeText(envelope))
  }

  /** Like {@link JsonCodec.encode} but returns the text itself (a WebSocket text frame). */
  encodeText(envelope: Envelope): string {
    checkEnvelope(envelope)
    // One JSON.stringify of the whole frame array: one native call and a flat string.
    return this.#check(stringify([TAG_ENVELOPE_V1, envelope.name, envelope.head, envelope.body]))
  }

  encodeBatch(envelopes: readonly Envelope[]): Uint8Array {
    return encoder.encode(this.encodeBatchText(envelopes))
  }

  /** Like {@link JsonCodec.encodeBatch} but returns the text itself. */
  encodeBatchText(envelopes: readonly Envelope[]): string {
    const frame = new Array<unknown>(envelopes.length + 1)
    frame[0] = TAG_BATCH_V1
    for (let i = 0; i < envelopes.length; i++) {
      const e = envelopes[i]
      checkEnvelope(e)
      frame[i + 1] = [TAG_ENVELOPE_V1, e.name, e.head, e.body]
    }
    return this.#check(stringify(frame))
  }

  decode(frame: Uint8Array | string): Envelope {
    const size = sizeOf(frame)
    return toEnvelope(this.#parse(this.#text(frame), size), size)
  }

  decodeBatch(frame: Uint8Array | string): Envelope[] {
    const size = sizeOf(frame)
    return toBatch(this.#parse(this.#text(frame), size), size)
  }

  decodeFrame(frame: Uint8Array | string): Envelope | Envelope[] {
    const size = sizeOf(frame)
    return toFrame(this.#parse(this.#text(frame), size), size)
  }

  encodeValue(value: unknown): Uint8Array {
    return encoder.encode(this.#check(stringify(value)))
  }

  decodeValue(frame: Uint8Array | string): unknown {
    return this.#parse(this.#text(frame), sizeOf(frame))
  }

  #check(text: string): string {
    // UTF-8 is at most 3 bytes per UTF-16 unit; only measure exactly when the cheap bound says it may be over.
    if (text.length * 3 > this.maxMessageBytes) {
      const size = Buffer.byteLength(text)
      if (size > this.maxMessageBytes) {
        throw new EncodeError(
          `frame of ${size} bytes exceeds maxMessageBytes (${this.maxMessageBytes})`,
          'DD_ERR_ENCODE_TOO_LARGE',
        )
      }
    }
    return text
  }

  #text(frame: Uint8Array | string): string {
    let size: number
    if (typeof frame === 'string')
      size = frame.length * 3 > this.maxMessageBytes ? Buffer.byteLength(frame) : 0
    else if (frame instanceof Uint8Array) size = frame.byteLength
    else throw new DecodeError('frame must be a string or a Uint8Array', 'DD_ERR_DECODE_MALFORMED', 0)
    if (size > this.maxMessageBytes) {
      throw new DecodeError(
        `frame of ${size} bytes exceeds maxMessageBytes (${this.maxMessageBytes})`,
        'DD_ERR_DECODE_TOO_LARGE',
        size,
      )
    }
    if (typeof frame === 'string') return frame
    try {
      return decoder.decode(frame)
    } catch (cause) {
      const code = endsMidCharacter(frame) ? 'DD_ERR_DECODE_TRUNCATED' : 'DD_ERR_DECODE_MALFORMED'
      throw new DecodeError('JSON frame is not valid UTF-8', code, size, { cause })
    }
  }

  #parse(text: string, size: number): unknown {
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (cause) {
      const message = (cause as Error).message
      // V8 says "Unexpected end of JSON input", or names the offending position: at the end means cut short
      // ("Unterminated string in JSON at position 4" for `[1,"`; "Unterminated fractional number" for `1.x` is not).
      const at = /at position (\d+)/.exec(message)
      const truncated = /end of JSON input/.test(message) || (at !== null && Number(at[1]) >= text.length)
      const code = truncated ? 'DD_ERR_DECODE_TRUNCATED' : 'DD_ERR_DECODE_MALFORMED'
      throw new DecodeError(`cannot parse JSON frame: ${message}`, code, size, { cause })
    }
    // A `$bin`/`$esc` key or a `__proto__` key is written either as is or with a `\u` escape (`"\u0024bin"` is the
    // key `$bin`; JSON has no other escape for these characters). Text without any of them needs no walk, and that
    // is every frame without byte arrays. (`"$` alone would not do: nearly every head has `$id`.)
    return hasTagWord(text) || text.includes('\\u') || text.includes('__proto__')
      ? reviveFrame(value, size)
      : value
  }
}

// True when the bytes are valid UTF-8 but for a last character cut short: the frame was truncated.
function endsMidCharacter(bytes: Uint8Array): boolean {
  let start = bytes.length - 1
  while (start >= 0 && bytes.length - start <= 3 && (bytes[start] & 0xc0) === 0x80) start--
  if (start < 0) return false
  const lead = bytes[start]
  const length =
    lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 1
  if (length <= bytes.length - start) return false
  try {
    decoder.decode(bytes.subarray(0, start))
    return true
  } catch {
    return false
  }
}

// The size reported in a DecodeError: bytes, or UTF-16 units for a string (exact bytes would cost a pass).
function sizeOf(frame: Uint8Array | string): number {
  return typeof frame === 'string' ? frame.length : frame instanceof Uint8Array ? frame.byteLength : 0
}

/**
 * JSON.stringify, with byte arrays and look-alike objects tagged. Plain data, the common case, costs one walk
 * and the native JSON.stringify of the value itself.
 */
function stringify(value: unknown): string {
  try {
    const tagged =
      typeof value === 'object' && value !== null && (ArrayBuffer.isView(value) || needsTagging(value, 0))
    return JSON.stringify(tagged ? tag(value) : value) ?? 'null'
  } catch (cause) {
    throw new EncodeError(
      `value cannot be encoded as JSON: ${(cause as Error).message}`,
      'DD_ERR_ENCODE_INVALID',
      { cause },
    )
  }
}

function isTagKey(key: string | undefined): boolean {
  return key === BIN || key === ESC
}

// True when the text holds `$bin"` or `$esc"`. Searching for the one character `$` is much faster than for a
// word, and `$` is rare: in a dripdrop frame mostly the `$id`/`$re` head keys, which the `"` test skips.
function hasTagWord(text: string): boolean {
  for (let i = text.indexOf('$'); i !== -1; i = text.indexOf('$', i + 1)) {
    if (text.charCodeAt(i + 4) !== 0x22) continue
    const a = text.charCodeAt(i + 1)
    const b = text.charCodeAt(i + 2)
    const c = text.charCodeAt(i + 3)
    if ((a === 0x62 && b === 0x69 && c === 0x6e) || (a === 0x65 && b === 0x73 && c === 0x63)) return true
  }
  return false
}

// One pass over an object or array: true when it holds a byte array (any ArrayBufferView) or an object whose
// only key is `$bin` or `$esc`. Children are tested inline before recursing (a call per leaf saved), and an
// object's keys are only counted when it has a `$bin` or `$esc` property at all. (Scanning JSON.stringify's
// output for `$bin"` instead measured slower.)
function needsTagging(value: object, depth: number): boolean {
  if (depth > 256) return true // deep or cyclic: let tag() and JSON.stringify report it
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const item = value[i]
      if (
        typeof item === 'object' &&
        item !== null &&
        (ArrayBuffer.isView(item) || needsTagging(item, depth + 1))
      ) {
        return true
      }
    }
    return false
  }
  const obj = value as Record<string, unknown>
  if ((obj[BIN] !== undefined || obj[ESC] !== undefined) && isTagLike(obj)) return true
  for (const key in obj) {
    const item = obj[key]
    if (
      typeof item === 'object' &&
      item !== null &&
      (ArrayBuffer.isView(item) || needsTagging(item, depth + 1))
    ) {
      return true
    }
  }
  return false
}

// True when JSON.stringify would write the object as `{"$bin":…}` or `{"$esc":…}`: its only member that JSON
// keeps (not undefined, a function or a symbol, which JSON.stringify leaves out) is `$bin` or `$esc`.
function isTagLike(obj: Record<string, unknown>): boolean {
  let count = 0
  let only: string | undefined
  for (const key in obj) {
    if (!Object.hasOwn(obj, key) || !isWritten(obj[key])) continue
    if (++count > 1) return false
    only = key
  }
  return count === 1 && isTagKey(only)
}

function isWritten(value: unknown): boolean {
  return value !== undefined && typeof value !== 'function' && typeof value !== 'symbol'
}

function tag(value: unknown): unknown {
  if (typeof value === 'bigint') throw new TypeError('BigInt values cannot be encoded as JSON')
  if (typeof value !== 'object' || value === null) return value
  if (ArrayBuffer.isView(value)) {
    return { [BIN]: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
  }
  if (Array.isArray(value)) return value.map(tag)
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value
  const keys = Object.keys(value)
  const out: Record<string, unknown> = {}
  for (const key of keys) {
    const tagged = tag((value as Record<string, unknown>)[key])
    // `out.__proto__ = x` would call the setter and replace out's prototype instead of adding the key.
    if (key === '__proto__') {
      Object.defineProperty(out, key, { value: tagged, enumerable: true, writable: true, configurable: true })
    } else out[key] = tagged
  }
  return isTagLike(value as Record<string, unknown>) ? { [ESC]: out } : out
}

function reviveFrame(value: unknown, bytes: number): unknown {
  try {
    return revive(value, bytes)
  } catch (err) {
    if (err instanceof DecodeError) throw err
    // JSON.parse is iterative and accepts any depth; this walk is recursive and runs out of stack first.
    throw new DecodeError('JSON frame is nested too deeply', 'DD_ERR_DECODE_SHAPE', bytes, { cause: err })
  }
}

function revive(value: unknown, bytes: number): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i], bytes)
    return value
  }
  const obj = value as Record<string, unknown>
  let only: string | undefined
  let many = false
  for (const key in obj) {
    if (only !== undefined) {
      many = true
      break
    }
    only = key
  }
  if (!many && isTagKey(only))
    return only === BIN ? fromBase64(obj[BIN], bytes) : unwrapEscape(obj[ESC], bytes)
  for (const key in obj) {
    // JSON.parse makes `__proto__` an own key, harmless here, but the msgpack decoder refuses it and so does
    // this one: code that later copies the object with Object.assign would set a prototype instead.
    if (key === '__proto__') throw new DecodeError('__proto__ keys are refused', 'DD_ERR_DECODE_SHAPE', bytes)
    obj[key] = revive(obj[key], bytes)
  }
  return obj
}

// `{"$esc":{"$bin":…}}` is the application object `{"$bin":…}`: the escape only ever wraps such an object.
function unwrapEscape(inner: unknown, bytes: number): Record<string, unknown> {
  if (!isPlainObject(inner)) throw new DecodeError('$esc must hold an object', 'DD_ERR_DECODE_SHAPE', bytes)
  const keys = Object.keys(inner)
  if (keys.length !== 1 || !isTagKey(keys[0])) {
    throw new DecodeError(
      '$esc must hold an object whose only key is $bin or $esc',
      'DD_ERR_DECODE_SHAPE',
      bytes,
    )
  }
  inner[keys[0]] = revive(inner[keys[0]], bytes)
  return inner
}

// Standard base64 (RFC 4648 section 4) with padding, nothing else. Buffer.from skips characters outside the
// alphabet and stops at the first `=`, so a decoded length other than the one the text promises means the text
// was not clean base64; Buffer.from also takes the URL-safe alphabet, refused here. Cheaper than a regex.
function fromBase64(b64: unknown, bytes: number): Uint8Array {
  if (typeof b64 !== 'string')
    throw new DecodeError('$bin must hold a base64 string', 'DD_ERR_DECODE_SHAPE', bytes)
  const n = b64.length
  const pad = n === 0 || b64.charCodeAt(n - 1) !== 0x3d ? 0 : b64.charCodeAt(n - 2) === 0x3d ? 2 : 1
  const buf = Buffer.from(b64, 'base64')
  if (n % 4 !== 0 || buf.byteLength !== (n / 4) * 3 - pad || b64.includes('-') || b64.includes('_')) {
    throw new DecodeError('$bin must hold padded standard base64', 'DD_ERR_DECODE_SHAPE', bytes)
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
}
