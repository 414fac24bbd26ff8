import { DecodeError } from './errors.js'

// Size of the fixed part after each head byte 0xc0..0xdf, or a marker for the variable-length kinds.
// -1: unused byte 0xc1. -2: length-prefixed payload (bin/str/ext). -3: array16/32. -4: map16/32.
const FIXED = new Int8Array(32)
for (const [byte, size] of [
  [0xc0, 0], // nil
  [0xc1, -1],
  [0xc2, 0], // false
  [0xc3, 0], // true
  [0xc4, -2], // bin 8
  [0xc5, -2], // bin 16
  [0xc6, -2], // bin 32
  [0xc7, -2], // ext 8
  [0xc8, -2], // ext 16
  [0xc9, -2], // ext 32
  [0xca, 4], // float 32
  [0xcb, 8], // float 64
  [0xcc, 1], // uint 8
  [0xcd, 2], // uint 16
  [0xce, 4], // uint 32
  [0xcf, 8], // uint 64
  [0xd0, 1], // int 8
  [0xd1, 2], // int 16
  [0xd2, 4], // int 32
  [0xd3, 8], // int 64
  [0xd4, 2], // fixext 1: type + 1
  [0xd5, 3], // fixext 2
  [0xd6, 5], // fixext 4
  [0xd7, 9], // fixext 8
  [0xd8, 17], // fixext 16
  [0xd9, -2], // str 8
  [0xda, -2], // str 16
  [0xdb, -2], // str 32
  [0xdc, -3], // array 16
  [0xdd, -3], // array 32
  [0xde, -4], // map 16
  [0xdf, -4], // map 32
]) {
  FIXED[byte - 0xc0] = size
}

/**
 * Walks one msgpack value without building it and throws a {@link DecodeError} unless `bytes` holds exactly one
 * complete, well-formed value. No allocation; the cost grows with the number of values, not with their bytes
 * (payloads are skipped by their length).
 *
 * Why: `@msgpack/msgpack` preallocates `new Array(n)` for every array header before it knows whether `n`
 * elements follow, so a 15 KB frame of nested `array 16` headers claiming 65,535 elements each made it allocate
 * gigabytes. After this walk every claimed element is backed by at least one byte of the frame, so decoding
 * allocates at most a few words per frame byte. It also tells a cut-short frame (`DD_ERR_DECODE_TRUNCATED`)
 * from garbage (`DD_ERR_DECODE_MALFORMED`) without reading the library's error messages.
 */
export function scanMsgpack(b: Uint8Array): void {
  const end = b.length
  let pos = 0
  // Values still to read. Each needs at least one byte, so more pending values than bytes left means the frame
  // was cut short: that check bounds the walk and is what makes decoding safe.
  let pending = 1
  while (pending > 0) {
    if (pending > end - pos) throw truncated(end)
    const h = b[pos++]
    pending--
    if (h < 0x80 || h >= 0xe0) continue // positive / negative fixint
    if (h < 0x90) {
      pending += (h & 0x0f) * 2 // fixmap: key + value per entry
      continue
    }
    if (h < 0xa0) {
      pending += h & 0x0f // fixarray
      continue
    }
    if (h < 0xc0) {
      pos += h & 0x1f // fixstr
      if (pos > end) throw truncated(end)
      continue
    }
    const kind = FIXED[h - 0xc0]
    if (kind >= 0) {
      pos += kind
      if (pos > end) throw truncated(end)
      continue
    }
    if (kind === -1) {
      throw new DecodeError(
        `byte 0xc1 at offset ${pos - 1} is never used in msgpack`,
        'DD_ERR_DECODE_MALFORMED',
        end,
      )
    }
    // The low two bits of 0xc4..0xc6, 0xc7..0xc9, 0xd9..0xdb, 0xdc..0xdf select a 1, 2 or 4 byte length.
    const width =
      h <= 0xc6 ? 1 << (h - 0xc4) : h <= 0xc9 ? 1 << (h - 0xc7) : h <= 0xdb ? 1 << (h - 0xd9) : h & 1 ? 4 : 2
    if (pos + width > end) throw truncated(end)
    let n = b[pos]
    if (width === 2) n = (n << 8) | b[pos + 1]
    else if (width === 4) n = n * 0x1000000 + ((b[pos + 1] << 16) | (b[pos + 2] << 8) | b[pos + 3])
    pos += width
    if (kind === -3) pending += n
    else if (kind === -4) pending += n * 2
    else {
      pos += h >= 0xc7 && h <= 0xc9 ? n + 1 : n // ext has a type byte before its data
      if (pos > end) throw truncated(end)
    }
  }
  if (pos < end) {
    throw new DecodeError(
      `${end - pos} trailing byte(s) after the value at offset ${pos}`,
      'DD_ERR_DECODE_MALFORMED',
      end,
    )
  }
}

function truncated(end: number): DecodeError {
  return new DecodeError(
    `frame of ${end} bytes ends in the middle of a value`,
    'DD_ERR_DECODE_TRUNCATED',
    end,
  )
}
