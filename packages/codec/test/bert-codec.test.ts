import { deflateSync } from 'node:zlib'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { BertCodec, EncodeError } from '../src/index.js'
import { decodeErrorOf, hex, toHex, value } from './helpers.js'

const codec = new BertCodec()

// Hex of a BINARY_EXT holding the UTF-8 of `s`.
const bin = (s: string) => {
  const b = Buffer.from(s)
  return `6d ${b.length.toString(16).padStart(8, '0')} ${b.toString('hex')}`
}
// A frame {1, <<"a">>, #{}, Body} around the hex of a body term.
const frame = (body: string, head = '74 00000000') => `83 68 04 61 01 ${bin('a')} ${head} ${body}`

describe('wire format (bytes pinned)', () => {
  test('a small envelope is the tuple {1, Name, Head, Body}', () => {
    const bytes = codec.encode({ name: 'hi', head: { $id: 7 }, body: { ok: true } })
    // 83 version | 68 04 tuple of 4 | 61 01 the integer 1 | 6d 00000002 6869 <<"hi">>
    // | 74 00000001 6d 00000003 246964 61 07 #{<<"$id">> => 7} | 74 00000001 6d 00000002 6f6b 77 04 74727565 #{<<"ok">> => true}
    expect(toHex(bytes)).toBe(
      '83680461016d00000002686974000000016d00000003246964610774000000016d000000026f6b770474727565',
    )
  })

  test('hand-written bytes decode to the envelope', () => {
    expect(
      codec.decode(
        hex(
          '83 68 04 61 01 6d 00000002 6869 74 00000001 6d 00000003 246964 61 07 74 00000001 6d 00000002 6f6b 77 04 74727565',
        ),
      ),
    ).toEqual({ name: 'hi', head: { $id: 7 }, body: { ok: true } })
  })

  test('a batch is {2, [{1, …}, {1, …}]}, the empty batch {2, []}', () => {
    const envs = [
      { name: 'a', head: {}, body: null },
      { name: 'b', head: {}, body: [1, -1] },
    ]
    expect(toHex(codec.encodeBatch(envs))).toBe(
      '83680261026c00000002' +
        '680461016d0000000161740000000077036e696c' + // {1, <<"a">>, #{}, nil}
        '680461016d000000016274000000006c00000002610162ffffffff6a' + // {1, <<"b">>, #{}, [1, -1]}
        '6a',
    )
    expect(codec.decodeBatch(codec.encodeBatch(envs))).toEqual(envs)
    expect(toHex(codec.encodeBatch([]))).toBe('83680261026a')
    expect(codec.decodeBatch(hex('83 68 02 61 02 6a'))).toEqual([])
  })

  test('a byte array is {bert, bin, <<Bytes>>}', () => {
    const bytes = codec.encode({ name: 'b', head: {}, body: new Uint8Array([0xde, 0xad]) })
    expect(toHex(bytes)).toBe('83680461016d000000016274000000006803770462657274770362696e6d00000002dead')
    expect(codec.decode(bytes).body).toEqual(new Uint8Array([0xde, 0xad]))
  })

  test('integers take SMALL_INTEGER, INTEGER or SMALL_BIG; other numbers NEW_FLOAT; bigints big', () => {
    expect(toHex(codec.encodeValue([0, 255, 256, -1, 2 ** 31, -(2 ** 53 - 1), 0.5, 2n ** 64n]))).toBe(
      '836c00000008' +
        '6100' + // 0
        '61ff' + // 255
        '6200000100' + // 256
        '62ffffffff' + // -1
        '6e040000000080' + // 2^31: 4 digits, least significant first
        '6e0701ffffffffffff1f' + // -(2^53 - 1): sign 1
        '463fe0000000000000' + // 0.5
        '6e0900000000000000000001' + // 2^64
        '6a',
    )
  })

  test('null, undefined, booleans are atoms; strings binaries; [] is NIL_EXT', () => {
    expect(toHex(codec.encodeValue([null, undefined, true, false, 'é', []]))).toBe(
      '836c00000006' +
        '77036e696c' +
        '77036e696c' +
        '770474727565' +
        '770566616c7365' +
        '6d00000002c3a9' +
        '6a' +
        '6a',
    )
    expect(codec.decodeValue(codec.encodeValue([null, undefined]))).toEqual([null, null])
  })

  test('a Date is {bert, time, Mega, Sec, Micro}', () => {
    const date = new Date(1_700_000_000_123)
    expect(toHex(codec.encodeValue(date))).toBe(
      '836805770462657274770474696d6562000006a46100620001e078', // {bert, time, 1700, 0, 123000}
    )
    expect(codec.decodeValue(codec.encodeValue(date))).toEqual(date)
    const before1970 = new Date(-1_234_567_890_123)
    expect(codec.decodeValue(codec.encodeValue(before1970))).toEqual(before1970)
  })

  test('integers beyond 2^53 decode as bigint, safe ones as numbers whatever their form', () => {
    // SMALL_BIG 2^53 | LARGE_BIG of 1 digit (1) | SMALL_BIG 2^53 - 1 with a leading zero digit
    expect(
      codec.decodeValue(
        hex('83 6c 00000003 6e 07 00 00000000000020 6f 00000001 01 01 6e 08 00 ffffffffffff1f00 6a'),
      ),
    ).toEqual([2n ** 53n, -1, Number.MAX_SAFE_INTEGER])
    expect(codec.decodeValue(codec.encodeValue(-(2n ** 3000n)))).toBe(-(2n ** 3000n))
  })

  test('metadata', () => {
    expect(codec.name).toBe('bert')
    expect(codec.contentType).toBe('application/x-bert')
    expect(codec.binary).toBe(true)
    expect(codec.maxMessageBytes).toBe(16 * 1024 * 1024)
  })
})

