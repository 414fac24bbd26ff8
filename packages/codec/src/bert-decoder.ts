import { inflateSync } from 'node:zlib'
import { BERT_MAX_BIG_BYTES, BERT_MAX_DEPTH } from './bert-encoder.js'
import {
  ATOM,
  ATOM_UTF8,
  BINARY,
  COMPRESSED,
  INTEGER,
  LARGE_BIG,
  LARGE_TUPLE,
  LIST,
  MAP,
  NEW_FLOAT,
  NIL,
  REFUSED_TERMS,
  SMALL_ATOM,
  SMALL_ATOM_UTF8,
  SMALL_BIG,
  SMALL_INTEGER,
  SMALL_TUPLE,
  STRING,
  VERSION,
} from './bert-tags.js'
import { TAG_BATCH_V1, TAG_ENVELOPE_V1 } from './codec.js'
import type { Envelope, Head } from './envelope.js'
import { isPlainObject } from './envelope.js'
import type { DecodeErrorCode } from './errors.js'
import { KeyCache } from './key-cache.js'
import { DecodeError } from './errors.js'

const utf8 = new TextDecoder('utf-8', { fatal: true })
const EMPTY = new Uint8Array(0)
const word = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'))
const W_BERT = word('bert')
const W_NIL = word('nil')
const W_TRUE = word('true')
const W_FALSE = word('false')
const W_BIN = word('bin')
const W_TIME = word('time')
/** Eight bytes to read a big-endian float through, so a frame needs no DataView of its own. */
const FLOAT_BYTES = new Uint8Array(8)
const FLOAT_VIEW = new DataView(FLOAT_BYTES.buffer)
const latin1 = new TextDecoder('latin1')
/** Binaries up to this many bytes are tried as ASCII by a JavaScript loop before the TextDecoder. */
const SHORT_STRING = 32

/** What a frame must hold: one envelope, a batch, either, or any term (`decodeValue`). */
export type FrameKind = 'one' | 'batch' | 'any' | 'value'

/**
 * Reads one Erlang external-format term (`term_to_binary` output) into JavaScript values, strictly: every
 * length is checked against the bytes left before anything is allocated, and the count of terms the open
 * containers still promise never exceeds the bytes left (each term takes at least one byte), so a hostile
 * header cannot make it allocate more than a few words per frame byte. Internal to {@link BertCodec}.
 */
export class BertDecoder {
  #b: Uint8Array = EMPTY
  #pos = 0
  #end = 0
  #pending = 0
  /** Size of the frame as received (before inflating), for DecodeError.frameBytes. */
  #frameBytes = 0
  readonly #max: number
  readonly #keys = new KeyCache()

  constructor(maxMessageBytes: number) {
    this.#max = maxMessageBytes
  }

