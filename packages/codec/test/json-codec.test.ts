import { describe, expect, test } from 'vitest'
import { DecodeError, EncodeError, JsonCodec } from '../src/index.js'
import { decodeErrorOf, hex, toHex, utf8 } from './helpers.js'

const codec = new JsonCodec()
const textOf = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

describe('wire format (bytes pinned)', () => {
  test('a small envelope is the JSON array [1,name,head,body], no whitespace, UTF-8', () => {
    const frame = codec.encode({ name: 'hi', head: { $id: 7 }, body: { ok: true } })
    expect(textOf(frame)).toBe('[1,"hi",{"$id":7},{"ok":true}]')
    // [ 1 , " h i " , { " $ i d " : 7 } , { " o k " : t r u e } ]
    expect(toHex(frame)).toBe('5b312c226869222c7b22246964223a377d2c7b226f6b223a747275657d5d')
  })

  test('hand-written bytes decode to the envelope', () => {
    const frame = hex('5b312c226869222c7b22246964223a377d2c7b226f6b223a747275657d5d')
    expect(codec.decode(frame)).toEqual({ name: 'hi', head: { $id: 7 }, body: { ok: true } })
  })

  test('a batch is [2,[1,…],[1,…]]', () => {
    const envs = [
      { name: 'a', head: {}, body: null },
      { name: 'b', head: {}, body: [1, -1] },
    ]
    expect(codec.encodeBatchText(envs)).toBe('[2,[1,"a",{},null],[1,"b",{},[1,-1]]]')
    expect(textOf(codec.encodeBatch(envs))).toBe('[2,[1,"a",{},null],[1,"b",{},[1,-1]]]')
    expect(codec.decodeBatch(utf8('[2,[1,"a",{},null],[1,"b",{},[1,-1]]]'))).toEqual(envs)
    expect(codec.encodeBatchText([])).toBe('[2]')
    expect(codec.decodeBatch('[2]')).toEqual([])
  })

  test('encodeText gives the same frame as text, and decode takes text or bytes', () => {
    const env = { name: 'é', head: { a: 'ü' }, body: '€𝄞' }
    const text = codec.encodeText(env)
    expect(text).toBe('[1,"é",{"a":"ü"},"€𝄞"]')
    expect(codec.encode(env)).toEqual(utf8(text))
    expect(codec.decode(text)).toEqual(env)
    expect(codec.decode(utf8(text))).toEqual(env)
  })

  test('bytes travel as {"$bin":"<standard base64, padded>"}', () => {
    const frame = codec.encodeText({
      name: 'b',
      head: { k: Buffer.from([0xff]) },
      body: new Uint8Array([0xde, 0xad]),
    })
    expect(frame).toBe('[1,"b",{"k":{"$bin":"/w=="}},{"$bin":"3q0="}]')
    const decoded = codec.decode(frame)
    expect(decoded.body).toEqual(new Uint8Array([0xde, 0xad]))
    expect((decoded.body as Uint8Array).constructor).toBe(Uint8Array)
    expect(decoded.head.k).toEqual(new Uint8Array([0xff]))
  })

  test('an object whose only key is $bin or $esc is escaped as {"$esc":{…}}', () => {
    expect(codec.encodeText({ name: 'e', head: {}, body: { $bin: 'x' } })).toBe(
      '[1,"e",{},{"$esc":{"$bin":"x"}}]',
    )
    expect(codec.encodeText({ name: 'e', head: {}, body: { $esc: 1 } })).toBe(
      '[1,"e",{},{"$esc":{"$esc":1}}]',
    )
    // With a second key it is an ordinary object.
    expect(codec.encodeText({ name: 'e', head: {}, body: { $bin: 'x', y: 1 } })).toBe(
      '[1,"e",{},{"$bin":"x","y":1}]',
    )
    expect(codec.decode('[1,"e",{},{"$esc":{"$bin":"x"}}]').body).toEqual({ $bin: 'x' })
    expect(codec.decode('[1,"e",{},{"$esc":{"$esc":{"$bin":"AQ=="}}}]').body).toEqual({
      $esc: new Uint8Array([1]),
    })
    expect(codec.decode('[1,"e",{},{"$bin":"x","y":1}]').body).toEqual({ $bin: 'x', y: 1 })
    // Members JSON leaves out (undefined, functions) do not count: the text would otherwise read as a tag.
    expect(codec.encodeText({ name: 'e', head: {}, body: { $bin: 'AQ==', y: undefined } })).toBe(
      '[1,"e",{},{"$esc":{"$bin":"AQ=="}}]',
    )
    expect(codec.encodeText({ name: 'e', head: {}, body: { $esc: 1, f: () => 1 } })).toBe(
      '[1,"e",{},{"$esc":{"$esc":1}}]',
    )
    expect(codec.encodeText({ name: 'e', head: {}, body: { $bin: undefined } })).toBe('[1,"e",{},{}]')
  })

  test('a $bin key written with a \\u escape is the same key', () => {
    expect(codec.decode('[1,"e",{},{"\\u0024bin":"AQI="}]').body).toEqual(new Uint8Array([1, 2]))
    expect(codec.decode('[1,"e",{},{"$b\\u0069n":"AQI="}]').body).toEqual(new Uint8Array([1, 2]))
  })

  test('tags are found at any depth, in heads and in batches', () => {
    const env = {
      name: 'd',
      head: { h: [{ b: new Uint8Array([9]) }] },
      body: [[{ x: { $bin: new Uint8Array(0) } }]],
    }
    const text = codec.encodeBatchText([env, env])
    expect(text).toBe(
      '[2,[1,"d",{"h":[{"b":{"$bin":"CQ=="}}]},[[{"x":{"$esc":{"$bin":{"$bin":""}}}}]]],' +
        '[1,"d",{"h":[{"b":{"$bin":"CQ=="}}]},[[{"x":{"$esc":{"$bin":{"$bin":""}}}}]]]]',
    )
    expect(codec.decodeBatch(text)).toEqual([env, env])
  })

  test('other byte views travel as their bytes and decode as Uint8Array', () => {
    const body = new Uint16Array([1, 2])
    expect(codec.decode(codec.encode({ name: 'v', head: {}, body })).body).toEqual(
      new Uint8Array(body.buffer),
    )
  })

  test('a value with toJSON (a Date) is written by its toJSON', () => {
    const frame = codec.encodeText({ name: 'd', head: {}, body: [new Date(0), new Uint8Array([1])] })
    expect(frame).toBe('[1,"d",{},["1970-01-01T00:00:00.000Z",{"$bin":"AQ=="}]]')
  })

  test('NaN, Infinity and undefined become null as JSON.stringify makes them; -0 becomes 0', () => {
    expect(codec.encodeText({ name: 'n', head: {}, body: [Number.NaN, Infinity, undefined, -0] })).toBe(
      '[1,"n",{},[null,null,null,0]]',
    )
    expect(codec.encodeText({ name: 'n', head: {}, body: undefined })).toBe('[1,"n",{},null]')
    expect(codec.encodeText({ name: 'n', head: {}, body: { a: undefined, b: 1 } })).toBe('[1,"n",{},{"b":1}]')
  })

  test('decodeFrame tells one envelope from a batch', () => {
    expect(codec.decodeFrame('[1,"a",{},null]')).toEqual({ name: 'a', head: {}, body: null })
    expect(codec.decodeFrame('[2,[1,"a",{},null]]')).toEqual([{ name: 'a', head: {}, body: null }])
  })

  test('encodeValue/decodeValue carry a lone value with the same tagging rules', () => {
    expect(textOf(codec.encodeValue({ a: new Uint8Array([1]) }))).toBe('{"a":{"$bin":"AQ=="}}')
    expect(textOf(codec.encodeValue(undefined))).toBe('null')
    expect(textOf(codec.encodeValue('$bin"'))).toBe('"$bin\\""')
    expect(codec.decodeValue('{"a":{"$bin":"AQ=="}}')).toEqual({ a: new Uint8Array([1]) })
  })

  test('whitespace and a UTF-8 byte order mark are accepted on input', () => {
    expect(codec.decode(' [ 1 , "a" , { } , null ]\n')).toEqual({ name: 'a', head: {}, body: null })
    expect(codec.decode(hex(`efbbbf${toHex(utf8('[1,"a",{},null]'))}`))).toEqual({
      name: 'a',
      head: {},
      body: null,
    })
  })

  test('metadata', () => {
    expect(codec.name).toBe('json')
    expect(codec.contentType).toBe('application/json')
    expect(codec.binary).toBe(false)
    expect(codec.maxMessageBytes).toBe(16 * 1024 * 1024)
  })
})

