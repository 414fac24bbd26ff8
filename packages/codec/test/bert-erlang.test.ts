/**
 * The BERT codec against Erlang itself (OTP's escript, see test/fixtures/bert-cases.escript): terms written by
 * Erlang's term_to_binary decode to the expected envelopes, and our frames binary_to_term (with `[safe]`) in
 * Erlang to exactly (=:=) the expected terms. Both directions, single and batch frames, every type of the
 * mapping in docs/protocol.md §5b.
 */
import fc from 'fast-check'
import { beforeAll, describe, expect, test } from 'vitest'
import type { DecodeErrorCode, Envelope } from '../src/index.js'
import { BertCodec } from '../src/index.js'
import { escript, hexLines } from './erlang.js'
import { decodeErrorOf, envelope, normalize, toHex } from './helpers.js'

const codec = new BertCodec()
const env = (name: string, body: unknown, head: Envelope['head'] = {}): Envelope => ({ name, head, body })
const seq = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

/** The JavaScript side of both() in the escript: each term maps to this value and back. */
const BOTH: Record<string, Envelope | Envelope[]> = {
  small: env('hi', { ok: true }, { $id: 7 }),
  integers: env('ints', [
    0,
    255,
    256,
    -1,
    2147483647,
    -2147483648,
    2147483648,
    -2147483649,
    Number.MAX_SAFE_INTEGER,
    -Number.MAX_SAFE_INTEGER,
  ]),
  bigints: env('big', [2n ** 53n, -(2n ** 53n), 2n ** 64n, -(2n ** 100n), 2n ** 2100n]),
  floats: env('floats', [0.5, -1.5e300, 5e-324, 1e100, -0.25]),
  atoms: env('atoms', [null, true, false]),
  strings: env('strings', ['', 'héllo', '日本', '😀', 'é'.repeat(40000)], { k: 'v' }),
  bytes: env('bytes', [new Uint8Array([1, 2, 3]), new Uint8Array(0)], { k: new Uint8Array([255]) }),
  bytes4k: env(
    'b',
    Uint8Array.from(seq(0, 4095), (i) => i % 256),
  ),
  lists: env('lists', [[], [1, [2, [3]]], ['a', {}], seq(1, 300)]),
  maps: env('maps', { a: { b: [{}] }, '': null }, { $id: 1, $re: 2 }),
  date: env('date', new Date(1_700_000_000_123)),
  error: env('add', { name: 'TypeError', code: 'DD_ERR_HANDLER', message: 'bad' }, { $re: 1, $err: true }),
  batch: [env('a', null), env('b', [1, -1])],
  'batch.empty': [],
  request: env('add', [2, 3], { $id: 1 }),
  'request.fail': env('fail', null, { $id: 2 }),
  reply: env('add', 5, { $re: 1 }),
}

/** The JavaScript side of decoded() in the escript: what Erlang may write that we read but write otherwise. */
const DECODED: Record<string, Envelope> = {
  'atoms.other': env('atoms', ['ok', null, 'héllo', null, true, false]),
  keys: env('keys', { nil: 1, true: 2 }, { id: 7, '1': 'one', b: 2 }),
  charlist: env('charlist', [97, 98, 99]),
  tuples: env('tuples', [['ok', 5], [], seq(1, 300)]),
  'float.integral': env('f', 2),
  'name.atom': env('hello', null),
  repetitive: env('r', 'dripdrop '.repeat(10000)),
}

/** refused() in the escript, and float_ext: the code each one is refused with. */
const REFUSED: Record<string, DecodeErrorCode> = {
  pid: 'DD_ERR_DECODE_SHAPE',
  ref: 'DD_ERR_DECODE_SHAPE',
  fun: 'DD_ERR_DECODE_SHAPE',
  export: 'DD_ERR_DECODE_SHAPE',
  port: 'DD_ERR_DECODE_SHAPE',
  improper: 'DD_ERR_DECODE_SHAPE',
  bitstring: 'DD_ERR_DECODE_SHAPE',
  latin1binary: 'DD_ERR_DECODE_MALFORMED',
  'bert.dict': 'DD_ERR_DECODE_SHAPE',
  tuplekey: 'DD_ERR_DECODE_SHAPE',
  proto: 'DD_ERR_DECODE_SHAPE',
  tag3: 'DD_ERR_DECODE_VERSION',
  'list.frame': 'DD_ERR_DECODE_SHAPE',
  'name.empty': 'DD_ERR_DECODE_SHAPE',
  'head.list': 'DD_ERR_DECODE_SHAPE',
  deep: 'DD_ERR_DECODE_SHAPE',
  'batch.nested': 'DD_ERR_DECODE_SHAPE',
  'batch.tuple': 'DD_ERR_DECODE_SHAPE',
  float_ext: 'DD_ERR_DECODE_SHAPE',
}

