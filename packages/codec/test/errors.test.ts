import { describe, expect, test } from 'vitest'
import { DecodeError, DripdropError, EncodeError } from '../src/index.js'

describe('errors', () => {
  test('DripdropError carries a code, a name, a cause, and a wire-safe toJSON', () => {
    const cause = new Error('inner')
    const err = new DripdropError('boom', 'DD_ERR_TEST', { cause })
    expect(err).toBeInstanceOf(Error)
    expect(err.name).toBe('DripdropError')
    expect(err.code).toBe('DD_ERR_TEST')
    expect(err.cause).toBe(cause)
    expect(err.toJSON()).toEqual({ name: 'DripdropError', code: 'DD_ERR_TEST', message: 'boom' })
    expect(JSON.parse(JSON.stringify(err))).toEqual({
      name: 'DripdropError',
      code: 'DD_ERR_TEST',
      message: 'boom',
    })
  })

  test('DecodeError is a DripdropError with the frame size', () => {
    const err = new DecodeError('short', 'DD_ERR_DECODE_TRUNCATED', 12)
    expect(err).toBeInstanceOf(DripdropError)
    expect(err.name).toBe('DecodeError')
    expect(err.code).toBe('DD_ERR_DECODE_TRUNCATED')
    expect(err.frameBytes).toBe(12)
    expect(String(err.stack)).toContain('DecodeError')
  })

  test('EncodeError is a DripdropError', () => {
    const err = new EncodeError('big', 'DD_ERR_ENCODE_TOO_LARGE')
    expect(err).toBeInstanceOf(DripdropError)
    expect(err.name).toBe('EncodeError')
    expect(err.toJSON()).toEqual({ name: 'EncodeError', code: 'DD_ERR_ENCODE_TOO_LARGE', message: 'big' })
  })
})