describe('binary values', () => {
  test.each([1023, 1024, 65_535, 65_536, 1024 * 1024])('a %i-byte body round-trips', (size) => {
    const body = Buffer.alloc(size)
    for (let i = 0; i < size; i++) body[i] = (i * 131) & 0xff
    const text = codec.encodeText({ name: 'big', head: {}, body })
    expect(text).toBe(`[1,"big",{},{"$bin":"${body.toString('base64')}"}]`)
    const decoded = codec.decode(text).body as Uint8Array
    expect(decoded.constructor).toBe(Uint8Array)
    expect(Buffer.from(decoded).equals(body)).toBe(true)
  })
})

describe('maxMessageBytes', () => {
  test('decode counts UTF-8 bytes, for bytes and for text', () => {
    const text = '[1,"é",{},null]' // 16 bytes, 15 UTF-16 units
    const exact = new JsonCodec({ maxMessageBytes: 16 })
    const under = new JsonCodec({ maxMessageBytes: 15 })
    expect(exact.decode(text).name).toBe('é')
    expect(exact.decode(utf8(text)).name).toBe('é')
    expect(() => under.decode(text)).toThrow(
      expect.objectContaining({ code: 'DD_ERR_DECODE_TOO_LARGE', frameBytes: 16 }),
    )
    expect(() => under.decode(utf8(text))).toThrow(
      expect.objectContaining({ code: 'DD_ERR_DECODE_TOO_LARGE', frameBytes: 16 }),
    )
    expect(() => under.decodeBatch(text)).toThrow(DecodeError)
    expect(() => under.decodeValue(text)).toThrow(DecodeError)
  })

  test('encode counts UTF-8 bytes, on every path', () => {
    const limited = new JsonCodec({ maxMessageBytes: 16 })
    const tooLarge = expect.objectContaining({ code: 'DD_ERR_ENCODE_TOO_LARGE' })
    expect(limited.encodeText({ name: 'é', head: {}, body: null })).toBe('[1,"é",{},null]')
    expect(() => limited.encodeText({ name: 'éé', head: {}, body: null })).toThrow(tooLarge)
    expect(() => limited.encode({ name: 'éé', head: {}, body: null })).toThrow(tooLarge)
    expect(() => limited.encodeBatch([{ name: 'a', head: {}, body: null }])).toThrow(tooLarge)
    expect(() => limited.encodeBatchText([{ name: 'a', head: {}, body: null }])).toThrow(tooLarge)
    expect(() => limited.encodeValue('x'.repeat(15))).toThrow(tooLarge)
    expect(() => limited.encode({ name: 'éé', head: {}, body: null })).toThrow(EncodeError)
  })
})

