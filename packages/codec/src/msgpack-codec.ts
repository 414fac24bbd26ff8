import { Decoder, Encoder } from '@msgpack/msgpack'
import type { Codec, CodecOptions } from './codec.js'
import { resolveMaxMessageBytes, TAG_BATCH_V1, TAG_ENVELOPE_V1 } from './codec.js'
import type { Envelope } from './envelope.js'
import { DecodeError, EncodeError } from './errors.js'
import { scanMsgpack } from './msgpack-scan.js'
import { checkEnvelope, toBatch, toEnvelope, toFrame } from './shape.js'

/** Bodies at least this large are spliced into the frame by hand, so their bytes are copied exactly once. */
const SPLICE_MIN_BYTES = 1024
const NIL = 0xc0
const MAX_BIN_BYTES = 0xffffffff
/** After a frame larger than this, the encoder is replaced so its grown buffer does not stay allocated. */
const ENCODER_KEEP_BYTES = 1024 * 1024

/**
 * The default codec: MessagePack via `@msgpack/msgpack`.
 *
 * A frame is the msgpack array `[1, name, head, body]`; a batch is `[2, [1, name, head, body], …]`
 * (see `docs/protocol.md`). Binary values decode as plain `Uint8Array` views into the frame (no copy), also when
 * the frame is a `Buffer`: keep the frame alive as long as you keep the view, and copy it if you mutate the frame.
 *
 * Decoding is strict: the frame is first walked without allocating to check that it holds exactly one complete
 * value and that every length it claims fits in it, so hostile headers cannot make the decoder allocate more
 * than a few words per frame byte. Map keys must be strings (or numbers, which become strings); a `__proto__`
 * key is refused (`DD_ERR_DECODE_SHAPE`). Ext type -1 (timestamp) decodes as a `Date`, other ext types as
 * `ExtData`. Values nested deeper than 100 levels cannot be encoded (`DD_ERR_ENCODE_INVALID`).
 *
 * @example
 * ```ts
 * const codec = new MsgpackCodec({ maxMessageBytes: 1 << 20 })
 * const frame = codec.encode({ name: 'hello', head: {}, body: Buffer.from('hi') })
 * codec.decode(frame) // { name: 'hello', head: {}, body: Uint8Array [104, 105] }
 * ```
 */
export class MsgpackCodec implements Codec {
  readonly name = 'msgpack'
  readonly contentType = 'application/msgpack'
  readonly binary = true
  readonly maxMessageBytes: number
  // One encoder and one decoder per codec: @msgpack/msgpack grows and reuses their buffers, so steady-state
  // encoding allocates only the returned frame. The encoder's buffer never shrinks, hence ENCODER_KEEP_BYTES.
  #encoder = new Encoder()
  readonly #decoder: Decoder

  constructor(options?: CodecOptions) {
    this.maxMessageBytes = resolveMaxMessageBytes(options)
    this.#decoder = new Decoder({ maxBinLength: this.maxMessageBytes, maxStrLength: this.maxMessageBytes })
  }

  encode(envelope: Envelope): Uint8Array {
    checkEnvelope(envelope)
    const body = envelope.body
    if (body instanceof Uint8Array && body.byteLength >= SPLICE_MIN_BYTES) {
      return this.#spliceBinary(envelope.name, envelope, body)
    }
    return this.#finish(this.#run([TAG_ENVELOPE_V1, envelope.name, envelope.head, body], false))
  }

  encodeBatch(envelopes: readonly Envelope[]): Uint8Array {
    const frame = new Array<unknown>(envelopes.length + 1)
    frame[0] = TAG_BATCH_V1
    for (let i = 0; i < envelopes.length; i++) {
      const e = envelopes[i]
      checkEnvelope(e)
      frame[i + 1] = [TAG_ENVELOPE_V1, e.name, e.head, e.body]
    }
    return this.#finish(this.#run(frame, false))
  }

