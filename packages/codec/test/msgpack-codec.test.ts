import { encode as msgpackEncode } from '@msgpack/msgpack'
import { describe, expect, test } from 'vitest'
import { DecodeError, EncodeError, MsgpackCodec } from '../src/index.js'
import { decodeErrorOf, hex, toHex } from './helpers.js'

const codec = new MsgpackCodec()

describe('wire format (bytes pinned)', () => {
  test('a small envelope is the array [1, name, head, body]', () => {
    const frame = codec.encode({ name: 'hi', head: { $id: 7 }, body: { ok: true } })
    // 94: array of 4 | 01: tag | a2 6869: "hi" | 81 a3 246964 07: {"$id": 7} | 81 a2 6f6b c3: {"ok": true}
    expect(toHex(frame)).toBe('9401a2686981a32469640781a26f6bc3')
  })

  test('hand-written bytes decode to the envelope', () => {
    expect(codec.decode(hex('94 01 a2 6869 81 a3 246964 07 81 a2 6f6b c3'))).toEqual({
      name: 'hi',
      head: { $id: 7 },
      body: { ok: true },
    })
  })

  test('a batch is [2, [1, …], [1, …]]', () => {
    const frame = codec.encodeBatch([
      { name: 'a', head: {}, body: null },
      { name: 'b', head: {}, body: [1, -1] },
    ])
    // 93: array of 3 | 02: tag | 94 01 a161 80 c0: [1,"a",{},nil] | 94 01 a162 80 92 01 ff: [1,"b",{},[1,-1]]
    expect(toHex(frame)).toBe('930294' + '01a16180c0' + '9401a1628092' + '01ff')
    expect(codec.decodeBatch(hex('93 02 94 01 a161 80 c0 94 01 a162 80 92 01 ff'))).toEqual([
      { name: 'a', head: {}, body: null },
      { name: 'b', head: {}, body: [1, -1] },
    ])
  })

  test('an empty batch is [2]', () => {
    expect(toHex(codec.encodeBatch([]))).toBe('9102')
    expect(codec.decodeBatch(hex('91 02'))).toEqual([])
  })

  test('a byte body is msgpack bin', () => {
    const frame = codec.encode({ name: 'b', head: {}, body: new Uint8Array([0xde, 0xad]) })
    expect(toHex(frame)).toBe('9401a16280c402dead')
    const { body } = codec.decode(frame)
    expect(body).toEqual(new Uint8Array([0xde, 0xad]))
  })

  test('an object whose only key is $bin is an ordinary map on msgpack', () => {
    const frame = codec.encode({ name: 'e', head: {}, body: { $bin: 'x' } })
    expect(toHex(frame)).toBe('9401a1658081a42462696ea178')
  })

  test('integers take the smallest msgpack form, other numbers float 64', () => {
    const frame = codec.encode({ name: 'n', head: {}, body: [0, 127, 128, -32, -33, 65536, 0.5] })
    expect(toHex(frame)).toBe(
      '9401a16e8097' + '00' + '7f' + 'cc80' + 'e0' + 'd0df' + 'ce00010000' + 'cb3fe0000000000000',
    )
  })

  test('decodeFrame tells one envelope from a batch', () => {
    expect(codec.decodeFrame(hex('94 01 a161 80 c0'))).toEqual({ name: 'a', head: {}, body: null })
    expect(codec.decodeFrame(hex('92 02 94 01 a161 80 c0'))).toEqual([{ name: 'a', head: {}, body: null }])
  })

  test('encodeValue/decodeValue carry a lone value', () => {
    expect(toHex(codec.encodeValue({ a: [1] }))).toBe('81a1619101')
    expect(codec.decodeValue(hex('81 a161 91 01'))).toEqual({ a: [1] })
  })

  test('metadata', () => {
    expect(codec.name).toBe('msgpack')
    expect(codec.contentType).toBe('application/msgpack')
    expect(codec.binary).toBe(true)
    expect(codec.maxMessageBytes).toBe(16 * 1024 * 1024)
  })
})