describe('every decode error code, on purpose', () => {
  test('DD_ERR_DECODE_TRUNCATED: empty, cut anywhere, cut inside a UTF-8 character', () => {
    for (const frame of [
      '',
      '[',
      '[1',
      '[1,"a',
      '[1,"a",{"k":',
      '[1,"a",{},tru',
      '[1,"a",{},-',
      '[1,"a",{},"\\u00',
    ]) {
      expect(decodeErrorOf(() => codec.decodeFrame(frame)).code, frame).toBe('DD_ERR_DECODE_TRUNCATED')
    }
    const cut = utf8('[1,"€')
    expect(decodeErrorOf(() => codec.decode(cut.subarray(0, cut.length - 1))).code).toBe(
      'DD_ERR_DECODE_TRUNCATED',
    )
  })

  test('DD_ERR_DECODE_MALFORMED: not JSON, trailing text, bad UTF-8, not a frame type', () => {
    const malformed = expect.objectContaining({ code: 'DD_ERR_DECODE_MALFORMED' })
    expect(() => codec.decode('[1,"a",{},nul]')).toThrow(malformed)
    expect(() => codec.decode('[1,"a",{},null]]')).toThrow(malformed)
    expect(() => codec.decode('[1,"a",{},1.x]')).toThrow(malformed)
    expect(() => codec.decode('[1}')).toThrow(malformed)
    expect(() => codec.decode(hex('5b31 ff 5d'))).toThrow(malformed) // [1<0xff>]
    expect(() => codec.decode(hex('5b 22 c0 80 22 5d'))).toThrow(malformed) // overlong NUL
    expect(() => codec.decode(42 as unknown as string)).toThrow(malformed)
  })

  test('DD_ERR_DECODE_VERSION: a frame tag this peer does not know', () => {
    for (const frame of ['[3,"a",{},null]', '[0]', '[-1]', '[1.5,"a",{},null]', '[2,[9,"a",{},null]]']) {
      expect(decodeErrorOf(() => codec.decodeFrame(frame)).code, frame).toBe('DD_ERR_DECODE_VERSION')
    }
  })

  test('DD_ERR_DECODE_SHAPE: valid JSON that is not an envelope', () => {
    const cases: [string, string][] = [
      ['null', 'null'],
      ['{"name":"a","head":{},"body":null}', 'an object'],
      ['[]', 'empty array'],
      ['["1","a",{},null]', 'tag a string'],
      ['[1,"a",{}]', 'three elements'],
      ['[1,"",{},null]', 'empty name'],
      ['[1,"a",[],null]', 'head an array'],
      ['[1,"a",null,null]', 'head null'],
      ['[2,[2]]', 'batch inside a batch'],
      ['[1,"a",{},{"$bin":1}]', '$bin not a string'],
      ['[1,"a",{},{"$bin":"AQ"}]', '$bin without padding'],
      ['[1,"a",{},{"$bin":"A@==?"}]', '$bin not base64'],
      ['[1,"a",{},{"$bin":"AQ==AQ=="}]', '$bin with padding inside'],
      ['[1,"a",{},{"$bin":"-_-_"}]', '$bin in the URL-safe alphabet'],
      ['[1,"a",{},{"$esc":1}]', '$esc not an object'],
      ['[1,"a",{},{"$esc":{"a":1}}]', '$esc of an object that needs no escape'],
      ['[1,"a",{},{"$esc":{"$bin":1,"a":1}}]', '$esc of an object with two keys'],
      ['[1,"a",{},{"__proto__":1}]', '__proto__ key'],
    ]
    for (const [frame, what] of cases) {
      expect(decodeErrorOf(() => codec.decodeFrame(frame)).code, what).toBe('DD_ERR_DECODE_SHAPE')
    }
  })

  test('decode wants one envelope and decodeBatch a batch', () => {
    expect(() => codec.decode('[2,[1,"a",{},null]]')).toThrow(
      expect.objectContaining({ code: 'DD_ERR_DECODE_SHAPE' }),
    )
    expect(() => codec.decodeBatch('[1,"a",{},null]')).toThrow(
      expect.objectContaining({ code: 'DD_ERR_DECODE_SHAPE' }),
    )
  })
})

