import type { Envelope } from './envelope.js'

/** Default upper bound for one frame, in bytes: 16 MiB. */
export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024

/** Frame tag of a single envelope, protocol version 1 (the first element of the frame array). */
export const TAG_ENVELOPE_V1 = 1
/** Frame tag of a batch of envelopes, protocol version 1. */
export const TAG_BATCH_V1 = 2

/** Options shared by every codec. */
export interface CodecOptions {
  /**
   * Largest frame, in bytes, that `decode*` accepts and `encode*` produces.
   * @default 16 MiB (16_777_216)
   */
  maxMessageBytes?: number
}

/** The result of decoding a frame that may hold one envelope or a batch. */
export type DecodedFrame = Envelope | Envelope[]

/**
 * Turns envelopes into frames and frames into envelopes. One small interface, three implementations:
 * {@link MsgpackCodec} (the default, binary), {@link JsonCodec} (text, for browsers and curl) and
 * {@link BertCodec} (Erlang's external term format, for Erlang and Elixir peers).
 *
 * Every `decode*` method throws only {@link DecodeError}; every `encode*` method throws only {@link EncodeError}.
 */
export interface Codec {
  /** `'msgpack'`, `'json'` or `'bert'`. */
  readonly name: string
  /** MIME type of a frame: `application/msgpack`, `application/json` or `application/x-bert`. */
  readonly contentType: string
  /** True when frames are binary (WebSocket binary frames), false for text. */
  readonly binary: boolean
  /** Upper bound for one frame, in bytes. */
  readonly maxMessageBytes: number
  /** Encodes one envelope into one frame. */
  encode(envelope: Envelope): Uint8Array
  /** Encodes many envelopes into one batch frame. */
  encodeBatch(envelopes: readonly Envelope[]): Uint8Array
  /** Decodes a frame that must hold exactly one envelope. */
  decode(frame: Uint8Array | string): Envelope
  /** Decodes a frame that must hold a batch. */
  decodeBatch(frame: Uint8Array | string): Envelope[]
  /** Decodes either kind of frame: an array means a batch. */
  decodeFrame(frame: Uint8Array | string): DecodedFrame
  /** Encodes a lone value (not an envelope) with this codec's rules, e.g. an HTTP body. */
  encodeValue(value: unknown): Uint8Array
  /** Decodes a lone value encoded by {@link Codec.encodeValue}. */
  decodeValue(bytes: Uint8Array | string): unknown
}

/** Fills and validates {@link CodecOptions}. Only `undefined` means "use the default"; `null` is refused. */
export function resolveMaxMessageBytes(options: CodecOptions | undefined): number {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError('options must be an object')
  }
  const max = options?.maxMessageBytes === undefined ? DEFAULT_MAX_MESSAGE_BYTES : options.maxMessageBytes
  if (!Number.isSafeInteger(max) || max <= 0) {
    throw new TypeError('options.maxMessageBytes must be a positive integer')
  }
  return max
}
