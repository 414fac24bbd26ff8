import type { Codec, CodecOptions } from './codec.js'
import { resolveMaxMessageBytes, TAG_BATCH_V1, TAG_ENVELOPE_V1 } from './codec.js'
import type { Envelope } from './envelope.js'
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
    return this.#check(
      `[${TAG_ENVELOPE_V1},${JSON.stringify(envelope.name)},${stringify(envelope.head)},${stringify(envelope.body)}]`,
    )
  }

  encodeBatch(envelopes: readonly Envelope[]): Uint8Array {
    return encoder.encode(this.encodeBatchText(envelopes))
  }

  /** Like {@link JsonCodec.encodeBatch} but returns the text itself. */
  encodeBatchText(envelopes: readonly Envelope[]): string {
    let text = `[${TAG_BATCH_V1}`
    for (const e of envelopes) {
      checkEnvelope(e)
      text += `,[${TAG_ENVELOPE_V1},${JSON.stringify(e.name)},${stringify(e.head)},${stringify(e.body)}]`
    }
    return this.#check(`${text}]`)
  }

  decode(frame: Uint8Array | string): Envelope {
    const text = this.#text(frame)
    return toEnvelope(this.#parse(text), text.length)
  }

  decodeBatch(frame: Uint8Array | string): Envelope[] {
    const text = this.#text(frame)
    return toBatch(this.#parse(text), text.length)
  }

  decodeFrame(frame: Uint8Array | string): Envelope | Envelope[] {
    const text = this.#text(frame)
    return toFrame(this.#parse(text), text.length)
  }

  encodeValue(value: unknown): Uint8Array {
    return encoder.encode(this.#check(stringify(value) ?? 'null'))
  }

  decodeValue(frame: Uint8Array | string): unknown {
    return this.#parse(this.#text(frame))
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
      throw new DecodeError('JSON frame is not valid UTF-8', 'DD_ERR_DECODE_MALFORMED', size, { cause })
    }
  }

  #parse(text: string): unknown {
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (cause) {
      const message = (cause as Error).message
      // V8 says "Unexpected end of JSON input", or names the position where it stopped: at the end means cut short.
      const at = /at position (\d+)/.exec(message)
      const truncated =
        /end of (json )?input|unterminated/i.test(message) || (at !== null && Number(at[1]) >= text.length)
      const code = truncated ? 'DD_ERR_DECODE_TRUNCATED' : 'DD_ERR_DECODE_MALFORMED'
      throw new DecodeError(`cannot parse JSON frame: ${message}`, code, text.length, { cause })
    }
    // Tagged objects can only exist where the text holds `"$`: skip the walk for the common frame without any.
    return text.includes('"$') ? revive(value, text.length) : value
  }
}

/** JSON.stringify, with byte arrays and look-alike objects tagged. Untouched values take the native fast path. */
function stringify(value: unknown): string {
  try {
    const text = JSON.stringify(needsTagging(value, 0) ? tag(value) : value)
    return text === undefined ? 'null' : text
  } catch (cause) {
    throw new EncodeError(
      `value cannot be encoded as JSON: ${(cause as Error).message}`,
      'DD_ERR_ENCODE_INVALID',
      {
        cause,
      },
    )
  }
}

function isTagLike(obj: object): boolean {
  let only: string | undefined
  for (const key in obj) {
    if (only !== undefined) return false
    only = key
  }
  return only === BIN || only === ESC
}

function needsTagging(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null) return typeof value === 'bigint'
  if (depth > 256) return true
  if (ArrayBuffer.isView(value)) return true
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (needsTagging(value[i], depth + 1)) return true
    return false
  }
  if (isTagLike(value)) return true
  for (const key in value) if (needsTagging((value as Record<string, unknown>)[key], depth + 1)) return true
  return false
}

function tag(value: unknown): unknown {
  if (typeof value === 'bigint') throw new TypeError('BigInt values cannot be encoded as JSON')
  if (typeof value !== 'object' || value === null) return value
  if (value instanceof Uint8Array)
    return { [BIN]: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
  if (ArrayBuffer.isView(value)) {
    return { [BIN]: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') }
  }
  if (Array.isArray(value)) return value.map(tag)
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value
  const out: Record<string, unknown> = {}
  for (const key in value) out[key] = tag((value as Record<string, unknown>)[key])
  return isTagLike(value) ? { [ESC]: out } : out
}

function revive(value: unknown, bytes: number): unknown {
  if (typeof value !== 'object' || value === null) return value
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = revive(value[i], bytes)
    return value
  }
  const obj = value as Record<string, unknown>
  if (isTagLike(obj)) {
    if (BIN in obj) {
      const b64 = obj[BIN]
      if (typeof b64 !== 'string')
        throw new DecodeError('$bin must hold a base64 string', 'DD_ERR_DECODE_SHAPE', bytes)
      const buf = Buffer.from(b64, 'base64')
      return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength)
    }
    const inner = obj[ESC]
    if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) {
      throw new DecodeError('$esc must hold an object', 'DD_ERR_DECODE_SHAPE', bytes)
    }
    for (const key in inner)
      (inner as Record<string, unknown>)[key] = revive((inner as Record<string, unknown>)[key], bytes)
    return inner
  }
  for (const key in obj) obj[key] = revive(obj[key], bytes)
  return obj
}