describe('binary values', () => {
  test('decode as views into the frame: no copy', () => {
    const bytes = codec.encode({ name: 'b', head: {}, body: new Uint8Array(2048).fill(7) })
    expect((codec.decode(bytes).body as Uint8Array).buffer).toBe(bytes.buffer)
  })

  test('a Buffer decodes as a plain Uint8Array, also when the frame is a Buffer', () => {
    const bytes = codec.encode({ name: 'b', head: { k: Buffer.from('hk') }, body: Buffer.from('hi') })
    for (const input of [bytes, Buffer.from(bytes)]) {
      const decoded = codec.decode(input)
      expect((decoded.body as Uint8Array).constructor).toBe(Uint8Array)
      expect((decoded.head.k as Uint8Array).constructor).toBe(Uint8Array)
      expect(decoded.body).toEqual(new Uint8Array([0x68, 0x69]))
    }
  })

  test('a view into a larger buffer is written from its own bytes; typed arrays as their bytes', () => {
    const pool = Buffer.alloc(8192, 0xee)
    const body = pool.subarray(100, 100 + 4096).fill(0x42)
    expect(codec.decode(codec.encode({ name: 'p', head: {}, body })).body).toEqual(
      new Uint8Array(4096).fill(0x42),
    )
    expect(codec.decodeValue(codec.encodeValue(new Uint16Array([0x0102])))).toEqual(new Uint8Array([2, 1]))
  })
})

