import fc from 'fast-check'
import { expect } from 'vitest'
import type { Codec, DecodeErrorCode, Envelope, Head } from '../src/index.js'
import { BertCodec, DecodeError, JsonCodec, MsgpackCodec } from '../src/index.js'

/** Every code a DecodeError may carry. */
export const DECODE_CODES: readonly DecodeErrorCode[] = [
  'DD_ERR_DECODE_TOO_LARGE',
  'DD_ERR_DECODE_TRUNCATED',
  'DD_ERR_DECODE_MALFORMED',
  'DD_ERR_DECODE_VERSION',
  'DD_ERR_DECODE_SHAPE',
]

/** Every codec, for `describe.each`: every behaviour the Codec interface promises is tested on each. */
export const codecs = (): [string, Codec][] => [
  ['msgpack', new MsgpackCodec()],
  ['json', new JsonCodec()],
  ['bert', new BertCodec()],
]

/** Bytes from a hex string; spaces are ignored, so dumps can be grouped by field. */
export const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'))

/** Hex of bytes, for readable failure messages. */
export const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

/** UTF-8 bytes of a text frame. */
export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text)

/**
 * The value a decoder gives back for `value`: every byte array (a Buffer included) as a plain `Uint8Array`
 * holding the same bytes. `toEqual` compares typed arrays by constructor and elements, so comparing a decoded
 * value with `normalize(original)` also checks that no Buffer comes out of a decoder.
 */
export function normalize(value: unknown): unknown {
  if (ArrayBuffer.isView(value))
    return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength))
  if (Array.isArray(value)) return value.map(normalize)
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value)) out[key] = normalize((value as Record<string, unknown>)[key])
    return out
  }
  return value
}

/** Runs `fn`, which must throw a DecodeError; returns it. Anything else thrown, or nothing, fails the test. */
export function decodeErrorOf(fn: () => unknown): DecodeError {
  let thrown: unknown
  let returned = false
  try {
    fn()
    returned = true
  } catch (err) {
    thrown = err
  }
  expect(returned, 'expected a DecodeError, but the call returned').toBe(false)
  expect(thrown).toBeInstanceOf(DecodeError)
  expect(DECODE_CODES).toContain((thrown as DecodeError).code)
  return thrown as DecodeError
}

/** Runs `fn`: it may return, or throw a DecodeError with a known code; nothing else. */
export function onlyDecodeErrors(fn: () => unknown): void {
  try {
    fn()
  } catch (err) {
    if (!(err instanceof DecodeError))
      throw new Error(`threw a non-DecodeError: ${String(err)}`, { cause: err })
    if (!DECODE_CODES.includes(err.code)) throw new Error(`unknown code ${err.code}`)
  }
}

// ---------------------------------------------------------------------------------------------------------
// Arbitraries

/** Well-formed Unicode (any code point, surrogate pairs, never a lone surrogate). */
export const text = (maxLength = 16): fc.Arbitrary<string> => fc.string({ unit: 'binary', maxLength })

/**
 * Map keys: any string but `__proto__` (refused by both decoders, tested on its own), with the words the JSON
 * codec treats specially (`$bin`, `$esc`) and dripdrop's reserved head keys drawn often.
 */
export const key: fc.Arbitrary<string> = fc
  .oneof(
    { arbitrary: text(8), weight: 4 },
    { arbitrary: fc.constantFrom('$bin', '$esc', '$id', '$re', '$err', '0', ''), weight: 1 },
  )
  .filter((k) => k !== '__proto__')

/** A finite number; -0 is left out because both codecs write it as 0 (msgpack as the integer 0, JSON as `0`). */
export const finite: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n)),
)

/** Bytes, as a Uint8Array (sometimes a view into a larger buffer) or a Buffer. */
export const bytes = (maxLength = 32): fc.Arbitrary<Uint8Array> =>
  fc.oneof(
    fc.uint8Array({ maxLength }),
    fc.uint8Array({ maxLength }).map((a) => Buffer.from(a)),
    fc.uint8Array({ minLength: 2, maxLength }).map((a) => a.subarray(1, a.length - 1)),
  )

const scalar: fc.Arbitrary<unknown> = fc.oneof(text(), finite, fc.boolean(), fc.constant(null))

/**
 * A body: nested objects, arrays, strings, finite numbers, booleans, null and byte arrays, including objects
 * whose only key is `$bin` or `$esc` (which the JSON codec must escape).
 */
export const value: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    bytes(),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(key, tie('value'), { maxKeys: 5, noNullPrototype: true }),
    fc.record({ $bin: tie('value') }),
    fc.record({ $esc: tie('value') }),
  ),
})).value

/** A head: string keys to plain values. */
export const head: fc.Arbitrary<Head> = fc.dictionary(key, value, {
  maxKeys: 6,
  noNullPrototype: true,
}) as fc.Arbitrary<Head>

/** An envelope: a non-empty name, a head, a body. */
export const envelope: fc.Arbitrary<Envelope> = fc.record({
  name: text(24).filter((n) => n.length > 0),
  head,
  body: value,
})
