import { isAscii } from 'node:buffer'
import type { IncomingMessage } from 'node:http'
import { DecodeError, JsonCodec, MsgpackCodec } from '@dripdrop/codec'
import { HttpStatusError } from '../errors.js'

/** Body codecs of one route, bounded by its `maxMessageBytes`. */
export interface BodyCodecs {
  json: JsonCodec
  msgpack: MsgpackCodec
}

export function bodyCodecs(maxMessageBytes: number): BodyCodecs {
  return {
    json: new JsonCodec({ maxMessageBytes }),
    msgpack: new MsgpackCodec({ maxMessageBytes }),
  }
}

/** The media type without parameters, lower case: `application/json; charset=utf-8` → `application/json`. */
export function mediaType(header: string | undefined): string {
  if (!header) return ''
  // Most requests say exactly this: skip the slice, trim and lower-casing.
  if (header === 'application/json') return header
  const semi = header.indexOf(';')
  return (semi === -1 ? header : header.slice(0, semi)).trim().toLowerCase()
}

export function isMsgpack(type: string): boolean {
  return (
    type === 'application/msgpack' || type === 'application/x-msgpack' || type === 'application/vnd.msgpack'
  )
}

export function isJson(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'))
}

/**
 * Decodes a request or response body by its content type: JSON, msgpack or `text/*` (a string). An empty body
 * is `undefined`. Throws {@link HttpStatusError} 400 (does not decode) or 415 (unknown type).
 */
export function decodeBody(bytes: Buffer, contentType: string | undefined, codecs: BodyCodecs): unknown {
  if (bytes.byteLength === 0) return undefined
  const type = mediaType(contentType)
  if (type === '' || type === 'application/json') {
    const value = plainJson(bytes)
    if (value !== NOT_PLAIN) return value
  }
  try {
    if (type === '' || isJson(type)) return codecs.json.decodeValue(bytes)
    if (isMsgpack(type)) return codecs.msgpack.decodeValue(bytes)
  } catch (err) {
    const detail = err instanceof DecodeError ? `${err.code}: ${err.message}` : String(err)
    throw new HttpStatusError(
      400,
      'DD_ERR_HTTP_BAD_REQUEST',
      `body does not decode as ${type || 'JSON'} (${detail})`,
      err,
    )
  }
  if (type.startsWith('text/')) return bytes.toString('utf8')
  throw new HttpStatusError(
    415,
    'DD_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE',
    `content type "${type}" is not supported: send application/json, application/msgpack or text/*`,
  )
}

const NOT_PLAIN = Symbol('not plain JSON')

/**
 * The JSON codec's answer for the common body, at the cost of a bare `JSON.parse`: ASCII text (so valid UTF-8,
 * and latin1 decoding, the cheapest, gives the same string) with no `$` (no `$bin`/`$esc` tags), no `\u`
 * escape (which could spell either) and no `__proto__` key is exactly what the codec would return. Anything
 * else, including text that does not parse, goes through the codec for its checks and its coded errors.
 * (The codec's own checks cost ~1 µs per small request: a fatal TextDecoder and three scans.)
 */
function plainJson(bytes: Buffer): unknown {
  if (!isAscii(bytes)) return NOT_PLAIN
  const text = bytes.toString('latin1')
  if (text.includes('$') || text.includes('\\u') || text.includes('__proto__')) return NOT_PLAIN
  try {
    return JSON.parse(text)
  } catch {
    return NOT_PLAIN
  }
}

/**
 * The error a request ends with when its client went away before its body ended (a reset, a hang-up
 * mid-upload): there is nobody to answer, the server only frees what the request held.
 */
export const BODY_ABORTED = new HttpStatusError(400, 'DD_ERR_ABORTED', 'the client went away mid-body')

/**
 * Reads a whole request body, refusing it with a 413 as soon as it passes `limit` bytes (from the
 * `content-length` header when given, so a large upload is refused before it is read). `ctx` is handed back
 * to `onDone`, so a caller's callback can be one shared function rather than a closure per request. A
 * request whose connection closes first never calls `onDone`: the caller watches the connection (one
 * listener per connection rather than one more per request).
 */
export function readBody<C>(
  req: IncomingMessage,
  declared: string | undefined,
  limit: number,
  ctx: C,
  onDone: (ctx: C, err: HttpStatusError | undefined, body: Buffer) => void,
): void {
  if (declared !== undefined && Number(declared) > limit) {
    onDone(ctx, tooLarge(Number(declared), limit), EMPTY)
    return
  }
  let chunks: Buffer[] | undefined
  let first: Buffer | undefined
  let size = 0
  let failed = false
  req.on('data', (chunk: Buffer) => {
    if (failed) return
    size += chunk.byteLength
    if (size > limit) {
      failed = true
      onDone(ctx, tooLarge(size, limit), EMPTY)
      return
    }
    if (first === undefined) first = chunk
    else (chunks ??= [first]).push(chunk)
  })
  req.on('end', () => {
    if (failed) return
    onDone(ctx, undefined, chunks ? Buffer.concat(chunks, size) : (first ?? EMPTY))
  })
}

const EMPTY = Buffer.alloc(0)

function tooLarge(size: number, limit: number): HttpStatusError {
  return new HttpStatusError(
    413,
    'DD_ERR_HTTP_BODY_TOO_LARGE',
    `body of ${size} bytes exceeds maxMessageBytes (${limit})`,
  )
}

/** The request headers the server reads for every request. */
export interface BodyHeaders {
  contentType: string | undefined
  contentLength: string | undefined
  accept: string | undefined
}

/**
 * Reads `content-type`, `content-length` and `accept` from `rawHeaders` into `out` (the server's per-request
 * record, so no object of its own). node:http builds `req.headers` lazily, on first access, for every header:
 * skipping it is a measurable share of a small request's cost.
 */
export function bodyHeaders<T extends BodyHeaders>(req: IncomingMessage, out: T): T {
  const raw = req.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const k = raw[i]
    if (k.length === 12 && k.toLowerCase() === 'content-type') out.contentType ??= raw[i + 1]
    else if (k.length === 14 && k.toLowerCase() === 'content-length') out.contentLength ??= raw[i + 1]
    else if (k.length === 6 && k.toLowerCase() === 'accept')
      out.accept = out.accept === undefined ? raw[i + 1] : `${out.accept}, ${raw[i + 1]}`
  }
  return out
}
