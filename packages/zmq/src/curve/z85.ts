/**
 * Z85 (ZeroMQ RFC 32/Z85): the text form of CURVE keys, 5 characters for every 4 bytes. A 32-byte key is 40
 * characters. libzmq and zeromq.js take keys in this form; ZAP hands the client's key over as 32 raw bytes,
 * so the allow-list check needs the encoder.
 */
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#'
const DECODE = new Int16Array(128).fill(-1)
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i

/** True for a string of Z85 characters whose length is a multiple of 5 (a 40-character key passes). */
export function isZ85(text: string, length = 40): boolean {
  if (typeof text !== 'string' || text.length !== length || length % 5 !== 0) return false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 128 || DECODE[c] < 0) return false
  }
  // Each 5-character group must fit in 32 bits.
  for (let i = 0; i < text.length; i += 5) if (groupValue(text, i) > 0xffffffff) return false
  return true
}

function groupValue(text: string, at: number): number {
  let value = 0
  for (let j = 0; j < 5; j++) value = value * 85 + DECODE[text.charCodeAt(at + j)]
  return value
}

/** Encodes bytes (a multiple of 4) as Z85 text. */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) throw new RangeError('z85Encode needs a multiple of 4 bytes')
  let out = ''
  for (let i = 0; i < bytes.length; i += 4) {
    let value = ((bytes[i] << 24) >>> 0) + (bytes[i + 1] << 16) + (bytes[i + 2] << 8) + bytes[i + 3]
    const group = new Array<string>(5)
    for (let j = 4; j >= 0; j--) {
      group[j] = ALPHABET[value % 85]
      value = Math.floor(value / 85)
    }
    out += group.join('')
  }
  return out
}

/** Decodes Z85 text (checked with {@link isZ85}) to bytes. */
export function z85Decode(text: string): Uint8Array {
  if (!isZ85(text, text.length)) throw new RangeError('z85Decode needs Z85 text (a multiple of 5 characters)')
  const out = new Uint8Array((text.length / 5) * 4)
  for (let i = 0, o = 0; i < text.length; i += 5, o += 4) {
    const value = groupValue(text, i)
    out[o] = value >>> 24
    out[o + 1] = (value >>> 16) & 0xff
    out[o + 2] = (value >>> 8) & 0xff
    out[o + 3] = value & 0xff
  }
  return out
}
