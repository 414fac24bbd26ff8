import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'

/** The bearer token of an `Authorization: Bearer <token>` header, or '' when there is none. */
export function bearerOf(req: IncomingMessage): string {
  const m = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '')
  return m?.[1] ?? ''
}

/**
 * The SHA-256 digest of a token: 32 bytes whatever the token's length or content. Tokens are compared as
 * digests, so `crypto.timingSafeEqual` always compares 32 bytes with 32 bytes.
 */
export function tokenDigest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}
const digest = tokenDigest

/**
 * Compares a token with an expected one in constant time: both are hashed (SHA-256) first, so the time
 * depends neither on where they differ nor on the expected token's length, then compared with
 * `crypto.timingSafeEqual`. An empty `given` never matches.
 *
 * @example `tokenEquals(info.token, process.env.API_TOKEN!)`
 */
export function tokenEquals(given: string, expected: string): boolean {
  if (typeof given !== 'string' || typeof expected !== 'string') return false
  const ok = timingSafeEqual(digest(given), digest(expected))
  return ok && given.length > 0
}

/**
 * An `authorize` hook for `http-server` and `ws-server` routes that accepts a request or upgrade whose bearer
 * token is one of `tokens` (constant-time, see {@link tokenEquals}); anything else gets 401. Every token is
 * compared, so the time does not tell which one matched.
 *
 * @param tokens one token or several (rotation); each a non-empty string.
 * @example
 * ```ts
 * node.route('api', { type: 'http-server', bind: 'http://127.0.0.1:8080', routes, authorize: bearerAuth(process.env.API_TOKEN!) })
 * ```
 */
export function bearerAuth(tokens: string | readonly string[]): (info: { token: string }) => boolean {
  const list = typeof tokens === 'string' ? [tokens] : [...tokens]
  if (list.length === 0 || list.some((t) => typeof t !== 'string' || t === ''))
    throw new TypeError('bearerAuth(tokens): each token must be a non-empty string')
  const digests = list.map(digest)
  return ({ token }) => {
    if (typeof token !== 'string' || token === '') return false
    const given = digest(token)
    let ok = false
    for (const d of digests) ok = timingSafeEqual(given, d) || ok
    return ok
  }
}