  decode(frame: Uint8Array | string): Envelope {
    const bytes = this.#bytes(frame)
    return toEnvelope(this.#parse(bytes), bytes.byteLength)
  }

  decodeBatch(frame: Uint8Array | string): Envelope[] {
    const bytes = this.#bytes(frame)
    return toBatch(this.#parse(bytes), bytes.byteLength)
  }

  decodeFrame(frame: Uint8Array | string): Envelope | Envelope[] {
    const bytes = this.#bytes(frame)
    return toFrame(this.#parse(bytes), bytes.byteLength)
  }

  encodeValue(value: unknown): Uint8Array {
    return this.#finish(this.#run(value, false))
  }

  decodeValue(frame: Uint8Array | string): unknown {
    return this.#parse(this.#bytes(frame))
  }

  // The body is a large byte array: encode the rest with a nil placeholder as the last element, then write
  // the bin header and the body straight into the output. The body is copied once instead of twice.
  #spliceBinary(name: string, envelope: Envelope, body: Uint8Array): Uint8Array {
    const prefix = this.#run([TAG_ENVELOPE_V1, name, envelope.head, null], true)
    const n = body.byteLength
    if (n > MAX_BIN_BYTES)
      throw new EncodeError(`binary body of ${n} bytes exceeds msgpack's bin 32`, 'DD_ERR_ENCODE_INVALID')
    const header = n < 0x100 ? 2 : n < 0x10000 ? 3 : 5
    const size = prefix.byteLength - 1 + header + n
    if (size > this.maxMessageBytes) throw this.#tooLarge(size)
    const out = new Uint8Array(size)
    let at = prefix.byteLength - 1
    if (prefix[at] !== NIL)
      throw new EncodeError('internal: unexpected envelope prefix', 'DD_ERR_ENCODE_INVALID')
    out.set(prefix.subarray(0, at), 0)
    if (header === 2) {
      out[at++] = 0xc4
      out[at++] = n
    } else if (header === 3) {
      out[at++] = 0xc5
      out[at++] = n >>> 8
      out[at++] = n & 0xff
    } else {
      out[at++] = 0xc6
      out[at++] = n >>> 24
      out[at++] = (n >>> 16) & 0xff
      out[at++] = (n >>> 8) & 0xff
      out[at++] = n & 0xff
    }
    out.set(body, at)
    return out
  }

  #run(value: unknown, shared: boolean): Uint8Array {
    try {
      const out = shared ? this.#encoder.encodeSharedRef(value) : this.#encoder.encode(value)
      // A shared ref stays valid: the old encoder is dropped, never reused.
      if (out.byteLength > ENCODER_KEEP_BYTES) this.#encoder = new Encoder()
      return out
    } catch (cause) {
      throw new EncodeError(
        `value cannot be encoded as msgpack: ${(cause as Error).message}`,
        'DD_ERR_ENCODE_INVALID',
        {
          cause,
        },
      )
    }
  }

  #finish(frame: Uint8Array): Uint8Array {
    if (frame.byteLength > this.maxMessageBytes) throw this.#tooLarge(frame.byteLength)
    return frame
  }

  #tooLarge(size: number): EncodeError {
    return new EncodeError(
      `frame of ${size} bytes exceeds maxMessageBytes (${this.maxMessageBytes})`,
      'DD_ERR_ENCODE_TOO_LARGE',
    )
  }

  #bytes(frame: Uint8Array | string): Uint8Array {
    if (typeof frame === 'string') {
      throw new DecodeError(
        'msgpack frames are binary, got a string',
        'DD_ERR_DECODE_MALFORMED',
        frame.length,
      )
    }
    if (!(frame instanceof Uint8Array)) {
      throw new DecodeError('frame must be a Uint8Array', 'DD_ERR_DECODE_MALFORMED', 0)
    }
    if (frame.byteLength > this.maxMessageBytes) {
      throw new DecodeError(
        `frame of ${frame.byteLength} bytes exceeds maxMessageBytes (${this.maxMessageBytes})`,
        'DD_ERR_DECODE_TOO_LARGE',
        frame.byteLength,
      )
    }
    if (frame.byteLength === 0) throw new DecodeError('empty frame', 'DD_ERR_DECODE_TRUNCATED', 0)
    // A Buffer's subarray() is a Buffer: view the same memory as a plain Uint8Array so binary values decode as
    // Uint8Array whatever the transport hands us.
    if (frame.constructor !== Uint8Array)
      return new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength)
    return frame
  }

  #parse(bytes: Uint8Array): unknown {
    scanMsgpack(bytes)
    try {
      return this.#decoder.decode(bytes)
    } catch (cause) {
      // The scan has ruled out short and malformed frames: what is left is a map key that is not a string or
      // number, a `__proto__` key, or an ext value its decoder refuses (a timestamp of the wrong size).
      const message = cause instanceof Error ? cause.message : String(cause)
      const code = /__proto__|type of key/.test(message) ? 'DD_ERR_DECODE_SHAPE' : 'DD_ERR_DECODE_MALFORMED'
      throw new DecodeError(`cannot decode msgpack frame: ${message}`, code, bytes.byteLength, { cause })
    }
  }
}
