import { MsgpackCodec } from '@dripdrop/codec'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeMessage, encodeMessage, type PoolMessage, type WorkerMessage } from '../src/index.js'

const codec = new MsgpackCodec()
const hex = (s: string) => Uint8Array.from(Buffer.from(s.replace(/\s+/g, ''), 'hex'))

describe('wire format (docs/protocol.md §10.4)', () => {
  const cases: [WorkerMessage | PoolMessage, string][] = [
    [
      { type: 'hello', v: 1, slots: 8, tasks: ['inc'], pid: 4242 },
      '9401a568656c6c6f81a1760183a5736c6f747308a57461736b7391a3696e63a3706964cd1092',
    ],
    [
      { type: 'welcome', v: 1, heartbeatMs: 1000 },
      '9401a777656c636f6d6581a1760181ab6865617274626561744d73cd03e8',
    ],
    [{ type: 'run', tasks: [7, 'inc', Uint8Array.of(0x29)] }, '9401a372756e81a176019307a3696e63c40129'],
    [{ type: 'done', results: [7, 0, Uint8Array.of(0x2a)] }, '9401a4646f6e6581a17601930700c4012a'],
    [{ type: 'cancel', ids: [7] }, '9401a663616e63656c81a176019107'],
    [{ type: 'ping' }, '9401a470696e6781a17601c0'],
    [{ type: 'bye' }, '9401a362796581a17601c0'],
  ]

  for (const [msg, bytes] of cases) {
    it(`encodes and decodes ${msg.type} exactly as documented`, () => {
      expect(Buffer.from(encodeMessage(codec, msg)).toString('hex')).toBe(bytes)
      expect(decodeMessage(codec, hex(bytes))).toEqual(msg)
    })
  }

  it('decodes a hello of another version (so it can be refused) but no other message', () => {
    const oldHello = codec.encode({ name: 'hello', head: { v: 0 }, body: { slots: 1, tasks: [], pid: 1 } })
    expect(decodeMessage(codec, oldHello)).toMatchObject({ type: 'hello', v: 0 })
    const oldRun = codec.encode({ name: 'run', head: { v: 0 }, body: [] })
    expect(() => decodeMessage(codec, oldRun)).toThrow(
      expect.objectContaining({ code: 'DD_ERR_DECODE_VERSION' }),
    )
  })

  it('refuses envelopes that are not protocol messages with DD_ERR_DECODE_SHAPE', () => {
    const bad = [
      { name: 'launch', head: { v: 1 }, body: null },
      { name: 'run', head: { v: 1 }, body: [1, 'inc'] },
      { name: 'done', head: { v: 1 }, body: 'x' },
      { name: 'hello', head: { v: 1 }, body: { slots: 0 } },
      { name: 'welcome', head: { v: 1 }, body: {} },
      { name: 'cancel', head: { v: 1 }, body: 7 },
    ]
    for (const env of bad) {
      expect(() => decodeMessage(codec, codec.encode(env))).toThrow(
        expect.objectContaining({ code: 'DD_ERR_DECODE_SHAPE' }),
      )
    }
  })

  it('throws only coded DecodeErrors on arbitrary bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeMessage(codec, bytes)
        } catch (err) {
          expect((err as { code: string }).code).toMatch(/^DD_ERR_DECODE_/)
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('round-trips run and done batches of any size', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.string({ minLength: 1 }), fc.uint8Array()), { maxLength: 20 }),
        (tasks) => {
          const msg: PoolMessage = { type: 'run', tasks: tasks.flat() }
          expect(decodeMessage(codec, encodeMessage(codec, msg))).toEqual(msg)
        },
      ),
    )
  })
})
