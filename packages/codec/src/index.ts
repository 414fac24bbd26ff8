export { BertCodec } from './bert-codec.js'
export type { Codec, CodecOptions, DecodedFrame } from './codec.js'
export { DEFAULT_MAX_MESSAGE_BYTES, TAG_BATCH_V1, TAG_ENVELOPE_V1 } from './codec.js'
export { createCodec, defaultCodec, type CodecName } from './registry.js'
export type { Envelope, Head, HeadValue } from './envelope.js'
export { EMPTY_HEAD, envelope, isPlainObject } from './envelope.js'
export {
  DecodeError,
  type DecodeErrorCode,
  DripdropError,
  EncodeError,
  type EncodeErrorCode,
} from './errors.js'
export { JsonCodec } from './json-codec.js'
export { MsgpackCodec } from './msgpack-codec.js'
