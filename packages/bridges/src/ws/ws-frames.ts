import type { Envelope } from '@dripdrop/codec'
import { JsonCodec, MsgpackCodec } from '@dripdrop/codec'

/**
 * WebSocket frame rules, shared by both ends: a text frame holds one JSON-codec frame, a binary frame one
 * msgpack-codec frame (`[1, name, head, body]` or a batch `[2, …]`, see docs/protocol.md §9).
 */
export type WsFormat = 'json' | 'msgpack'

/** Sub-protocols a client may offer to pick its format; without one the server answers in JSON text. */
export const SUBPROTOCOLS: Readonly<Record<WsFormat, string>> = {
  json: 'dripdrop.json',
  msgpack: 'dripdrop.msgpack',
}

/** Name of the frame the server sends first on every connection; its head carries `$conn`. */
export const HELLO = '$hello'

/** Encodes and decodes envelopes in both formats, bounded by one frame limit. */
export class FrameCodec {
  readonly json: JsonCodec
  readonly msgpack: MsgpackCodec

  constructor(maxFrameBytes: number) {
    this.json = new JsonCodec({ maxMessageBytes: maxFrameBytes })
    this.msgpack = new MsgpackCodec({ maxMessageBytes: maxFrameBytes })
  }

  /** A text frame (string) for JSON, a binary frame (bytes) for msgpack. */
  encode(envelope: Envelope, format: WsFormat): string | Uint8Array {
    return format === 'json' ? this.json.encodeText(envelope) : this.msgpack.encode(envelope)
  }

  /** Decodes what `ws` hands to a `message` listener. Throws only `DecodeError`. */
  decode(data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean): Envelope | Envelope[] {
    const bytes = Array.isArray(data)
      ? Buffer.concat(data)
      : data instanceof ArrayBuffer
        ? Buffer.from(data)
        : data
    return isBinary ? this.msgpack.decodeFrame(bytes) : this.json.decodeFrame(bytes.toString('utf8'))
  }
}

/** Byte length of an encoded frame, for counters (strings are measured cheaply by their length). */
export function frameSize(frame: string | Uint8Array): number {
  return typeof frame === 'string' ? frame.length : frame.byteLength
}

/**
 * An error reply without its stack: stacks reach remote peers only with the route option
 * `exposeErrorStacks: true`.
 */
export function withoutStack(envelope: Envelope): Envelope {
  const body = envelope.body as { stack?: unknown } | null
  if (body === null || typeof body !== 'object' || !('stack' in body)) return envelope
  const { stack: _stack, ...rest } = body
  return { name: envelope.name, head: envelope.head, body: rest }
}