const encodeFrame = (expected: Envelope | Envelope[]) =>
  Array.isArray(expected) ? codec.encodeBatch(expected) : codec.encode(expected)

let fromErlang: Map<string, Uint8Array>

beforeAll(() => {
  fromErlang = hexLines(escript(['emit']))
})

describe('Erlang term_to_binary → BertCodec', () => {
  // Each term three ways: OTP's default (latin-1 ATOM_EXT atoms in OTP 25), UTF-8 atoms (minor_version 2, the
  // default from OTP 26), and [compressed] (tag 80, when zlib makes it smaller).
  const variants = ['', '.utf8atoms', '.compressed']

  test.each(Object.keys(BOTH))('%s', (name) => {
    for (const variant of variants) {
      const frame = fromErlang.get(name + variant)
      expect(frame, name + variant).toBeDefined()
      expect(codec.decodeFrame(frame as Uint8Array), name + variant).toEqual(BOTH[name])
    }
  })

  test.each(Object.keys(DECODED))('%s (read, written otherwise)', (name) => {
    for (const variant of variants) {
      const frame = fromErlang.get(name + variant) as Uint8Array
      expect(codec.decode(frame), name + variant).toEqual(DECODED[name])
    }
  })

  test('the compressed variants really are compressed (tag 80) where zlib pays', () => {
    for (const name of ['repetitive', 'strings', 'bytes4k', 'batch', 'lists']) {
      expect(fromErlang.get(`${name}.compressed`)?.[1], name).toBe(80)
    }
  })

  test.each(Object.entries(REFUSED))('%s is refused with %s', (name, code) => {
    const frame = fromErlang.get(name) as Uint8Array
    expect(frame).toBeDefined()
    expect(decodeErrorOf(() => codec.decodeFrame(frame)).code).toBe(code)
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
  })

  test('a single-envelope frame with the atom true is byte for byte what we write (OTP 26 atoms)', () => {
    expect(toHex(codec.encode(BOTH.small as Envelope))).toBe(
      toHex(fromErlang.get('small.utf8atoms') as Uint8Array),
    )
    expect(toHex(codec.encode(BOTH.reply as Envelope))).toBe(toHex(fromErlang.get('reply') as Uint8Array))
  })
})

test('without Erlang these tests fail, saying how to install it', () => {
  expect(() => escript(['emit'], undefined, { PATH: '/nonexistent' })).toThrow(/apt-get install erlang-base/)
})

describe('BertCodec → Erlang binary_to_term', () => {
  test('every frame we write is exactly (=:=) the expected Erlang term, single and batch', () => {
    const names = Object.keys(BOTH)
    const input = names.map((name) => `${name} ${toHex(encodeFrame(BOTH[name]))}\n`).join('')
    const report = escript(['check'], input).trim().split('\n')
    expect(report).toEqual(names.map((name) => `ok ${name}`))
  })

  test('the check can fail: a wrong value is reported, not accepted', () => {
    const wrong = toHex(codec.encode(env('hi', { ok: false }, { $id: 7 })))
    const report = escript(['check'], `small ${wrong}\n`).trim()
    expect(report).toMatch(/^fail small /)
  })

  test('a decoded Erlang frame re-encodes to a term Erlang reads as the original', () => {
    const names = Object.keys(BOTH)
    const input = names
      .map((name) => `${name} ${toHex(encodeFrame(codec.decodeFrame(fromErlang.get(name) as Uint8Array)))}\n`)
      .join('')
    expect(escript(['check'], input).trim().split('\n')).toEqual(names.map((name) => `ok ${name}`))
  })
})

describe('round trips through Erlang', () => {
  test('arbitrary envelopes: ours → binary_to_term → term_to_binary → ours come back equal', () => {
    // One escript run for the whole sample; fast-check draws the envelopes (seeded per run like the others).
    const envs = fc.sample(fc.oneof(envelope, fc.array(envelope, { maxLength: 3 })), 150)
    const input = envs.map((e, i) => `${i} ${toHex(encodeFrame(e as Envelope | Envelope[]))}\n`).join('')
    const echoed = hexLines(escript(['echo'], input))
    expect(echoed.size).toBe(envs.length)
    envs.forEach((e, i) => {
      expect(codec.decodeFrame(echoed.get(String(i)) as Uint8Array), `sample ${i}`).toEqual(normalize(e))
    })
  })
})
