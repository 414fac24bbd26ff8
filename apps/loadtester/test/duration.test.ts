import { describe, expect, it } from 'vitest'
import { parseDuration } from '../src/duration.js'

describe('parseDuration', () => {
  it('reads units and bare seconds', () => {
    expect(parseDuration('500ms')).toBe(500)
    expect(parseDuration('30s')).toBe(30_000)
    expect(parseDuration('1m30s')).toBe(90_000)
    expect(parseDuration('2h')).toBe(7_200_000)
    expect(parseDuration('1.5')).toBe(1500)
  })

  it('refuses anything else, naming the value', () => {
    for (const bad of ['', 'abc', '10x', '5s5', '0s', '-1s'])
      expect(() => parseDuration(bad)).toThrow(RangeError)
    expect(() => parseDuration('soon', '--duration')).toThrow('--duration must look like')
  })
})
