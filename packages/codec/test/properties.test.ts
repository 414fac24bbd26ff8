/**
 * Property-based tests (fast-check) run on both codecs: round trips of arbitrary envelopes, and garbage in
 * that must come out as a DecodeError and nothing else.
 *
 * Round trips compare with `normalize(original)`: a decoded byte array is always a plain `Uint8Array` holding
 * the same bytes, whether a `Uint8Array`, a view into a larger buffer or a `Buffer` was encoded.
 */
import { encode as msgpackEncode } from '@msgpack/msgpack'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { JsonCodec, MsgpackCodec } from '../src/index.js'
import {
  codecs,
  DECODE_CODES,
  decodeErrorOf,
  envelope,
  normalize,
  onlyDecodeErrors,
  text,
  value,
} from './helpers.js'

const RUNS = { numRuns: 300 }

describe.each(codecs())('%s round trip', (_, codec) => {
  test('one envelope comes back exactly', () => {
    fc.assert(
      fc.property(envelope, (env) => {
        const frame = codec.encode(env)
        expect(codec.decode(frame)).toEqual(normalize(env))
        expect(codec.decodeFrame(frame)).toEqual(normalize(env))
        // Transports hand over Buffers: the result must be the same, byte arrays still plain Uint8Array.
        expect(codec.decode(Buffer.from(frame))).toEqual(normalize(env))
      }),
      RUNS,
    )
  })

  test('a batch comes back exactly, in order', () => {
    fc.assert(
      fc.property(fc.array(envelope, { maxLength: 8 }), (envs) => {
        expect(codec.decodeBatch(codec.encodeBatch(envs))).toEqual(normalize(envs))
        expect(codec.decodeFrame(codec.encodeBatch(envs))).toEqual(normalize(envs))
      }),
      RUNS,
    )
  })

  test('a lone value comes back exactly', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(codec.decodeValue(codec.encodeValue(v))).toEqual(normalize(v))
      }),
      RUNS,
    )
  })

  test('encoding is deterministic and a decoded envelope re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(envelope, (env) => {
        const frame = codec.encode(env)
        expect(codec.encode(env)).toEqual(frame)
        expect(codec.encode(codec.decode(frame))).toEqual(frame)
      }),
      RUNS,
    )
  })
})

describe('the JSON text form', () => {
  const json = new JsonCodec()
  test('is valid JSON, and the same text whether built as text or bytes', () => {
    fc.assert(
      fc.property(envelope, (env) => {
        const text = json.encodeText(env)
        expect(() => JSON.parse(text)).not.toThrow()
        expect(new TextDecoder().decode(json.encode(env))).toBe(text)
        expect(json.decode(text)).toEqual(normalize(env))
      }),
      RUNS,
    )
  })
})

describe.each(codecs())('%s garbage in, DecodeError out', (_, codec) => {
  const decoders = [
    (f: Uint8Array | string) => codec.decode(f),
    (f: Uint8Array | string) => codec.decodeBatch(f),
    (f: Uint8Array | string) => codec.decodeFrame(f),
    (f: Uint8Array | string) => codec.decodeValue(f),
  ]

  test('arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        for (const decode of decoders) onlyDecodeErrors(() => decode(bytes))
      }),
      { numRuns: 2000 },
    )
  })

  test('arbitrary bytes after a valid frame start', () => {
    const starts = codecs().flatMap(([, c]) => [c.encode({ name: 'x', head: {}, body: null }).subarray(0, 4)])
    fc.assert(
      fc.property(fc.constantFrom(...starts), fc.uint8Array({ maxLength: 64 }), (start, tail) => {
        const bytes = new Uint8Array(start.length + tail.length)
        bytes.set(start)
        bytes.set(tail, start.length)
        for (const decode of decoders) onlyDecodeErrors(() => decode(bytes))
      }),
      { numRuns: 2000 },
    )
  })

  test('arbitrary strings, and arbitrary JSON text', () => {
    fc.assert(
      fc.property(fc.oneof(text(200), fc.string({ unit: 'binary' }), fc.json()), (s) => {
        for (const decode of decoders) onlyDecodeErrors(() => decode(s))
      }),
      { numRuns: 2000 },
    )
  })

  test('every truncation of a valid frame is DD_ERR_DECODE_TRUNCATED', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          envelope.map((e) => codec.encode(e)),
          fc.array(envelope, { maxLength: 4 }).map((es) => codec.encodeBatch(es)),
        ),
        fc.nat(),
        (frame, at) => {
          const cut = frame.subarray(0, at % frame.length)
          for (const decode of decoders) {
            expect(decodeErrorOf(() => decode(cut)).code).toBe('DD_ERR_DECODE_TRUNCATED')
          }
        },
      ),
      RUNS,
    )
  })

  test('a valid frame with bytes flipped never throws anything but DecodeError', () => {
    fc.assert(
      fc.property(
        envelope.map((e) => codec.encode(e)),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
        (frame, flips) => {
          const bytes = frame.slice()
          for (const [at, mask] of flips) bytes[at % bytes.length] ^= mask
          for (const decode of decoders) onlyDecodeErrors(() => decode(bytes))
        },
      ),
      { numRuns: 1000 },
    )
  })
})

describe('msgpack that is not an envelope', () => {
  const msgpack = new MsgpackCodec()
  // Anything @msgpack/msgpack itself writes from plain data: valid msgpack, so only the envelope shape can fail.
  const notEnvelope = fc.oneof(
    value,
    fc.array(value, { maxLength: 6 }),
    fc.tuple(fc.integer({ min: -1000, max: 1000 }), value, value, value),
    fc.record({ name: text(), head: value, body: value }),
  )
  test('decodes to an envelope or throws DD_ERR_DECODE_SHAPE / DD_ERR_DECODE_VERSION', () => {
    fc.assert(
      fc.property(notEnvelope, (v) => {
        const frame = msgpackEncode(v)
        for (const decode of [
          (f: Uint8Array) => msgpack.decode(f),
          (f: Uint8Array) => msgpack.decodeFrame(f),
        ]) {
          try {
            decode(frame)
          } catch (err) {
            expect(DECODE_CODES).toContain((err as { code?: string }).code)
            expect(['DD_ERR_DECODE_SHAPE', 'DD_ERR_DECODE_VERSION']).toContain((err as { code: string }).code)
          }
        }
      }),
      { numRuns: 1000 },
    )
  })

  test('the same values as JSON text', () => {
    const json = new JsonCodec()
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        try {
          json.decodeFrame(JSON.stringify(v) ?? 'null')
        } catch (err) {
          expect(['DD_ERR_DECODE_SHAPE', 'DD_ERR_DECODE_VERSION']).toContain((err as { code?: string }).code)
        }
      }),
      { numRuns: 1000 },
    )
  })
})