  /** Decodes a whole frame (the caller has checked its type and size). */
  decode(frame: Uint8Array, kind: FrameKind): unknown {
    this.#frameBytes = frame.byteLength
    this.#start(frame)
    try {
      // Frames are read whole before their kind is checked, so a cut-short frame is reported as truncated
      // whichever decode* method was given it.
      const out = kind === 'value' ? this.#value(1) : this.#frame()
      if (this.#pos < this.#end) {
        throw this.#fail(
          `${this.#end - this.#pos} trailing byte(s) after the term at offset ${this.#pos}`,
          'DD_ERR_DECODE_MALFORMED',
        )
      }
      if (kind === 'one' && Array.isArray(out)) {
        throw this.#fail('expected one envelope (tag 1), got a batch (tag 2)', 'DD_ERR_DECODE_SHAPE')
      }
      if (kind === 'batch' && !Array.isArray(out)) {
        throw this.#fail('expected a batch (tag 2), got one envelope (tag 1)', 'DD_ERR_DECODE_SHAPE')
      }
      return out
    } finally {
      // Drop the reference so a large frame is not kept alive by the codec.
      this.#b = EMPTY
    }
  }

  #start(frame: Uint8Array): void {
    if (frame[0] !== VERSION) {
      throw this.#fail(
        `not an Erlang external term: first byte ${frame[0]}, expected 131`,
        'DD_ERR_DECODE_MALFORMED',
      )
    }
    let bytes = frame
    let pos = 1
    if (frame[1] === COMPRESSED) {
      bytes = this.#inflate(frame)
      pos = 0
    }
    this.#b = bytes
    this.#pos = pos
    this.#end = bytes.byteLength
    this.#pending = 1
  }

  // term_to_binary(T, [compressed]): 131, 80, UncompressedSize:32, zlib data. The declared size is checked
  // against maxMessageBytes before inflating, and zlib stops at that size, so a decompression bomb costs at
  // most maxMessageBytes of output before it is refused.
  #inflate(frame: Uint8Array): Uint8Array {
    if (frame.byteLength < 6) throw this.#truncated()
    const size = new DataView(frame.buffer, frame.byteOffset + 2, 4).getUint32(0)
    if (size > this.#max) {
      throw this.#fail(
        `compressed term inflates to ${size} bytes, over maxMessageBytes (${this.#max})`,
        'DD_ERR_DECODE_TOO_LARGE',
      )
    }
    if (size === 0) throw this.#fail('compressed term of size 0', 'DD_ERR_DECODE_MALFORMED')
    let out: Buffer
    try {
      out = inflateSync(frame.subarray(6), { maxOutputLength: size })
    } catch (cause) {
      const code = (cause as { code?: string }).code
      if (code === 'Z_BUF_ERROR')
        throw this.#fail('compressed term is cut short', 'DD_ERR_DECODE_TRUNCATED', cause)
      const why =
        code === 'ERR_BUFFER_TOO_LARGE' ? 'inflates beyond its declared size' : 'is not valid zlib data'
      throw this.#fail(`compressed term ${why}`, 'DD_ERR_DECODE_MALFORMED', cause)
    }
    if (out.byteLength !== size) {
      throw this.#fail(
        `compressed term inflates to ${out.byteLength} bytes, declared ${size}`,
        'DD_ERR_DECODE_MALFORMED',
      )
    }
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
  }

  #fail(message: string, code: DecodeErrorCode, cause?: unknown): DecodeError {
    return new DecodeError(message, code, this.#frameBytes, cause === undefined ? undefined : { cause })
  }

  #truncated(): DecodeError {
    return this.#fail(
      `frame of ${this.#frameBytes} bytes ends in the middle of a term`,
      'DD_ERR_DECODE_TRUNCATED',
    )
  }

  #need(n: number): void {
    if (this.#pos + n > this.#end) throw this.#truncated()
  }

  // A container promises `n` more terms; each needs at least one byte.
  #promise(n: number): void {
    this.#pending += n
    if (this.#pending > this.#end - this.#pos) throw this.#truncated()
  }

  #u32(): number {
    const b = this.#b
    const p = this.#pos
    const n = b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3])
    this.#pos += 4
    return n
  }

  // ---------------------------------------------------------------------------------------------------------
  // Frames: {1, Name, Head, Body} and {2, [Envelope…]}

  #frame(): Envelope | Envelope[] {
    const arity = this.#tupleHeader('frame is not a tuple')
    if (arity === 0) throw this.#fail('frame is the empty tuple', 'DD_ERR_DECODE_SHAPE')
    const tag = this.#value(2)
    if (tag === TAG_ENVELOPE_V1) return this.#envelopeRest(arity, 2)
    if (tag === TAG_BATCH_V1) {
      if (arity !== 2)
        throw this.#fail(`batch must be a 2-tuple, got ${arity} elements`, 'DD_ERR_DECODE_SHAPE')
      return this.#batchList()
    }
    throw this.#badTag(tag)
  }

  #badTag(tag: unknown): DecodeError {
    if (typeof tag === 'number' || typeof tag === 'bigint') {
      return this.#fail(`unknown frame tag ${tag} (this peer speaks tags 1 and 2)`, 'DD_ERR_DECODE_VERSION')
    }
    return this.#fail('frame does not start with an integer tag', 'DD_ERR_DECODE_SHAPE')
  }

  // Reads a tuple header (the tag byte and the arity) and promises its elements; anything else is `what`.
  #tupleHeader(what: string): number {
    this.#need(1)
    const t = this.#b[this.#pos]
    let arity: number
    if (t === SMALL_TUPLE) {
      this.#need(2)
      arity = this.#b[this.#pos + 1]
      this.#pos += 2
    } else if (t === LARGE_TUPLE) {
      this.#need(5)
      this.#pos++
      arity = this.#u32()
    } else {
      // Read it anyway: a cut or malformed term reports that, not the shape.
      this.#value(2)
      throw this.#fail(what, 'DD_ERR_DECODE_SHAPE')
    }
    this.#pending--
    this.#promise(arity)
    return arity
  }

  // The rest of {1, Name, Head, Body} once the tag is read; `depth` is the level of the head and body.
  #envelopeRest(arity: number, depth: number): Envelope {
    if (arity !== 4) throw this.#fail(`envelope must have 4 elements, got ${arity}`, 'DD_ERR_DECODE_SHAPE')
    const name = this.#value(depth)
    if (typeof name !== 'string' || name.length === 0) {
      throw this.#fail('envelope name must be a non-empty binary', 'DD_ERR_DECODE_SHAPE')
    }
    const head = this.#value(depth)
    if (!isPlainObject(head)) throw this.#fail('envelope head must be a map', 'DD_ERR_DECODE_SHAPE')
    return { name, head: head as Head, body: this.#value(depth) }
  }

  #batchList(): Envelope[] {
    this.#need(1)
    const t = this.#b[this.#pos]
    if (t === NIL) {
      this.#pos++
      this.#pending--
      return []
    }
    if (t !== LIST) {
      this.#value(2)
      throw this.#fail('batch must hold a proper list of envelopes', 'DD_ERR_DECODE_SHAPE')
    }
    this.#need(5)
    this.#pos++
    const n = this.#u32()
    this.#pending--
    this.#promise(n + 1)
    const out = new Array<Envelope>(n)
    for (let i = 0; i < n; i++) {
      const arity = this.#tupleHeader('batch element is not a tuple')
      if (arity === 0) throw this.#fail('batch element is the empty tuple', 'DD_ERR_DECODE_SHAPE')
      const tag = this.#value(4)
      if (tag === TAG_BATCH_V1) throw this.#fail('a batch inside a batch', 'DD_ERR_DECODE_SHAPE')
      if (tag !== TAG_ENVELOPE_V1) throw this.#badTag(tag)
      out[i] = this.#envelopeRest(arity, 4)
    }
    this.#tail()
    return out
  }

  // The tail of a LIST_EXT must be NIL_EXT: improper lists have no JavaScript value.
  #tail(): void {
    this.#need(1)
    if (this.#b[this.#pos] !== NIL) throw this.#fail('improper list (tail is not [])', 'DD_ERR_DECODE_SHAPE')
    this.#pos++
    this.#pending--
  }

  // ---------------------------------------------------------------------------------------------------------
  // Terms

  #value(depth: number): unknown {
    this.#need(1)
    this.#pending--
    const b = this.#b
    const tag = b[this.#pos++]
    switch (tag) {
      case SMALL_INTEGER:
        this.#need(1)
        return b[this.#pos++]
      case INTEGER: {
        this.#need(4)
        const p = this.#pos
        const n = (b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]
        this.#pos += 4
        return n
      }
      case BINARY: {
        this.#need(4)
        const n = this.#u32()
        this.#need(n)
        return this.#utf8(n)
      }
      case SMALL_ATOM_UTF8:
      case SMALL_ATOM:
      case ATOM_UTF8:
      case ATOM: {
        const name = this.#atomText(tag)
        return name === 'true'
          ? true
          : name === 'false'
            ? false
            : name === 'nil' || name === 'undefined'
              ? null
              : name
      }
      case MAP:
        return this.#map(depth)
      case NIL:
        return []
      case LIST:
        return this.#list(depth)
      case STRING: {
        // Erlang writes a list of small integers 0..255 (a charlist) this way: it is still a list.
        this.#need(2)
        const n = (b[this.#pos] << 8) | b[this.#pos + 1]
        this.#pos += 2
        this.#need(n)
        const out = new Array<number>(n)
        for (let i = 0; i < n; i++) out[i] = b[this.#pos + i]
        this.#pos += n
        return out
      }
      case NEW_FLOAT: {
        this.#need(8)
        for (let i = 0; i < 8; i++) FLOAT_BYTES[i] = b[this.#pos + i]
        const f = FLOAT_VIEW.getFloat64(0)
        this.#pos += 8
        if (!Number.isFinite(f))
          throw this.#fail('NEW_FLOAT_EXT that is NaN or infinite', 'DD_ERR_DECODE_MALFORMED')
        return f
      }
      case SMALL_BIG: {
        this.#need(2)
        const n = b[this.#pos]
        const sign = b[this.#pos + 1]
        this.#pos += 2
        return this.#big(n, sign)
      }
      case LARGE_BIG: {
        this.#need(5)
        const n = this.#u32()
        const sign = b[this.#pos++]
        return this.#big(n, sign)
      }
      case SMALL_TUPLE: {
        this.#need(1)
        return this.#tuple(b[this.#pos++], depth)
      }
      case LARGE_TUPLE: {
        this.#need(4)
        return this.#tuple(this.#u32(), depth)
      }
      default: {
        const refused = REFUSED_TERMS.get(tag)
        if (refused !== undefined) {
          throw this.#fail(`${refused} (tag ${tag}) has no JavaScript value`, 'DD_ERR_DECODE_SHAPE')
        }
        throw this.#fail(`unknown term tag ${tag} at offset ${this.#pos - 1}`, 'DD_ERR_DECODE_MALFORMED')
      }
    }
  }

  #deeper(depth: number): void {
    if (depth > BERT_MAX_DEPTH) {
      throw this.#fail(`terms nested deeper than ${BERT_MAX_DEPTH} levels`, 'DD_ERR_DECODE_SHAPE')
    }
  }

  // Called with the tag byte read; returns the atom's text (latin-1 for the old ATOM_EXT/SMALL_ATOM_EXT).
  #atomText(tag: number): string {
    let n: number
    if (tag === SMALL_ATOM_UTF8 || tag === SMALL_ATOM) {
      this.#need(1)
      n = this.#b[this.#pos++]
    } else {
      this.#need(2)
      n = (this.#b[this.#pos] << 8) | this.#b[this.#pos + 1]
      this.#pos += 2
    }
    this.#need(n)
    if (tag === SMALL_ATOM_UTF8 || tag === ATOM_UTF8) return this.#utf8(n)
    const s = latin1.decode(this.#b.subarray(this.#pos, this.#pos + n))
    this.#pos += n
    return s
  }

  // When the next term is the atom `word` (in any of the four atom forms), steps over it and returns true.
  #skipAtom(word: Uint8Array): boolean {
    const b = this.#b
    const at = this.#pos
    const tag = b[at]
    let n: number
    let from: number
    if (tag === SMALL_ATOM_UTF8 || tag === SMALL_ATOM) {
      n = b[at + 1]
      from = at + 2
    } else if (tag === ATOM_UTF8 || tag === ATOM) {
      n = (b[at + 1] << 8) | b[at + 2]
      from = at + 3
    } else return false
    if (n !== word.length || from + n > this.#end) return false
    for (let i = 0; i < n; i++) if (b[from + i] !== word[i]) return false
    this.#pos = from + n
    this.#pending--
    return true
  }

  #utf8(n: number): string {
    const b = this.#b
    const start = this.#pos
    this.#pos += n
    if (n <= SHORT_STRING) {
      let s = ''
      let i = start
      const end = start + n
      for (; i < end; i++) {
        const c = b[i]
        if (c >= 0x80) break
        s += String.fromCharCode(c)
      }
      if (i === end) return s
    }
    try {
      return utf8.decode(b.subarray(start, start + n))
    } catch (cause) {
      throw this.#fail(`binary at offset ${start} is not valid UTF-8`, 'DD_ERR_DECODE_MALFORMED', cause)
    }
  }

  // A map key's text: from the cache when these bytes were seen before.
  #keyText(n: number): string {
    const b = this.#b
    const start = this.#pos
    const cached = this.#keys.get(b, start, n)
    if (cached !== undefined) {
      this.#pos += n
      return cached
    }
    const s = this.#utf8(n)
    // As many characters as bytes: ASCII only, so the cached string is exactly these bytes.
    if (s.length === n) this.#keys.set(b, start, n, s)
    return s
  }

  #big(n: number, sign: number): number | bigint {
    this.#need(n)
    if (sign > 1) throw this.#fail(`big integer sign byte ${sign}`, 'DD_ERR_DECODE_MALFORMED')
    const b = this.#b
    const start = this.#pos
    this.#pos += n
    // Up to 6 digits (48 bits) is always a safe integer; 7 may be. Beyond 2^53 - 1: a bigint.
    if (n <= 7) {
      let v = 0
      for (let i = n - 1; i >= 0; i--) v = v * 256 + b[start + i]
      if (v <= Number.MAX_SAFE_INTEGER) return sign === 1 ? -v : v
    }
    // Bounded so a hostile frame cannot make us build a 16 MiB integer; real Erlang integers are far smaller.
    if (n > BERT_MAX_BIG_BYTES) {
      throw this.#fail(`integer of ${n} bytes (over ${BERT_MAX_BIG_BYTES})`, 'DD_ERR_DECODE_SHAPE')
    }
    let hex = ''
    for (let i = n - 1; i >= 0; i--) hex += b[start + i].toString(16).padStart(2, '0')
    const v = BigInt(`0x${hex || '0'}`)
    const signed = sign === 1 ? -v : v
    // A big with leading zero digits may still be small.
    return signed >= BigInt(-Number.MAX_SAFE_INTEGER) && signed <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(signed)
      : signed
  }

  #list(depth: number): unknown[] {
    this.#deeper(depth)
    this.#need(4)
    const n = this.#u32()
    this.#promise(n + 1)
    const out = new Array<unknown>(n)
    for (let i = 0; i < n; i++) out[i] = this.#value(depth + 1)
    this.#tail()
    return out
  }

  #map(depth: number): Record<string, unknown> {
    this.#deeper(depth)
    this.#need(4)
    const n = this.#u32()
    this.#promise(n * 2)
    const out: Record<string, unknown> = {}
    for (let i = 0; i < n; i++) {
      const key = this.#key()
      out[key] = this.#value(depth + 1)
    }
    return out
  }

  // Map keys: binaries and atoms by their text, integers by their decimal text; nothing else.
  #key(): string {
    this.#need(1)
    const tag = this.#b[this.#pos]
    let key: string
    if (tag === BINARY) {
      this.#pending--
      this.#pos++
      this.#need(4)
      const n = this.#u32()
      this.#need(n)
      key = this.#keyText(n)
    } else if (tag === SMALL_ATOM_UTF8 || tag === SMALL_ATOM || tag === ATOM_UTF8 || tag === ATOM) {
      this.#pending--
      this.#pos++
      key = this.#atomText(tag)
    } else if (tag === SMALL_INTEGER || tag === INTEGER || tag === SMALL_BIG || tag === LARGE_BIG) {
      key = String(this.#value(0))
    } else {
      this.#value(0) // a cut or malformed key reports that, not the shape
      throw this.#fail(`map key must be a binary, an atom or an integer (tag ${tag})`, 'DD_ERR_DECODE_SHAPE')
    }
    // Assigning `__proto__` would replace the object's prototype; the msgpack and JSON decoders refuse it too.
    if (key === '__proto__') throw this.#fail('__proto__ keys are refused', 'DD_ERR_DECODE_SHAPE')
    return key
  }

  // A tuple: the BERT forms {bert, nil}, {bert, true}, {bert, false}, {bert, bin, Bytes} and
  // {bert, time, Mega, Sec, Micro}; any other tuple is read as an array.
  #tuple(arity: number, depth: number): unknown {
    this.#promise(arity)
    if (arity >= 2 && arity <= 5 && this.#skipAtom(W_BERT)) {
      if (arity === 2) {
        if (this.#skipAtom(W_NIL)) return null
        if (this.#skipAtom(W_TRUE)) return true
        if (this.#skipAtom(W_FALSE)) return false
      } else if (arity === 3 && this.#skipAtom(W_BIN)) return this.#bytes(depth + 1)
      else if (arity === 5 && this.#skipAtom(W_TIME)) return this.#time(depth + 1)
      // Read the rest anyway: a cut-short frame reports that, not the shape.
      for (let i = 1; i < arity; i++) this.#value(depth + 1)
      throw this.#fail(`unsupported BERT term {bert, …} of ${arity} elements`, 'DD_ERR_DECODE_SHAPE')
    }
    // The BERT forms above hold scalars only, so like the encoder only other tuples count as a level.
    this.#deeper(depth)
    const out = new Array<unknown>(arity)
    for (let i = 0; i < arity; i++) out[i] = this.#value(depth + 1)
    return out
  }

  // The Bytes of {bert, bin, Bytes}: a BINARY_EXT, read as a view into the frame (no copy).
  #bytes(depth: number): Uint8Array {
    this.#need(1)
    if (this.#b[this.#pos] !== BINARY) {
      this.#value(depth)
      throw this.#fail('{bert, bin, _} must hold a binary', 'DD_ERR_DECODE_SHAPE')
    }
    this.#pending--
    this.#pos++
    this.#need(4)
    const n = this.#u32()
    this.#need(n)
    const b = this.#b
    const out = new Uint8Array(b.buffer, b.byteOffset + this.#pos, n)
    this.#pos += n
    return out
  }

  #time(depth: number): Date {
    const mega = this.#value(depth)
    const sec = this.#value(depth)
    const micro = this.#value(depth)
    if (typeof mega !== 'number' || typeof sec !== 'number' || typeof micro !== 'number') {
      throw this.#fail('{bert, time, Mega, Sec, Micro} must hold three integers', 'DD_ERR_DECODE_SHAPE')
    }
    const ms = (mega * 1_000_000 + sec) * 1000 + Math.trunc(micro / 1000)
    const date = new Date(ms)
    if (!Number.isInteger(mega + sec + micro) || Number.isNaN(date.getTime())) {
      throw this.#fail('{bert, time, …} out of the range of a Date', 'DD_ERR_DECODE_SHAPE')
    }
    return date
  }
}
