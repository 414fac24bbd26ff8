import type { SerializedRequest } from './fast-pool.js'

/** Headers the fast client writes itself or whose semantics it does not implement: such requests go through undici. */
const RESERVED = new Set([
  'connection',
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
  'proxy-connection',
])

/** An RFC 9110 token (a header name). */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
/** A header value undici would accept: no CR, LF or NUL. */
const INVALID_VALUE = /[\r\n\0]/

/** Methods whose requests carry `content-length: 0` without a body, as undici writes them. */
const EXPECTS_PAYLOAD = new Set(['POST', 'PUT', 'PATCH'])

/**
 * Serializes a static request for the fast client: the request line, `host`, `connection: keep-alive`, the
 * scenario's headers and `content-length`, then the body — the bytes undici would write for it. Returns the
 * reason as a string when the fast client does not cover the request (then it goes through undici).
 */
export function serializeRequest(
  url: URL,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | Buffer | undefined,
): SerializedRequest | string {
  if (url.protocol !== 'http:') return `${url.protocol} targets need TLS (undici)`
  if (!TOKEN.test(method)) return `the method "${method}" is not a token`
  let head = `${method} ${path} HTTP/1.1\r\n`
  let hasHost = false
  let extra = ''
  for (const [name, raw] of Object.entries(headers)) {
    const value = String(raw)
    const lower = name.toLowerCase()
    if (!TOKEN.test(name)) return `the header name "${name}" is not a token`
    if (INVALID_VALUE.test(value)) return `the header "${name}" has CR, LF or NUL in its value`
    if (RESERVED.has(lower)) return `the header "${name}" is handled by undici only`
    if (lower === 'host') hasHost = true
    extra += `${name}: ${value}\r\n`
  }
  if (!hasHost) head += `host: ${url.host}\r\n`
  head += `connection: keep-alive\r\n${extra}`
  const payload = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body) : body
  if (payload !== undefined) head += `content-length: ${payload.length}\r\n`
  else if (EXPECTS_PAYLOAD.has(method)) head += 'content-length: 0\r\n'
  head += '\r\n'
  const headBytes = Buffer.from(head, 'latin1')
  return {
    bytes: payload === undefined ? headBytes : Buffer.concat([headBytes, payload]),
    head: method === 'HEAD',
  }
}
