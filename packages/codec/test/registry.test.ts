import { describe, expect, test } from 'vitest'
import {
  BertCodec,
  createCodec,
  DEFAULT_MAX_MESSAGE_BYTES,
  defaultCodec,
  JsonCodec,
  MsgpackCodec,
} from '../src/index.js'

describe('createCodec and defaultCodec', () => {
  test('createCodec builds the named codec, msgpack by default', () => {
    expect(createCodec()).toBeInstanceOf(MsgpackCodec)
    expect(createCodec('msgpack')).toBeInstanceOf(MsgpackCodec)
    expect(createCodec('json')).toBeInstanceOf(JsonCodec)
    expect(createCodec('bert')).toBeInstanceOf(BertCodec)
  })

  test('an unknown name is a TypeError', () => {
    expect(() => createCodec('xml' as never)).toThrow(
      new TypeError('unknown codec "xml": expected "msgpack", "json" or "bert"'),
    )
  })

  test('defaultCodec is one shared msgpack codec with the default limit', () => {
    expect(defaultCodec()).toBe(defaultCodec())
    expect(defaultCodec().name).toBe('msgpack')
    expect(defaultCodec().maxMessageBytes).toBe(DEFAULT_MAX_MESSAGE_BYTES)
  })
})
