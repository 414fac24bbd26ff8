import { describe, expect, test } from 'vitest'
import { checkEnvelope, toBatch, toEnvelope, toFrame } from '../src/shape.js'
import { decodeErrorOf } from './helpers.js'

// The checks both codecs share, on already-decoded values.
const codeOf = (fn: () => unknown): string => decodeErrorOf(fn).code

describe('toEnvelope / toBatch / toFrame', () => {
  test('accept the two frame kinds', () => {
    expect(toEnvelope([1, 'a', {}, 5], 9)).toEqual({ name: 'a', head: {}, body: 5 })
    expect(toBatch([2, [1, 'a', {}, 5]], 9)).toEqual([{ name: 'a', head: {}, body: 5 }])
    expect(toFrame([2], 9)).toEqual([])
    expect(toFrame([1, 'a', Object.create(null), null], 9)).toEqual({ name: 'a', head: {}, body: null })
  })

  test('a known tag in the wrong place is a shape error, an unknown number a version error', () => {
    expect(codeOf(() => toEnvelope([2], 1))).toBe('DD_ERR_DECODE_SHAPE')
    expect(codeOf(() => toBatch([1, 'a', {}, null], 1))).toBe('DD_ERR_DECODE_SHAPE')
    expect(codeOf(() => toBatch([2, [2]], 1))).toBe('DD_ERR_DECODE_SHAPE')
    expect(codeOf(() => toFrame([3], 1))).toBe('DD_ERR_DECODE_VERSION')
    expect(codeOf(() => toFrame([2, [3, 'a', {}, null]], 1))).toBe('DD_ERR_DECODE_VERSION')
    expect(codeOf(() => toFrame(['1'], 1))).toBe('DD_ERR_DECODE_SHAPE')
    expect(codeOf(() => toFrame([], 1))).toBe('DD_ERR_DECODE_SHAPE')
  })

  test('the error reports the frame size it is given', () => {
    expect(() => toEnvelope(null, 77)).toThrow(expect.objectContaining({ frameBytes: 77 }))
  })
})

describe('checkEnvelope', () => {
  test('accepts an envelope and refuses what is not one, with a message naming the field', () => {
    expect(() => checkEnvelope({ name: 'a', head: {}, body: undefined })).not.toThrow()
    expect(() => checkEnvelope({ name: '', head: {}, body: 1 })).toThrow(
      'envelope.name must be a non-empty string',
    )
    expect(() => checkEnvelope({ name: 'a', head: [] as never, body: 1 })).toThrow(
      'envelope.head must be a plain object',
    )
    expect(() => checkEnvelope(null as never)).toThrow('envelope must be an object { name, head, body }')
  })
})