describe('maxMessageBytes', () => {
  test('decode refuses a frame one byte over the limit, accepts one at it', () => {
    const bytes = codec.encode({ name: 'x', head: {}, body: 'abcd' })
    expect(bytes.length).toBe(25)
    expect(new BertCodec({ maxMessageBytes: 25 }).decode(bytes).body).toBe('abcd')
    for (const decode of ['decode', 'decodeBatch', 'decodeFrame', 'decodeValue'] as const) {
      expect(decodeErrorOf(() => new BertCodec({ maxMessageBytes: 24 })[decode](bytes))).toMatchObject({
        code: 'DD_ERR_DECODE_TOO_LARGE',
        frameBytes: 25,
      })
    }
  })

  test('encode refuses a frame over the limit, on every path, and the codec still works after', () => {
    const small = new BertCodec({ maxMessageBytes: 2000 })
    const tooLarge = { code: 'DD_ERR_ENCODE_TOO_LARGE' }
    expect(() => small.encode({ name: 'x', head: {}, body: 'a'.repeat(2000) })).toThrow(
      expect.objectContaining(tooLarge),
    )
    expect(() => small.encode({ name: 'x', head: {}, body: 'é'.repeat(990) })).toThrow(
      expect.objectContaining(tooLarge),
    )
    expect(() => small.encode({ name: 'x', head: {}, body: new Uint8Array(1995) })).toThrow(
      expect.objectContaining(tooLarge),
    )
    expect(() =>
      small.encodeBatch([1, 2, 3].map(() => ({ name: 'x', head: {}, body: 'a'.repeat(700) }))),
    ).toThrow(expect.objectContaining(tooLarge))
    expect(() => small.encodeValue('a'.repeat(2000))).toThrow(EncodeError)
    // 83 68 04 61 01 6d 00000001 78 74 00000000 (15 bytes) + 68 03 77 04 bert 77 03 bin 6d + length (19) + bytes
    expect(small.encode({ name: 'x', head: {}, body: new Uint8Array(1966) }).length).toBe(2000)
    expect(() => small.encode({ name: 'x', head: {}, body: new Uint8Array(1967) })).toThrow(
      expect.objectContaining(tooLarge),
    )
  })

  test('a length larger than the frame is a truncated frame, not an allocation', () => {
    for (const body of [
      '6d ffffffff',
      '6c ffffffff',
      '74 ffffffff',
      '69 ffffffff',
      '6f ffffffff 00',
      '6b ffff',
    ]) {
      expect(decodeErrorOf(() => codec.decode(hex(frame(body)))).code, body).toBe('DD_ERR_DECODE_TRUNCATED')
    }
  })
})

describe('compressed terms (tag 80)', () => {
  const compressed = (term: Uint8Array, declared = term.length) => {
    const z = deflateSync(term)
    const out = new Uint8Array(6 + z.length)
    out.set([0x83, 0x50])
    new DataView(out.buffer).setUint32(2, declared)
    out.set(z, 6)
    return out
  }
  const inner = codec.encode({ name: 'z', head: {}, body: 'dripdrop '.repeat(100) }).subarray(1)

  test('inflate and decode', () => {
    expect(inner.length).toBeGreaterThan(512)
    expect(codec.decode(compressed(inner))).toEqual({ name: 'z', head: {}, body: 'dripdrop '.repeat(100) })
  })

  test('a declared size over maxMessageBytes is refused before inflating', () => {
    const err = decodeErrorOf(() => new BertCodec({ maxMessageBytes: 512 }).decode(compressed(inner)))
    expect(err.code).toBe('DD_ERR_DECODE_TOO_LARGE')
    expect(decodeErrorOf(() => codec.decode(compressed(inner, 0xffffffff))).code).toBe(
      'DD_ERR_DECODE_TOO_LARGE',
    )
  })

  test('a bomb (64 MiB of zeros in 64 KiB) stops at its declared size', () => {
    const bomb = compressed(new Uint8Array(64 * 1024 * 1024), 1024)
    expect(bomb.length).toBeLessThan(128 * 1024)
    const err = decodeErrorOf(() => codec.decode(bomb))
    expect(err.code).toBe('DD_ERR_DECODE_MALFORMED')
    expect(err.message).toMatch(/beyond its declared size/)
  })

  test('less data than declared, cut zlib data, not zlib at all', () => {
    expect(decodeErrorOf(() => codec.decode(compressed(inner, inner.length + 1))).code).toBe(
      'DD_ERR_DECODE_MALFORMED',
    )
    const whole = compressed(inner)
    expect(decodeErrorOf(() => codec.decode(whole.subarray(0, whole.length - 8))).code).toBe(
      'DD_ERR_DECODE_TRUNCATED',
    )
    expect(decodeErrorOf(() => codec.decode(hex('83 50 00'))).code).toBe('DD_ERR_DECODE_TRUNCATED')
    expect(decodeErrorOf(() => codec.decode(hex('83 50 00000010 0102030405060708'))).code).toBe(
      'DD_ERR_DECODE_MALFORMED',
    )
  })
})

