import { describe, expect, test } from 'vitest'
import {
  BertCodec,
  createCodec,
  DEFAULT_MAX_MESSAGE_BYTES,
  JsonCodec,
  MsgpackCodec,
  TAG_BATCH_V1,
  TAG_ENVELOPE_V1,
} from '../src/index.js'

describe('constants', () => {
  test('frame tags and the default limit', () => {
    expect(TAG_ENVELOPE_V1).toBe(1)
    expect(TAG_BATCH_V1).toBe(2)
    expect(DEFAULT_MAX_MESSAGE_BYTES).toBe(16 * 1024 * 1024)
  })
})

describe.each([
  ['MsgpackCodec', (o?: object) => new MsgpackCodec(o)],
  ['JsonCodec', (o?: object) => new JsonCodec(o)],
  ['createCodec("msgpack")', (o?: object) => createCodec('msgpack', o)],
  ['createCodec("json")', (o?: object) => createCodec('json', o)],
  ['BertCodec', (o?: object) => new BertCodec(o)],
  ['createCodec("bert")', (o?: object) => createCodec('bert', o)],
])('%s options', (_, make) => {
  test('maxMessageBytes defaults to 16 MiB and takes any positive integer', () => {
    expect(make().maxMessageBytes).toBe(DEFAULT_MAX_MESSAGE_BYTES)
    expect(make({}).maxMessageBytes).toBe(DEFAULT_MAX_MESSAGE_BYTES)
    expect(make({ maxMessageBytes: undefined }).maxMessageBytes).toBe(DEFAULT_MAX_MESSAGE_BYTES)
    expect(make({ maxMessageBytes: 1 }).maxMessageBytes).toBe(1)
    expect(make({ maxMessageBytes: 2 ** 40 }).maxMessageBytes).toBe(2 ** 40)
  })

  test.each([0, -1, 1.5, Number.NaN, Infinity, 2 ** 53, '1024', true, null])(
    'maxMessageBytes %s is refused in the constructor',
    (bad) => {
      expect(() => make({ maxMessageBytes: bad })).toThrow(
        new TypeError('options.maxMessageBytes must be a positive integer'),
      )
    },
  )
})

describe('options', () => {
  test('options must be an object', () => {
    for (const make of [
      (o: unknown) => new MsgpackCodec(o as object),
      (o: unknown) => new JsonCodec(o as object),
      (o: unknown) => new BertCodec(o as object),
    ]) {
      for (const bad of [null, 5, 'big']) {
        expect(() => make(bad)).toThrow(new TypeError('options must be an object'))
      }
    }
  })
})
