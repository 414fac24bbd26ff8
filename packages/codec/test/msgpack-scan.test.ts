import { describe, expect, test } from 'vitest'
import { scanMsgpack } from '../src/msgpack-scan.js'
import { decodeErrorOf, hex } from './helpers.js'

// The scan checks that a frame holds exactly one complete msgpack value before @msgpack/msgpack builds it.
const ok = (h: string) => expect(() => scanMsgpack(hex(h)), h).not.toThrow()
const code = (h: string): string => decodeErrorOf(() => scanMsgpack(hex(h))).code

describe('scanMsgpack', () => {
  const kinds: Record<string, string[]> = {
    'fixint, nil, booleans': ['00', '7f', 'e0', 'ff', 'c0', 'c2', 'c3'],
    uint: ['cc ff', 'cd ffff', 'ce ffffffff', 'cf ffffffffffffffff'],
    int: ['d0 80', 'd1 8000', 'd2 80000000', 'd3 8000000000000000'],
    float: ['ca 3f800000', 'cb 3ff0000000000000'],
    str: ['a0', 'a3 616263', 'd9 03 616263', 'da 0003 616263', 'db 00000003 616263'],
    bin: ['c4 00', 'c4 02 0102', 'c5 0002 0102', 'c6 00000002 0102'],
    array: ['90', '93 01 02 03', 'dc 0002 01 02', 'dd 00000002 01 02'],
    map: ['80', '81 a161 01', 'de 0001 a161 01', 'df 00000001 a161 01'],
    fixext: [
      'd4 01 00',
      'd5 01 0000',
      'd6 ff 00000000',
      'd7 ff 0000000000000000',
      `d8 01 ${'00'.repeat(16)}`,
    ],
    ext: ['c7 01 05 00', 'c8 0001 05 00', 'c9 00000001 05 00'],
    nesting: ['92 91 90 81 a0 80'],
  }
  test.each(Object.entries(kinds))('accepts one complete value: %s', (_, values) => {
    for (const h of values) ok(h)
  })

  test('a value cut anywhere is DD_ERR_DECODE_TRUNCATED', () => {
    for (const h of [
      '',
      'cc',
      'cd ff',
      'cf 00',
      'cb 3ff0',
      'a3 6162',
      'd9',
      'd9 03 61',
      'da 00',
      'db 000000',
      'c4',
      'c4 02 01',
      'c6 ffffffff',
      '91',
      '93 01 02',
      'dc 00',
      'dc 0003 01',
      'dd ffffffff',
      '81 a161',
      'df 00000001',
      'd4 01',
      'd8 01 00',
      'c7 01 05',
      'c9 00000001',
      '92 91 90 81 a0',
    ]) {
      expect(code(h), h).toBe('DD_ERR_DECODE_TRUNCATED')
    }
  })

  test('0xc1 and trailing bytes are DD_ERR_DECODE_MALFORMED', () => {
    for (const h of ['c1', '91 c1', '81 c1 00', '00 00', '90 c0', 'a1 61 61']) {
      expect(code(h), h).toBe('DD_ERR_DECODE_MALFORMED')
    }
  })

  test('more claimed elements than bytes left fails before reading them', () => {
    // array 32 claiming 2^32-1 elements with 4 bytes after the header
    expect(code('dd ffffffff 01 02 03 04')).toBe('DD_ERR_DECODE_TRUNCATED')
    // map 16 claiming 3 entries (6 values) with 5 bytes left
    expect(code('de 0003 01 02 03 04 05')).toBe('DD_ERR_DECODE_TRUNCATED')
  })
})