describe('every decode error code, on purpose', () => {
  test('DD_ERR_DECODE_TRUNCATED', () => {
    for (const bytes of [
      '',
      '83',
      '83 68 04 61 01 6d 0000',
      frame('46 3fe0'),
      frame('6c 00000001 61 01'),
      '83 68 02 61 02 6c 00000001',
    ]) {
      expect(decodeErrorOf(() => codec.decodeFrame(hex(bytes))).code, bytes).toBe('DD_ERR_DECODE_TRUNCATED')
    }
  })

  test('DD_ERR_DECODE_MALFORMED', () => {
    const cases: [string, string][] = [
      ['00', 'no version byte'],
      ['84 6a', 'another version byte'],
      [frame('ff'), 'unknown tag'],
      [`${frame('6a')} 00`, 'a trailing byte'],
      [frame('46 7ff0000000000000'), 'infinite float'],
      [frame('46 7ff8000000000000'), 'NaN'],
      [frame('6d 00000002 c328'), 'binary that is not UTF-8'],
      [frame('6d 00000001 ff'), 'binary that is not UTF-8'],
      [frame('6e 01 02 05'), 'big with sign byte 2'],
    ]
    for (const [bytes, what] of cases) {
      expect(decodeErrorOf(() => codec.decodeFrame(hex(bytes))).code, what).toBe('DD_ERR_DECODE_MALFORMED')
    }
    expect(decodeErrorOf(() => codec.decode('[1,"a",{},null]')).code).toBe('DD_ERR_DECODE_MALFORMED')
    expect(decodeErrorOf(() => codec.decode([0x83] as unknown as Uint8Array)).code).toBe(
      'DD_ERR_DECODE_MALFORMED',
    )
  })

  test('DD_ERR_DECODE_VERSION: a frame tag this peer does not know', () => {
    for (const bytes of [
      `83 68 04 61 03 ${bin('a')} 74 00000000 6a`,
      '83 68 01 61 00',
      '83 68 01 62 ffffffff',
      '83 68 01 6e 09 00 000000000000000001',
      `83 68 02 61 02 6c 00000001 68 04 61 07 ${bin('a')} 74 00000000 6a 6a`,
    ]) {
      expect(decodeErrorOf(() => codec.decodeFrame(hex(bytes))).code, bytes).toBe('DD_ERR_DECODE_VERSION')
    }
  })

  test('DD_ERR_DECODE_SHAPE: valid terms that are not a frame', () => {
    const cases: [string, string][] = [
      ['83 77 03 6e696c', 'nil'],
      ['83 68 00', 'empty tuple'],
      [`83 6c 00000004 61 01 ${bin('a')} 74 00000000 6a 6a`, 'a list, not a tuple'],
      [`83 68 03 61 01 ${bin('a')} 74 00000000`, 'three elements'],
      [`83 68 05 61 01 ${bin('a')} 74 00000000 6a 6a`, 'five elements'],
      [`83 68 04 61 01 ${bin('')} 74 00000000 6a`, 'empty name'],
      ['83 68 04 61 01 61 07 74 00000000 6a', 'name an integer'],
      [frame('6a', '6a'), 'head a list'],
      [frame('6a', '77 03 6e696c'), 'head nil'],
      [`83 68 04 ${bin('1')} ${bin('a')} 74 00000000 6a`, 'tag a binary'],
      ['83 68 02 61 02 77 03 6e696c', 'batch of nil'],
      ['83 68 02 61 02 6c 00000001 61 01 6a', 'batch element not a tuple'],
      ['83 68 02 61 02 6c 00000001 68 02 61 02 6a 6a', 'batch inside a batch'],
      ['83 68 03 61 02 6a 6a', 'batch of 3 elements'],
      [frame('6c 00000001 61 01 61 02'), 'improper list'],
      [frame(`74 00000001 68 01 61 01 61 01`), 'map key a tuple'],
      [frame(`74 00000001 46 3ff0000000000000 61 01`), 'map key a float'],
      [frame('68 02 77 04 62657274 77 04 64696374'), '{bert, dict}'],
      [frame('68 03 77 04 62657274 77 03 62696e 61 01'), '{bert, bin, 1}'],
      [
        frame('68 05 77 04 62657274 77 04 74696d65 61 01 61 02 46 3ff8000000000000'),
        '{bert, time, …} with a float',
      ],
      [frame('58 77 01 61 00000001 00000002 00000003'), 'a pid'],
      [frame('4d 00000001 03 20'), 'a bitstring'],
      [frame('63 00'), 'FLOAT_EXT'],
    ]
    for (const [bytes, what] of cases) {
      expect(decodeErrorOf(() => codec.decodeFrame(hex(bytes))).code, what).toBe('DD_ERR_DECODE_SHAPE')
    }
  })

  test('decode wants one envelope and decodeBatch a batch', () => {
    const one = codec.encode({ name: 'a', head: {}, body: null })
    const batch = codec.encodeBatch([{ name: 'a', head: {}, body: null }])
    expect(decodeErrorOf(() => codec.decode(batch)).code).toBe('DD_ERR_DECODE_SHAPE')
    expect(decodeErrorOf(() => codec.decodeBatch(one)).code).toBe('DD_ERR_DECODE_SHAPE')
    expect(codec.decodeFrame(batch)).toEqual([{ name: 'a', head: {}, body: null }])
  })

  test('the error carries the frame size and the name DecodeError', () => {
    const err = decodeErrorOf(() => codec.decode(hex(frame('6d 00000001 ff'))))
    expect(err.frameBytes).toBe(hex(frame('6d 00000001 ff')).length)
    expect(err.name).toBe('DecodeError')
    expect(err.cause).toBeInstanceOf(Error)
  })
})

