import type { Envelope } from './envelope.js'
import { EncodeError } from './errors.js'
import {
  BINARY,
  INTEGER,
  LARGE_BIG,
  LIST,
  MAP,
  NEW_FLOAT,
  NIL,
  SMALL_ATOM_UTF8,
  SMALL_BIG,
  SMALL_INTEGER,
  SMALL_TUPLE,
  VERSION,
} from './bert-tags.js'

/** Containers (tuples, lists, maps) nested deeper than this, counting the frame tuple as 1, are refused. */
export const BERT_MAX_DEPTH = 100
/** Largest integer carried, in bytes of magnitude (8,192 bits); larger ones are refused both ways. */
export const BERT_MAX_BIG_BYTES = 1024

const atom = (name: string): Uint8Array =>
  new Uint8Array([SMALL_ATOM_UTF8, name.length, ...Buffer.from(name)])
const TRUE = atom('true')
const FALSE = atom('false')
const NIL_ATOM = atom('nil')
/** `{bert, bin, ` up to the BINARY_EXT tag: byte arrays are `{bert, bin, <<Bytes>>}`. */
const BYTES_PREFIX = new Uint8Array([SMALL_TUPLE, 3, ...atom('bert'), ...atom('bin'), BINARY])
/** `{bert, time, ` : a Date is `{bert, time, MegaSeconds, Seconds, MicroSeconds}`. */
const TIME_PREFIX = new Uint8Array([SMALL_TUPLE, 5, ...atom('bert'), ...atom('time')])
/** `131, {1, `: the start of every single-envelope frame. */
const ENVELOPE_PREFIX = new Uint8Array([VERSION, SMALL_TUPLE, 4, SMALL_INTEGER, 1])
/** `131, {2, `: the start of every batch frame. */
const BATCH_PREFIX = new Uint8Array([VERSION, SMALL_TUPLE, 2, SMALL_INTEGER, 2])
/** `{1, `: an envelope inside a batch. */
const INNER_PREFIX = new Uint8Array([SMALL_TUPLE, 4, SMALL_INTEGER, 1])

const INITIAL_BYTES = 2048
/** After a frame larger than this the buffer is dropped, so one large frame does not stay allocated. */
const KEEP_BYTES = 1024 * 1024
/** Strings up to this many UTF-16 units are written by a JavaScript loop; longer ones by Buffer.write. */
const SHORT_STRING = 48

function invalid(message: string): EncodeError {
  return new EncodeError(`value cannot be encoded as BERT: ${message}`, 'DD_ERR_ENCODE_INVALID')
}

/**
 * Writes Erlang external-format terms into one growing buffer, reused from frame to frame, and hands out an
 * exact-size copy. Internal to {@link BertCodec}; the mapping is in docs/protocol.md §5b.
 */
export class BertEncoder {
  readonly #max: number
  #bytes = new Uint8Array(0)
  #buf = Buffer.alloc(0)
  #view = new DataView(new ArrayBuffer(0))
  #pos = 0

  constructor(maxMessageBytes: number) {
    this.#max = maxMessageBytes
    this.#alloc(INITIAL_BYTES)
  }

  encodeEnvelope(envelope: Envelope): Uint8Array {
    this.#pos = 0
    this.#raw(ENVELOPE_PREFIX)
    this.#envelopeRest(envelope, 2)
    return this.#finish()
  }

  encodeBatch(envelopes: readonly Envelope[]): Uint8Array {
    this.#pos = 0
    this.#raw(BATCH_PREFIX)
    const n = envelopes.length
    if (n > 0) {
      this.#ensure(5)
      this.#bytes[this.#pos++] = LIST
      this.#u32(n)
      for (let i = 0; i < n; i++) {
        this.#raw(INNER_PREFIX)
        // batch tuple 1, list 2, envelope tuple 3: head and body containers start at 4.
        this.#envelopeRest(envelopes[i], 4)
      }
    }
    this.#ensure(1)
    this.#bytes[this.#pos++] = NIL
    return this.#finish()
  }

