/**
 * An incremental HTTP/1.1 response parser for the fast client: status line, headers (only `content-length`,
 * `transfer-encoding` and `connection` are interpreted), bodies by length, chunked or until the connection
 * closes, informational (1xx) responses skipped. It never keeps body bytes: it counts them. It keeps only the
 * unfinished line of a head split across reads (copied, so the caller may reuse its read buffer).
 */

/** Parser states. */
const LINE = 0 // expecting a status line
const HEADER = 1 // expecting a header line or the empty line ending the head
const BODY = 2 // `remaining` body bytes by content-length
const CHUNK_SIZE = 3 // expecting a chunk-size line
const CHUNK_DATA = 4 // `remaining` bytes of chunk data
const CHUNK_END = 5 // expecting the CRLF after chunk data
const TRAILER = 6 // trailer lines until the empty line
const UNTIL_CLOSE = 7 // a body delimited by the end of the connection

const LF = 10
const CR = 13

/** The longest head (status line + headers) or chunk-size line accepted, bytes. */
export const MAX_HEAD_BYTES = 65_536

/** What {@link ResponseParser.execute} returns. */
export const PARSE_OK = 0
/** A response ended with `connection: close` (or was HTTP/1.0 without keep-alive): stop reading, close. */
export const PARSE_CLOSE = 1
/** The bytes are not HTTP/1.1: {@link ResponseParser.error} says why; the connection must be destroyed. */
export const PARSE_ERROR = -1

/** Receives the parser's results. */
export interface ResponseParserHandler {
  /** Called at each final response head: `true` when that response has no body whatever its headers (HEAD). */
  bodiless(): boolean
  /** A whole response arrived: its status, body bytes, and whether the connection stays open after it. */
  onResponse(status: number, bodyBytes: number, keepAlive: boolean): void
}

function lower(b: number): number {
  return b >= 65 && b <= 90 ? b | 0x20 : b
}

/** `true` when buf[start, end) equals `name` (lower case ASCII) ignoring case. */
function equalsLower(buf: Buffer, start: number, end: number, name: string): boolean {
  if (end - start !== name.length) return false
  for (let i = 0; i < name.length; i++)
    if (lower(buf[start + i] as number) !== name.charCodeAt(i)) return false
  return true
}

function isOws(b: number): boolean {
  return b === 32 || b === 9
}

export class ResponseParser {
  /** Why the last {@link PARSE_ERROR} happened. */
  error = ''
  #state = LINE
  #status = 0
  #http10 = false
  #keepAlive = true
  #contentLength = -1
  #chunked = false
  #remaining = 0
  #bodyBytes = 0
  #headBytes = 0
  /** The unfinished line of the previous read (a copy), or undefined. */
  #carry: Buffer | undefined = undefined

  constructor(readonly handler: ResponseParserHandler) {}

  /** Back to the start of a response with nothing carried (a new connection). */
  reset(): void {
    this.#state = LINE
    this.#carry = undefined
    this.#headBytes = 0
    this.#bodyBytes = 0
    this.error = ''
  }

  /** `true` between responses: nothing of a next response has arrived yet. */
  get idle(): boolean {
    return this.#state === LINE && this.#carry === undefined && this.#headBytes === 0
  }