describe('binary values', () => {
  test('decode as views into the frame: no copy', () => {
    const frame = codec.encode({ name: 'b', head: {}, body: new Uint8Array(2048).fill(7) })
    const body = codec.decode(frame).body as Uint8Array
    expect(body.buffer).toBe(frame.buffer)
  })

  test('a Buffer decodes as a plain Uint8Array, also when the frame is a Buffer', () => {
    const frame = codec.encode({ name: 'b', head: { k: Buffer.from('hk') }, body: Buffer.from('hi') })
    for (const input of [frame, Buffer.from(frame)]) {
      const decoded = codec.decode(input)
      expect(decoded.body).toBeInstanceOf(Uint8Array)
      expect((decoded.body as Uint8Array).constructor).toBe(Uint8Array)
      expect((decoded.head.k as Uint8Array).constructor).toBe(Uint8Array)
      expect(decoded.body).toEqual(new Uint8Array([0x68, 0x69]))
    }
  })

  test('a frame that is a view into a larger buffer decodes from its own bytes only', () => {
    const frame = codec.encode({ name: 'v', head: {}, body: 1 })
    const big = new Uint8Array(frame.length + 8).fill(0xc1)
    big.set(frame, 4)
    expect(codec.decode(big.subarray(4, 4 + frame.length))).toEqual({ name: 'v', head: {}, body: 1 })
  })

  // Bodies of 1 KiB and more skip the encoder's buffer: their header is written by hand and the bytes copied once.
  test.each([
    [1023, 'c5 03ff'],
    [1024, 'c5 0400'],
    [65_535, 'c5 ffff'],
    [65_536, 'c6 00010000'],
    [1024 * 1024, 'c6 00100000'],
  ])('a %i-byte body round-trips with the bin header %s', (size, header) => {
    const body = new Uint8Array(size)
    for (let i = 0; i < size; i++) body[i] = (i * 131) & 0xff
    const frame = codec.encode({ name: 'big', head: { $id: 1 }, body })
    const prefix = '94 01 a3 626967 81 a3 246964 01'
    expect(toHex(frame.subarray(0, hex(prefix).length + hex(header).length))).toBe(
      toHex(hex(prefix + header)),
    )
    expect(frame.length).toBe(hex(prefix + header).length + size)
    const decoded = codec.decode(frame)
    expect(decoded.name).toBe('big')
    expect(decoded.head).toEqual({ $id: 1 })
    expect(Buffer.from(decoded.body as Uint8Array).equals(Buffer.from(body))).toBe(true)
  })

  test('a large Buffer body that is a view into a pooled buffer is spliced from its own bytes', () => {
    const pool = Buffer.alloc(8192, 0xee)
    const body = pool.subarray(100, 100 + 4096).fill(0x42)
    const decoded = codec.decode(codec.encode({ name: 'p', head: {}, body }))
    expect(decoded.body).toEqual(new Uint8Array(4096).fill(0x42))
  })

  test('large bodies in a batch round-trip', () => {
    const envs = [1, 2, 3].map((n) => ({ name: `e${n}`, head: {}, body: new Uint8Array(70_000).fill(n) }))
    const decoded = codec.decodeBatch(codec.encodeBatch(envs))
    expect(decoded.map((e) => (e.body as Uint8Array)[69_999])).toEqual([1, 2, 3])
  })
})

describe('maxMessageBytes', () => {
  test('decode refuses a frame one byte over the limit, accepts one at it', () => {
    const frame = codec.encode({ name: 'x', head: {}, body: 'abcd' })
    expect(frame.length).toBe(10)
    expect(new MsgpackCodec({ maxMessageBytes: 10 }).decode(frame).body).toBe('abcd')
    expect(() => new MsgpackCodec({ maxMessageBytes: 9 }).decode(frame)).toThrow(
      expect.objectContaining({ code: 'DD_ERR_DECODE_TOO_LARGE', frameBytes: 10 }),
    )
    expect(() => new MsgpackCodec({ maxMessageBytes: 9 }).decodeBatch(frame)).toThrow(DecodeError)
    expect(() => new MsgpackCodec({ maxMessageBytes: 9 }).decodeFrame(frame)).toThrow(DecodeError)
    expect(() => new MsgpackCodec({ maxMessageBytes: 9 }).decodeValue(frame)).toThrow(DecodeError)
  })

  test('encode refuses a frame over the limit, on every path', () => {
    const small = new MsgpackCodec({ maxMessageBytes: 2000 })
    const tooLarge = { code: 'DD_ERR_ENCODE_TOO_LARGE' }
    expect(() => small.encode({ name: 'x', head: {}, body: 'a'.repeat(2000) })).toThrow(
      expect.objectContaining(tooLarge),
    )
    // The spliced path for byte bodies checks the size before allocating the frame.
    expect(() => small.encode({ name: 'x', head: {}, body: new Uint8Array(1995) })).toThrow(
      expect.objectContaining(tooLarge),
    )
    // 94 01 a178 80 (5 bytes) + c5 07c6 (3 bytes) + 1990 bytes
    expect(small.encode({ name: 'x', head: {}, body: new Uint8Array(1990) }).length).toBe(1998)
    expect(() =>
      small.encodeBatch([1, 2, 3].map(() => ({ name: 'x', head: {}, body: 'a'.repeat(700) }))),
    ).toThrow(expect.objectContaining(tooLarge))
    expect(() => small.encodeValue('a'.repeat(2000))).toThrow(expect.objectContaining(tooLarge))
    expect(() => small.encode({ name: 'x', head: {}, body: 'a'.repeat(2000) })).toThrow(EncodeError)
  })

  test('a header claiming a value larger than the limit is a truncated frame, not an allocation', () => {
    const limited = new MsgpackCodec({ maxMessageBytes: 1024 })
    // [1, "a", {}, bin32 of 0xffffffff bytes] with no bytes following.
    expect(() => limited.decode(hex('94 01 a161 80 c6 ffffffff'))).toThrow(
      expect.objectContaining({ code: 'DD_ERR_DECODE_TRUNCATED' }),
    )
  })
})