describe('hostile frames', () => {
  test('nested list headers claiming 2^32 - 1 elements each are refused at once, without allocating', () => {
    const bytes = new Uint8Array(5 * 200_000 + 1)
    bytes[0] = 0x83
    for (let i = 1; i < bytes.length; i += 5) bytes.set([0x6c, 0xff, 0xff, 0xff, 0xfe], i)
    const before = process.memoryUsage().rss
    expect(decodeErrorOf(() => codec.decodeValue(bytes)).code).toBe('DD_ERR_DECODE_TRUNCATED')
    expect(process.memoryUsage().rss - before).toBeLessThan(100 * 1024 * 1024)
  })

  test('lists that each claim as many elements as bytes remain are still bounded in total', () => {
    // Each header claims exactly the bytes left after it: every one alone looks possible.
    const depth = 90
    const bytes = new Uint8Array(1 + depth * 5 + 10_000)
    bytes[0] = 0x83
    for (let i = 0; i < depth; i++) {
      const at = 1 + i * 5
      bytes[at] = 0x6c
      new DataView(bytes.buffer).setUint32(at + 1, bytes.length - at - 5)
    }
    expect(decodeErrorOf(() => codec.decodeValue(bytes)).code).toBe('DD_ERR_DECODE_TRUNCATED')
  })

  test('nesting deeper than 100 levels is refused, not a stack overflow', () => {
    const depth = 100_000
    const bytes = new Uint8Array(1 + depth * 5 + 1)
    bytes[0] = 0x83
    for (let i = 0; i < depth; i++) bytes.set([0x6c, 0, 0, 0, 1], 1 + i * 5)
    bytes[bytes.length - 1] = 0x6a
    expect(decodeErrorOf(() => codec.decodeValue(bytes)).code).toBe('DD_ERR_DECODE_SHAPE')
    // 98 levels inside the frame tuple and the body list: accepted.
    const ok = JSON.parse('['.repeat(98) + ']'.repeat(98))
    expect(codec.decode(codec.encode({ name: 'd', head: {}, body: ok })).body).toEqual(ok)
  })

  test('a __proto__ key, as a binary or an atom, cannot pollute prototypes', () => {
    const proto = `74 00000001 ${bin('__proto__')} 74 00000001 ${bin('polluted')} 77 04 74727565`
    const protoAtom = `74 00000001 77 09 ${Buffer.from('__proto__').toString('hex')} 61 01`
    for (const bytes of [
      frame('6a', proto),
      frame(proto),
      frame(`6c 00000001 ${proto} 6a`),
      frame(protoAtom),
    ]) {
      expect(decodeErrorOf(() => codec.decode(hex(bytes))).code).toBe('DD_ERR_DECODE_SHAPE')
    }
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
  })

  test('terms our encoder writes from any value decode to an envelope or fail with SHAPE/VERSION only', () => {
    const notEnvelope = fc.oneof(
      value,
      fc.array(value, { maxLength: 6 }),
      fc.record({ name: fc.string(), head: value, body: value }),
    )
    fc.assert(
      fc.property(notEnvelope, (v) => {
        const bytes = codec.encodeValue(v)
        try {
          codec.decodeFrame(bytes)
        } catch (err) {
          expect(['DD_ERR_DECODE_SHAPE', 'DD_ERR_DECODE_VERSION']).toContain((err as { code?: string }).code)
        }
      }),
      { numRuns: 500 },
    )
  })
})