  /**
   * Parses `buf[start, end)`. Returns {@link PARSE_OK}, {@link PARSE_CLOSE} (a response said the connection
   * closes: the rest of the bytes are ignored) or {@link PARSE_ERROR}.
   */
  execute(buf: Buffer, start: number, end: number): number {
    if (this.#carry !== undefined) {
      buf = Buffer.concat([this.#carry, buf.subarray(start, end)])
      start = 0
      end = buf.length
      this.#carry = undefined
    }
    let pos = start
    while (pos < end) {
      const state = this.#state
      if (state === BODY || state === CHUNK_DATA) {
        const take = Math.min(this.#remaining, end - pos)
        this.#remaining -= take
        this.#bodyBytes += take
        pos += take
        if (this.#remaining === 0) {
          if (state === CHUNK_DATA) this.#state = CHUNK_END
          else if (!this.#complete()) return PARSE_CLOSE
        }
        continue
      }
      if (state === UNTIL_CLOSE) {
        this.#bodyBytes += end - pos
        return PARSE_OK
      }
      // A line-oriented state: the next LF within [pos, end). A plain loop: lines are short, and
      // Buffer#indexOf's native call costs more than scanning them.
      let lf = pos
      while (lf < end && buf[lf] !== LF) lf++
      if (lf === end) {
        if (end - pos + this.#headBytes > MAX_HEAD_BYTES) return this.#fail('response head too large')
        this.#carry = Buffer.from(buf.subarray(pos, end))
        return PARSE_OK
      }
      this.#headBytes += lf + 1 - pos
      if (this.#headBytes > MAX_HEAD_BYTES) return this.#fail('response head too large')
      const lineEnd = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf
      const r = this.#line(buf, pos, lineEnd)
      pos = lf + 1
      if (r !== PARSE_OK) return r
    }
    return PARSE_OK
  }

  /**
   * The connection ended (EOF). Returns `true` when that was a clean end: between responses, or the end of a
   * body delimited by the close (that response is then reported).
   */
  finish(): boolean {
    if (this.#state === UNTIL_CLOSE) {
      this.#complete()
      return true
    }
    return this.idle
  }

  #fail(reason: string): number {
    this.error = reason
    this.#carry = undefined
    return PARSE_ERROR
  }

  #line(buf: Buffer, start: number, end: number): number {
    switch (this.#state) {
      case LINE:
        return this.#statusLine(buf, start, end)
      case HEADER:
        return end === start ? this.#headEnd() : this.#header(buf, start, end)
      case CHUNK_SIZE:
        return this.#chunkSize(buf, start, end)
      case CHUNK_END:
        if (end !== start) return this.#fail('chunk data longer than its size')
        this.#state = CHUNK_SIZE
        this.#headBytes = 0
        return PARSE_OK
      default: // TRAILER
        if (end !== start) return PARSE_OK // trailer fields are ignored
        return this.#complete() ? PARSE_OK : PARSE_CLOSE
    }
  }

  #statusLine(buf: Buffer, start: number, end: number): number {
    // Empty lines before a status line are tolerated (RFC 9112 §2.2).
    if (end === start) {
      this.#headBytes = 0
      return PARSE_OK
    }
    // "HTTP/1.x SSS" then optionally " reason".
    if (
      end - start < 12 ||
      buf[start] !== 72 || // H
      buf[start + 1] !== 84 || // T
      buf[start + 2] !== 84 ||
      buf[start + 3] !== 80 || // P
      buf[start + 4] !== 47 || // /
      buf[start + 5] !== 49 || // 1
      buf[start + 6] !== 46 || // .
      (buf[start + 7] !== 48 && buf[start + 7] !== 49) ||
      buf[start + 8] !== 32 ||
      (end - start > 12 && buf[start + 12] !== 32)
    )
      return this.#fail('not an HTTP/1.x status line')
    const d0 = (buf[start + 9] as number) - 48
    const d1 = (buf[start + 10] as number) - 48
    const d2 = (buf[start + 11] as number) - 48
    if (d0 < 1 || d0 > 5 || d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9)
      return this.#fail('not an HTTP/1.x status line')
    this.#status = d0 * 100 + d1 * 10 + d2
    this.#http10 = buf[start + 7] === 48
    this.#keepAlive = !this.#http10
    this.#contentLength = -1
    this.#chunked = false
    this.#state = HEADER
    return PARSE_OK
  }

  #header(buf: Buffer, start: number, end: number): number {
    const first = buf[start] as number
    if (isOws(first)) return this.#fail('obsolete header line folding')
    let colon = start
    while (colon < end && buf[colon] !== 58) colon++
    if (colon === end || colon === start) return this.#fail('a header line without a name')
    let vs = colon + 1
    let ve = end
    while (vs < ve && isOws(buf[vs] as number)) vs++
    while (ve > vs && isOws(buf[ve - 1] as number)) ve--
    const nameLength = colon - start
    const c = lower(first)
    if (nameLength === 14 && c === 99 && equalsLower(buf, start, colon, 'content-length')) {
      if (vs === ve) return this.#fail('an empty content-length')
      let n = 0
      for (let i = vs; i < ve; i++) {
        const d = (buf[i] as number) - 48
        if (d < 0 || d > 9 || n > 2 ** 48) return this.#fail('an invalid content-length')
        n = n * 10 + d
      }
      if (this.#contentLength >= 0 && this.#contentLength !== n)
        return this.#fail('conflicting content-length headers')
      this.#contentLength = n
    } else if (nameLength === 17 && c === 116 && equalsLower(buf, start, colon, 'transfer-encoding')) {
      // Only the last coding decides whether the body is chunked.
      const value = buf.toString('latin1', vs, ve).toLowerCase()
      const codings = value.split(',')
      this.#chunked = (codings[codings.length - 1] as string).trim() === 'chunked'
      if (!this.#chunked) this.#contentLength = -2 // a body delimited by the close
    } else if (nameLength === 10 && c === 99 && equalsLower(buf, start, colon, 'connection')) {
      if (ve - vs === 10 && equalsLower(buf, vs, ve, 'keep-alive')) this.#keepAlive = true
      else if (ve - vs === 5 && equalsLower(buf, vs, ve, 'close')) this.#keepAlive = false
      else
        for (const token of buf.toString('latin1', vs, ve).toLowerCase().split(',')) {
          const t = token.trim()
          if (t === 'close') {
            this.#keepAlive = false
            break
          }
          if (t === 'keep-alive') this.#keepAlive = true
        }
    }
    return PARSE_OK
  }

  #headEnd(): number {
    const status = this.#status
    this.#headBytes = 0
    if (status < 200) {
      if (status === 101) return this.#fail('101 Switching Protocols is not supported')
      this.#state = LINE // informational: the final response follows
      return PARSE_OK
    }
    this.#bodyBytes = 0
    if (this.handler.bodiless() || status === 204 || status === 304)
      return this.#complete() ? PARSE_OK : PARSE_CLOSE
    if (this.#chunked) {
      this.#state = CHUNK_SIZE
      return PARSE_OK
    }
    if (this.#contentLength >= 0) {
      if (this.#contentLength === 0) return this.#complete() ? PARSE_OK : PARSE_CLOSE
      this.#remaining = this.#contentLength
      this.#state = BODY
      return PARSE_OK
    }
    this.#keepAlive = false
    this.#state = UNTIL_CLOSE
    return PARSE_OK
  }

  #chunkSize(buf: Buffer, start: number, end: number): number {
    let n = 0
    let digits = 0
    let i = start
    for (; i < end; i++) {
      const b = buf[i] as number
      const d = b >= 48 && b <= 57 ? b - 48 : b >= 97 && b <= 102 ? b - 87 : b >= 65 && b <= 70 ? b - 55 : -1
      if (d < 0) break
      if (++digits > 12) return this.#fail('a chunk size too large')
      n = n * 16 + d
    }
    // After the digits: optional whitespace, then optional chunk extensions (";…"), ignored.
    while (i < end && isOws(buf[i] as number)) i++
    if (digits === 0 || (i < end && buf[i] !== 59)) return this.#fail('an invalid chunk size')
    this.#headBytes = 0
    if (n === 0) {
      this.#state = TRAILER
      return PARSE_OK
    }
    this.#remaining = n
    this.#state = CHUNK_DATA
    return PARSE_OK
  }

  /** Reports the response and starts the next; returns whether the connection stays open. */
  #complete(): boolean {
    const keepAlive = this.#keepAlive
    const status = this.#status
    const bytes = this.#bodyBytes
    this.#state = LINE
    this.#headBytes = 0
    this.#bodyBytes = 0
    this.handler.onResponse(status, bytes, keepAlive)
    return keepAlive
  }
}