describe('every decode error code, on purpose', () => {
  test('DD_ERR_DECODE_TRUNCATED: empty frame, cut string, cut number, cut array', () => {
    for (const frame of ['', '94 01 a2 68', '94 01 a161 80 cb 3fe0', '94 01 a161', '92 02 94 01']) {
      expect(decodeErrorOf(() => codec.decodeFrame(hex(frame))).code, frame).toBe('DD_ERR_DECODE_TRUNCATED')
    }
  })

  test('DD_ERR_DECODE_MALFORMED: the never-used byte 0xc1, trailing bytes, a string, not bytes at all', () => {
    expect(() => codec.decode(hex('c1'))).toThrow(
      expect.objectContaining({ code: 'DD_ERR_DECODE_MALFORMED' }),
    )
    expect(() => codec.decode(hex('94 01 a161 80 c0 00'))).toThrow(
      expect.objectContaining({ code: 'DD_ERR_DECODE_MALFORMED' }),
    )
    expect(() => codec.decode('[1,"a",{},null]')).toThrow(
      expect.objectContaining({ code: 'DD_ERR_DECODE_MALFORMED' }),
    )
    expect(() => codec.decode([0x94] as unknown as Uint8Array)).toThrow(
      expect.objectContaining({ code: 'DD_ERR_DECODE_MALFORMED' }),
    )
    // A timestamp extension (type -1) of an impossible size.
    expect(() => codec.decodeValue(hex('d5 ff 0000'))).toThrow(
      expect.objectContaining({ code: 'DD_ERR_DECODE_MALFORMED' }),
    )
  })

  test('DD_ERR_DECODE_VERSION: a frame tag this peer does not know', () => {
    for (const frame of [
      '94 03 a161 80 c0',
      '91 00',
      '91 ff',
      '94 cc80 a161 80 c0',
      '92 02 94 07 a161 80 c0',
    ]) {
      expect(decodeErrorOf(() => codec.decodeFrame(hex(frame))).code, frame).toBe('DD_ERR_DECODE_VERSION')
    }
  })

  test('DD_ERR_DECODE_SHAPE: valid msgpack that is not an envelope', () => {
    const cases: [string, string][] = [
      ['c0', 'nil'],
      ['90', 'empty array'],
      ['93 01 a161 80', 'three elements'],
      ['95 01 a161 80 c0 c0', 'five elements'],
      ['94 01 a0 80 c0', 'empty name'],
      ['94 01 01 80 c0', 'name not a string'],
      ['94 01 a161 90 c0', 'head an array'],
      ['94 01 a161 c0 c0', 'head nil'],
      ['94 a131 a161 80 c0', 'tag a string'],
      ['92 02 c0', 'batch element not an array'],
      ['92 02 92 02 91 02', 'batch inside a batch'],
      ['94 01 a161 81 c401 61 c0 c0', 'map key that is bytes'],
      ['94 01 a161 80 81 a9 5f5f70726f746f5f5f 01', '__proto__ key'],
    ]
    for (const [frame, what] of cases) {
      expect(decodeErrorOf(() => codec.decodeFrame(hex(frame))).code, what).toBe('DD_ERR_DECODE_SHAPE')
    }
  })

  test('decode wants one envelope and decodeBatch a batch', () => {
    const one = hex('94 01 a161 80 c0')
    const batch = hex('92 02 94 01 a161 80 c0')
    expect(() => codec.decode(batch)).toThrow(expect.objectContaining({ code: 'DD_ERR_DECODE_SHAPE' }))
    expect(() => codec.decodeBatch(one)).toThrow(expect.objectContaining({ code: 'DD_ERR_DECODE_SHAPE' }))
  })

  test('the error carries the frame size and the library error as cause', () => {
    const err = decodeErrorOf(() => codec.decode(hex('94 01 a161 81 c401 61 c0 c0')))
    expect(err.frameBytes).toBe(10)
    expect(err.cause).toBeInstanceOf(Error)
    expect(err.name).toBe('DecodeError')
  })
})