describe('hostile frames', () => {
  test('a __proto__ key cannot pollute prototypes, however it is spelled', () => {
    for (const frame of [
      '[1,"a",{"__proto__":{"polluted":true}},null]',
      '[1,"a",{},{"__proto__":{"polluted":true}}]',
      '[1,"a",{},[{"\\u005f_proto__":{"polluted":true}}]]',
      '[2,[1,"a",{},{"x":{"__proto__":{"polluted":true}}}]]',
    ]) {
      expect(decodeErrorOf(() => codec.decodeFrame(frame)).code, frame).toBe('DD_ERR_DECODE_SHAPE')
    }
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
  })

  test('encoding an own __proto__ key keeps it a key, on the tagging path too', () => {
    const body = JSON.parse('{"__proto__":{"polluted":true},"b":"x"}')
    body.bytes = new Uint8Array([1])
    expect(codec.encodeText({ name: 'p', head: {}, body })).toBe(
      '[1,"p",{},{"__proto__":{"polluted":true},"b":"x","bytes":{"$bin":"AQ=="}}]',
    )
    expect(Object.prototype).not.toHaveProperty('polluted')
  })

  test('deep nesting is parsed; with tags to revive, too deep is a shape error, not a stack overflow', () => {
    const depth = 200_000
    const deep = `[1,"a",{},${'['.repeat(depth)}null${']'.repeat(depth)}]`
    expect(codec.decode(deep).name).toBe('a')
    const tagged = `[1,"a",{},${'['.repeat(depth)}{"$bin":""}${']'.repeat(depth)}]`
    expect(decodeErrorOf(() => codec.decode(tagged)).code).toBe('DD_ERR_DECODE_SHAPE')
  })
})

describe('encode errors', () => {
  const invalid = expect.objectContaining({ code: 'DD_ERR_ENCODE_INVALID' })
  test.each([
    ['an empty name', { name: '', head: {}, body: null }],
    ['a head that is an array', { name: 'a', head: [], body: null }],
    ['a head that is a class instance', { name: 'a', head: new Map(), body: null }],
    ['a BigInt body', { name: 'a', head: {}, body: 1n }],
    ['a BigInt next to bytes', { name: 'a', head: {}, body: [1n, new Uint8Array(1)] }],
    ['undefined', undefined],
  ])('%s', (_, envelope) => {
    expect(() => codec.encode(envelope as never)).toThrow(invalid)
    expect(() => codec.encodeBatch([envelope as never])).toThrow(invalid)
  })

  test('a cyclic body, with and without bytes', () => {
    const body: Record<string, unknown> = {}
    body.self = body
    expect(() => codec.encode({ name: 'a', head: {}, body })).toThrow(invalid)
    body.bytes = new Uint8Array(1)
    expect(() => codec.encode({ name: 'a', head: {}, body })).toThrow(invalid)
  })
})
