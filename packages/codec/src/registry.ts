import { BertCodec } from './bert-codec.js'
import type { Codec, CodecOptions } from './codec.js'
import { JsonCodec } from './json-codec.js'
import { MsgpackCodec } from './msgpack-codec.js'

/** Names accepted by {@link createCodec}. */
export type CodecName = 'msgpack' | 'json' | 'bert'

/**
 * Creates a codec by name.
 *
 * @example
 * ```ts
 * const codec = createCodec('json', { maxMessageBytes: 65_536 })
 * ```
 */
export function createCodec(name: CodecName = 'msgpack', options?: CodecOptions): Codec {
  if (name === 'msgpack') return new MsgpackCodec(options)
  if (name === 'json') return new JsonCodec(options)
  if (name === 'bert') return new BertCodec(options)
  throw new TypeError(`unknown codec "${String(name)}": expected "msgpack", "json" or "bert"`)
}

let shared: Codec | undefined

/** The process-wide default codec: msgpack with a 16 MiB frame limit. */
export function defaultCodec(): Codec {
  shared ??= new MsgpackCodec()
  return shared
}