describe('hostile frames', () => {
  // Before the scan, @msgpack/msgpack preallocated every claimed array: 15 KB of these headers took 2.7 GB.
  test('nested array headers claiming 65,535 elements each are refused at once', () => {
    const frame = new Uint8Array(3 * 100_000)
    for (let i = 0; i < frame.length; i += 3) frame.set([0xdc, 0xff, 0xfe], i)
    const before = process.memoryUsage().rss
    const start = performance.now()
    expect(decodeErrorOf(() => codec.decode(frame)).code).toBe('DD_ERR_DECODE_TRUNCATED')
    expect(performance.now() - start).toBeLessThan(1000)
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024)
  })

  test('a map header claiming 2^32-1 entries is refused at once', () => {
    expect(decodeErrorOf(() => codec.decode(hex('94 01 a161 df ffffffff'))).code).toBe(
      'DD_ERR_DECODE_TRUNCATED',
    )
  })

  test('deep nesting decodes without recursion', () => {
    const depth = 100_000
    const frame = new Uint8Array(depth + 6)
    frame.set(hex('94 01 a161 80'), 0)
    frame.fill(0x91, 5, 5 + depth) // [[[[…]]]]
    frame[5 + depth] = 0xc0
    let body = codec.decode(frame).body
    for (let i = 0; i < depth; i++) body = (body as unknown[])[0]
    expect(body).toBe(null)
  })

  test('a __proto__ key cannot pollute prototypes', () => {
    const key = '81 a9 5f5f70726f746f5f5f 81 a8 706f6c6c75746564 c3' // {"__proto__": {"polluted": true}}
    for (const frame of [`94 01 a161 ${key} c0`, `94 01 a161 80 ${key}`, `94 01 a161 80 91 ${key}`]) {
      expect(decodeErrorOf(() => codec.decode(hex(frame))).code).toBe('DD_ERR_DECODE_SHAPE')
    }
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
  })

  test('valid msgpack written by another encoder but not an envelope', () => {
    for (const value of [
      { name: 'a', head: {}, body: 1 },
      'text',
      [1, 'a'],
      [1, 'a', {}, null, null],
      new Uint8Array(4),
    ]) {
      expect(decodeErrorOf(() => codec.decodeFrame(msgpackEncode(value))).code).toBe('DD_ERR_DECODE_SHAPE')
    }
  })
})

describe('encode errors', () => {
  const invalid = { code: 'DD_ERR_ENCODE_INVALID' }
  test.each([
    ['an empty name', { name: '', head: {}, body: null }],
    ['a name that is not a string', { name: 7, head: {}, body: null }],
    ['a head that is an array', { name: 'a', head: [], body: null }],
    ['a head that is null', { name: 'a', head: null, body: null }],
    ['a head that is a class instance', { name: 'a', head: new Date(0), body: null }],
    ['a BigInt body', { name: 'a', head: {}, body: 1n }],
    ['a function body', { name: 'a', head: {}, body: () => 1 }],
    [
      'a body nested deeper than 100 levels',
      { name: 'a', head: {}, body: JSON.parse('['.repeat(120) + ']'.repeat(120)) },
    ],
    ['not an object', null],
  ])('%s', (_, envelope) => {
    expect(() => codec.encode(envelope as never)).toThrow(expect.objectContaining(invalid))
    expect(() => codec.encodeBatch([envelope as never])).toThrow(expect.objectContaining(invalid))
  })

  test('a cyclic body', () => {
    const body: Record<string, unknown> = {}
    body.self = body
    expect(() => codec.encode({ name: 'a', head: {}, body })).toThrow(expect.objectContaining(invalid))
  })

  test('the error keeps the library error as cause', () => {
    expect(() => codec.encode({ name: 'a', head: {}, body: 1n })).toThrow(EncodeError)
    expect(() => codec.encode({ name: 'a', head: {}, body: 1n })).toThrow(
      expect.objectContaining({ name: 'EncodeError', cause: expect.any(Error) }),
    )
  })
})

describe('what msgpack carries beyond JSON', () => {
  test('NaN, Infinity and undefined', () => {
    const { body } = codec.decode(
      codec.encode({ name: 'a', head: {}, body: [Number.NaN, -Infinity, undefined] }),
    )
    expect(body).toEqual([Number.NaN, -Infinity, null])
  })

  test('a Date travels as the msgpack timestamp extension (type -1)', () => {
    const frame = codec.encode({ name: 'a', head: {}, body: new Date(1_700_000_000_000) })
    expect(toHex(frame)).toBe('9401a16180d6ff6553f100')
    expect(codec.decode(frame).body).toEqual(new Date(1_700_000_000_000))
  })

  test('-0 is written as the integer 0', () => {
    expect(Object.is(codec.decode(codec.encode({ name: 'a', head: {}, body: -0 })).body, 0)).toBe(true)
  })
})