  encodeValue(value: unknown): Uint8Array {
    this.#pos = 0
    this.#ensure(1)
    this.#bytes[this.#pos++] = VERSION
    this.#value(value, 1)
    return this.#finish()
  }

  #envelopeRest(envelope: Envelope, depth: number): void {
    this.#string(envelope.name)
    this.#map(envelope.head, depth)
    this.#value(envelope.body, depth)
  }

  #finish(): Uint8Array {
    const size = this.#pos
    if (size > this.#max) {
      this.#shrink()
      throw this.#tooLarge(size)
    }
    const out = this.#bytes.slice(0, size)
    this.#shrink()
    return out
  }

  #shrink(): void {
    if (this.#bytes.byteLength > KEEP_BYTES) this.#alloc(INITIAL_BYTES)
  }

  #tooLarge(size: number): EncodeError {
    return new EncodeError(
      `frame of ${size} bytes exceeds maxMessageBytes (${this.#max})`,
      'DD_ERR_ENCODE_TOO_LARGE',
    )
  }

  #alloc(size: number): void {
    const ab = new ArrayBuffer(size)
    this.#bytes = new Uint8Array(ab)
    this.#buf = Buffer.from(ab)
    this.#view = new DataView(ab)
  }

  #ensure(n: number): void {
    const need = this.#pos + n
    if (need <= this.#bytes.byteLength) return
    const old = this.#bytes
    this.#alloc(Math.max(need, old.byteLength * 2))
    this.#bytes.set(old.subarray(0, this.#pos))
  }

  // A payload of `n` bytes is about to be written: refuse before growing the buffer when it cannot fit.
  #fits(n: number): void {
    if (this.#pos + n > this.#max) throw this.#tooLarge(this.#pos + n)
  }

  #raw(bytes: Uint8Array): void {
    this.#ensure(bytes.byteLength)
    this.#bytes.set(bytes, this.#pos)
    this.#pos += bytes.byteLength
  }

  #u32(n: number): void {
    this.#view.setUint32(this.#pos, n)
    this.#pos += 4
  }

  #value(value: unknown, depth: number): void {
    switch (typeof value) {
      case 'string':
        this.#string(value)
        break
      case 'number':
        this.#number(value)
        break
      case 'boolean':
        this.#raw(value ? TRUE : FALSE)
        break
      case 'undefined':
        this.#raw(NIL_ATOM)
        break
      case 'bigint':
        this.#bigint(value)
        break
      case 'object':
        if (value === null) this.#raw(NIL_ATOM)
        else if (Array.isArray(value)) this.#list(value, depth)
        else if (ArrayBuffer.isView(value)) this.#binary(value)
        else if (value instanceof Date) this.#date(value)
        else this.#map(value as Record<string, unknown>, depth)
        break
      default:
        throw invalid(`a ${typeof value} has no Erlang term`)
    }
  }

  #deeper(depth: number): void {
    if (depth > BERT_MAX_DEPTH) throw invalid(`nested deeper than ${BERT_MAX_DEPTH} levels (or cyclic)`)
  }

  // BINARY_EXT of the UTF-8 bytes. The length is patched in once the string is written.
  #string(s: string): void {
    const n = s.length
    this.#fits(n + 5)
    this.#ensure(n * 3 + 5)
    const b = this.#bytes
    const start = this.#pos
    b[start] = BINARY
    let at = start + 5
    if (n <= SHORT_STRING) {
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i)
        if (c >= 0x80) {
          at = start + 5 + this.#buf.write(s, start + 5)
          break
        }
        b[at++] = c
      }
    } else {
      at += this.#buf.write(s, start + 5)
    }
    this.#view.setUint32(start + 1, at - start - 5)
    this.#pos = at
  }

  #number(n: number): void {
    if (Number.isSafeInteger(n)) {
      if (n >= 0 && n <= 0xff) {
        this.#ensure(2)
        this.#bytes[this.#pos++] = SMALL_INTEGER
        this.#bytes[this.#pos++] = n
      } else if (n >= -0x80000000 && n <= 0x7fffffff) {
        this.#ensure(5)
        this.#bytes[this.#pos++] = INTEGER
        this.#view.setInt32(this.#pos, n)
        this.#pos += 4
      } else {
        // SMALL_BIG_EXT: digit count, sign, digits least significant first. |n| < 2^53: at most 7 digits.
        this.#ensure(10)
        const b = this.#bytes
        b[this.#pos++] = SMALL_BIG
        const countAt = this.#pos++
        b[this.#pos++] = n < 0 ? 1 : 0
        let a = Math.abs(n)
        let count = 0
        while (a > 0) {
          b[this.#pos++] = a % 256
          a = Math.floor(a / 256)
          count++
        }
        b[countAt] = count
      }
      return
    }
    if (!Number.isFinite(n)) throw invalid(`${n} has no Erlang term (Erlang floats are finite)`)
    this.#ensure(9)
    this.#bytes[this.#pos++] = NEW_FLOAT
    this.#view.setFloat64(this.#pos, n)
    this.#pos += 8
  }

  #bigint(v: bigint): void {
    if (v >= -0x80000000n && v <= 0x7fffffffn) {
      this.#number(Number(v))
      return
    }
    const negative = v < 0n
    let hex = (negative ? -v : v).toString(16)
    if (hex.length % 2 === 1) hex = `0${hex}`
    const count = hex.length / 2
    if (count > BERT_MAX_BIG_BYTES) throw invalid(`an integer of ${count} bytes (over ${BERT_MAX_BIG_BYTES})`)
    this.#fits(count + 6)
    this.#ensure(count + 6)
    const b = this.#bytes
    if (count <= 0xff) {
      b[this.#pos++] = SMALL_BIG
      b[this.#pos++] = count
    } else {
      b[this.#pos++] = LARGE_BIG
      this.#u32(count)
    }
    b[this.#pos++] = negative ? 1 : 0
    // Digits least significant first: the hex text read from its end.
    for (let i = count - 1; i >= 0; i--) b[this.#pos++] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  }

  #binary(view: ArrayBufferView): void {
    const n = view.byteLength
    this.#fits(n + BYTES_PREFIX.byteLength + 4)
    this.#raw(BYTES_PREFIX)
    this.#ensure(n + 4)
    this.#u32(n)
    this.#bytes.set(new Uint8Array(view.buffer, view.byteOffset, n), this.#pos)
    this.#pos += n
  }

  #date(d: Date): void {
    const ms = d.getTime()
    if (Number.isNaN(ms)) throw invalid('an invalid Date has no Erlang term')
    const seconds = Math.floor(ms / 1000)
    const mega = Math.floor(seconds / 1_000_000)
    this.#raw(TIME_PREFIX)
    this.#number(mega)
    this.#number(seconds - mega * 1_000_000)
    this.#number((ms - seconds * 1000) * 1000)
  }

  #list(items: readonly unknown[], depth: number): void {
    const n = items.length
    this.#deeper(depth)
    this.#ensure(5)
    if (n === 0) {
      this.#bytes[this.#pos++] = NIL
      return
    }
    this.#bytes[this.#pos++] = LIST
    this.#u32(n)
    for (let i = 0; i < n; i++) this.#value(items[i], depth + 1)
    this.#ensure(1)
    this.#bytes[this.#pos++] = NIL
  }

  #map(obj: Record<string, unknown>, depth: number): void {
    this.#deeper(depth)
    const keys = Object.keys(obj)
    this.#ensure(5)
    this.#bytes[this.#pos++] = MAP
    this.#u32(keys.length)
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]
      this.#string(key)
      this.#value(obj[key], depth + 1)
    }
  }
}
