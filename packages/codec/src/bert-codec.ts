import { BertDecoder, type FrameKind } from './bert-decoder.js'
import { BertEncoder } from './bert-encoder.js'
import type { Codec, CodecOptions } from './codec.js'
import { resolveMaxMessageBytes } from './codec.js'
import type { Envelope } from './envelope.js'
import { DecodeError } from './errors.js'
import { checkEnvelope } from './shape.js'

/**
 * BERT (Binary ERlang Term): the Erlang external term format, so an Erlang or Elixir process reads and writes
 * dripdrop frames with `term_to_binary`/`binary_to_term` and no library.
 *
 * A frame is the term `{1, Name, Head, Body}`; a batch is `{2, [{1, Name, Head, Body}, …]}`. Names, map keys
 * and strings are UTF-8 binaries; heads and objects are maps; arrays are lists; `null` is the atom `nil`,
 * booleans the atoms `true`/`false`; byte arrays are `{bert, bin, <<Bytes>>}`; a `Date` is
 * `{bert, time, Mega, Sec, Micro}`. Integers within ±(2^53 - 1) decode as numbers, larger ones as `bigint`
 * (and a `bigint` encodes as an Erlang integer). NaN and ±Infinity cannot be encoded (Erlang floats are
 * finite). The whole mapping, byte by byte, is in docs/protocol.md §5b.
 *
 * Decoding is strict: every length is checked against the bytes left before allocating; compressed terms
 * (`term_to_binary(T, [compressed])`) are inflated only up to `maxMessageBytes`; pids, ports, references,
 * funs, bitstrings and improper lists are refused (`DD_ERR_DECODE_SHAPE`), as are a `__proto__` map key,
 * integers over 8192 bits (1024 bytes; not encoded either) and terms nested deeper than 100 levels; binaries must be valid UTF-8 (`DD_ERR_DECODE_MALFORMED`). Byte arrays
 * decode as plain `Uint8Array` views into the frame (no copy).
 *
 * @example
 * ```ts
 * const codec = new BertCodec()
 * const frame = codec.encode({ name: 'hi', head: { $id: 7 }, body: { ok: true } })
 * // In Erlang: {1, <<"hi">>, #{<<"$id">> := 7}, #{<<"ok">> := true}} = binary_to_term(Frame)
 * codec.decode(frame) // { name: 'hi', head: { $id: 7 }, body: { ok: true } }
 * ```
 */
export class BertCodec implements Codec {
  readonly name = 'bert'
  /** The BERT-RPC media type. */
  readonly contentType = 'application/x-bert'
  readonly binary = true
  readonly maxMessageBytes: number
  // One encoder (its buffer is reused from frame to frame) and one decoder per codec.
  readonly #encoder: BertEncoder
  readonly #decoder: BertDecoder

  constructor(options?: CodecOptions) {
    this.maxMessageBytes = resolveMaxMessageBytes(options)
    this.#encoder = new BertEncoder(this.maxMessageBytes)
    this.#decoder = new BertDecoder(this.maxMessageBytes)
  }

  encode(envelope: Envelope): Uint8Array {
    checkEnvelope(envelope)
    return this.#encoder.encodeEnvelope(envelope)
  }

  encodeBatch(envelopes: readonly Envelope[]): Uint8Array {
    for (let i = 0; i < envelopes.length; i++) checkEnvelope(envelopes[i])
    return this.#encoder.encodeBatch(envelopes)
  }

  decode(frame: Uint8Array | string): Envelope {
    return this.#decode(frame, 'one') as Envelope
  }

  decodeBatch(frame: Uint8Array | string): Envelope[] {
    return this.#decode(frame, 'batch') as Envelope[]
  }

  decodeFrame(frame: Uint8Array | string): Envelope | Envelope[] {
    return this.#decode(frame, 'any') as Envelope | Envelope[]
  }

  encodeValue(value: unknown): Uint8Array {
    return this.#encoder.encodeValue(value)
  }

  decodeValue(frame: Uint8Array | string): unknown {
    return this.#decode(frame, 'value')
  }

  #decode(frame: Uint8Array | string, kind: FrameKind): unknown {
    if (typeof frame === 'string') {
      throw new DecodeError('BERT frames are binary, got a string', 'DD_ERR_DECODE_MALFORMED', frame.length)
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
    // A Buffer's subarray() is a Buffer: view the same memory as a plain Uint8Array so byte arrays decode as
    // Uint8Array whatever the transport hands over.
    const bytes =
      frame.constructor === Uint8Array
        ? frame
        : new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength)
    try {
      return this.#decoder.decode(bytes, kind)
    } catch (err) {
      if (err instanceof DecodeError) throw err
      // Nothing else is expected; if it happens, the caller still gets only a DecodeError.
      throw new DecodeError(
        `cannot decode BERT frame: ${String(err)}`,
        'DD_ERR_DECODE_MALFORMED',
        bytes.byteLength,
        {
          cause: err,
        },
      )
    }
  }
}
