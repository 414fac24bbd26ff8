/**
 * Every error dripdrop throws or reports is a {@link DripdropError} with a stable `code`.
 * Match on `err.code`, never on the message: messages may be reworded, codes never change.
 *
 * @example
 * ```ts
 * try { codec.decode(bytes) } catch (err) {
 *   if (err instanceof DripdropError && err.code === 'DD_ERR_DECODE_TRUNCATED') …
 * }
 * ```
 */
export class DripdropError extends Error {
  /** Stable machine-readable code, e.g. `DD_ERR_TIMEOUT`. */
  readonly code: string

  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }

  override get name(): string {
    return this.constructor.name
  }

  /** A plain object safe to put on the wire or in a log line. */
  toJSON(): { name: string; code: string; message: string } {
    return { name: this.name, code: this.code, message: this.message }
  }
}

/** Codes a {@link DecodeError} can carry. */
export type DecodeErrorCode =
  | 'DD_ERR_DECODE_TOO_LARGE'
  | 'DD_ERR_DECODE_TRUNCATED'
  | 'DD_ERR_DECODE_MALFORMED'
  | 'DD_ERR_DECODE_VERSION'
  | 'DD_ERR_DECODE_SHAPE'

/**
 * Bytes from the network could not be turned into envelopes. The only error any `decode*` function throws,
 * whatever the input.
 *
 * | code | meaning |
 * | --- | --- |
 * | `DD_ERR_DECODE_TOO_LARGE` | the frame is larger than `maxMessageBytes` |
 * | `DD_ERR_DECODE_TRUNCATED` | the frame ends in the middle of a value |
 * | `DD_ERR_DECODE_MALFORMED` | not msgpack / JSON / Erlang external term format, or trailing bytes after the value |
 * | `DD_ERR_DECODE_VERSION` | the frame tag names an unknown protocol version or frame kind |
 * | `DD_ERR_DECODE_SHAPE` | valid msgpack/JSON/BERT, but not an envelope (missing name, head not a map, a pid, …) |
 */
export class DecodeError extends DripdropError {
  declare readonly code: DecodeErrorCode
  /** Size of the offending frame in bytes (for a string frame given to the JSON codec: its `length`). */
  readonly frameBytes: number

  constructor(message: string, code: DecodeErrorCode, frameBytes: number, options?: { cause?: unknown }) {
    super(message, code, options)
    this.frameBytes = frameBytes
  }
}

/** Codes an {@link EncodeError} can carry. */
export type EncodeErrorCode = 'DD_ERR_ENCODE_TOO_LARGE' | 'DD_ERR_ENCODE_INVALID'

/**
 * An envelope could not be encoded: it is not an envelope (`DD_ERR_ENCODE_INVALID`: empty name, head not a plain
 * object, a value the codec cannot carry) or its frame would exceed `maxMessageBytes` (`DD_ERR_ENCODE_TOO_LARGE`).
 */
export class EncodeError extends DripdropError {
  declare readonly code: EncodeErrorCode

  constructor(message: string, code: EncodeErrorCode, options?: { cause?: unknown }) {
    super(message, code, options)
  }
}
