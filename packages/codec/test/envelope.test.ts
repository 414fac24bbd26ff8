import { describe, expect, test } from 'vitest'
import { EMPTY_HEAD, envelope, isPlainObject } from '../src/index.js'

describe('envelope()', () => {
  test('builds { name, head, body } with a shared frozen empty head by default', () => {
    const a = envelope('tick', { n: 1 })
    expect(a).toEqual({ name: 'tick', head: {}, body: { n: 1 } })
    expect(a.head).toBe(EMPTY_HEAD)
    expect(envelope('tock', null).head).toBe(EMPTY_HEAD)
    expect(Object.isFrozen(EMPTY_HEAD)).toBe(true)
  })

  test('takes a head', () => {
    expect(envelope('tick', 1, { $id: 3 })).toEqual({ name: 'tick', head: { $id: 3 }, body: 1 })
  })
})

describe('isPlainObject', () => {
  test.each([
    [{}, true],
    [Object.create(null), true],
    [{ a: 1 }, true],
    [[], false],
    [new Uint8Array(1), false],
    [new Date(0), false],
    [new Map(), false],
    [null, false],
    ['x', false],
    [1, false],
    [undefined, false],
  ])('%o -> %s', (value, expected) => {
    expect(isPlainObject(value)).toBe(expected)
  })
})
