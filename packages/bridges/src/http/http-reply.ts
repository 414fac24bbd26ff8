import { validateHeaderName, validateHeaderValue } from 'node:http'

/** Response headers a handler may set: lower- or mixed-case names; an array sends the header once per value. */
export type HttpReplyHeaders = Readonly<Record<string, string | number | readonly string[]>>

// The route writes these itself from the body it encodes; a handler's own would contradict the bytes sent.
const RESERVED = new Set(['content-type', 'content-length', 'transfer-encoding', 'connection'])

/**
 * An `http-server` handler's answer with its own success status and response headers; build one with
 * {@link httpReply}. The body is encoded as any returned value is (JSON, or msgpack when the client asks).
 */
export class HttpReply<B = unknown> {
  /** The status, 200..399. */
  readonly status: number
  /** The response body; `undefined` sends none. */
  readonly body: B
  /** The headers as the handler gave them. */
  readonly headers: HttpReplyHeaders | undefined
  /** @internal `[name, value, …]` with lower-case names, validated once, ready for `writeHead`. */
  readonly flat: readonly (string | readonly string[])[]

  constructor(status: number, body: B, headers?: HttpReplyHeaders) {
    if (!Number.isInteger(status) || status < 200 || status > 399) {
      throw new TypeError(
        `httpReply: status must be an integer in 200..399 (got ${status}); throw an HttpStatusError for errors`,
      )
    }
    if ((status === 204 || status === 304) && body !== undefined) {
      throw new TypeError(`httpReply: a ${status} response has no body`)
    }
    this.status = status
    this.body = body
    this.headers = headers
    const flat: (string | readonly string[])[] = []
    if (headers !== undefined) {
      if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) {
        throw new TypeError('httpReply: headers must be an object like { location: "/jobs/7" }')
      }
      for (const key of Object.keys(headers)) {
        const name = key.toLowerCase()
        if (RESERVED.has(name)) throw new TypeError(`httpReply: headers["${key}"] is set by the route`)
        const raw = headers[key]
        const value = Array.isArray(raw) ? raw.map(String) : String(raw)
        // node:http's own checks, here, so a bad header is the handler's error (a 500), never a broken response.
        try {
          validateHeaderName(name)
          if (typeof value === 'string') validateHeaderValue(name, value)
          else for (const v of value) validateHeaderValue(name, v)
        } catch (err) {
          throw new TypeError(`httpReply: headers["${key}"]: ${(err as Error).message}`, { cause: err })
        }
        flat.push(name, value)
      }
    }
    this.flat = flat
  }
}

/**
 * Answers an `http-server` request with a chosen success status (200..399) and response headers, where a
 * plain return value is always `200` (or `204` when `undefined`). Errors stay thrown `HttpStatusError`s.
 * `content-type` and `content-length` are the route's (they follow the encoded body); a `204` or `304`
 * takes no body. Invalid headers throw a `TypeError` in the handler, which answers 500.
 *
 * @example
 * ```ts
 * api.on('job.create', ({ body }) => {
 *   const job = jobs.create(body)
 *   return httpReply(201, job, { location: `/jobs/${job.id}` })
 * })
 * api.on('job.old', ({ head }) => httpReply(308, undefined, { location: `/jobs/${head.params.id}` }))
 * ```
 */
export function httpReply<B>(status: number, body?: B, headers?: HttpReplyHeaders): HttpReply<B> {
  return new HttpReply(status, body as B, headers)
}