describe('what BERT carries beyond JSON', () => {
  test('any bigint comes back: as a number when it is a safe integer, else as the same bigint', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 2100n), max: 2n ** 2100n }), (n) => {
        const safe = n >= BigInt(-Number.MAX_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER)
        expect(codec.decodeValue(codec.encodeValue(n))).toEqual(safe ? Number(n) : n)
      }),
      { numRuns: 500 },
    )
  })

  test('integers are carried up to 1024 bytes (8192 bits), refused beyond, both ways', () => {
    const largest = 2n ** 8192n - 1n
    expect(codec.decodeValue(codec.encodeValue(-largest))).toBe(-largest)
    expect(() => codec.encodeValue(largest + 1n)).toThrow(
      expect.objectContaining({ code: 'DD_ERR_ENCODE_INVALID' }),
    )
    const tooBig = new Uint8Array(1 + 6 + 1025)
    tooBig.set([0x83, 0x6f, 0, 0, 0x04, 0x01, 0])
    tooBig[tooBig.length - 1] = 1
    expect(decodeErrorOf(() => codec.decodeValue(tooBig)).code).toBe('DD_ERR_DECODE_SHAPE')
  })

  test('any valid Date comes back to the millisecond', () => {
    fc.assert(
      fc.property(fc.date({ noInvalidDate: true }), (d) => {
        expect(codec.decodeValue(codec.encodeValue(d))).toEqual(d)
      }),
      { numRuns: 500 },
    )
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
    ['a NaN body', { name: 'a', head: {}, body: Number.NaN }],
    ['an Infinity in the head', { name: 'a', head: { x: -Infinity }, body: null }],
    ['a function body', { name: 'a', head: {}, body: () => 1 }],
    ['a symbol body', { name: 'a', head: {}, body: Symbol('s') }],
    ['an invalid Date', { name: 'a', head: {}, body: new Date(Number.NaN) }],
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
    // The codec is still usable after a failed encode.
    expect(codec.decode(codec.encode({ name: 'a', head: {}, body: 1 })).body).toBe(1)
  })
})
