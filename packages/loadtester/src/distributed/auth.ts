import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/** HMAC-SHA256 of `message` under `token`, hex; `''` when there is no token. */
export function proof(token: string | undefined, message: string): string {
  return token === undefined || token === '' ? '' : createHmac('sha256', token).update(message).digest('hex')
}

/** Constant-time check of a proof; the side without a token checks nothing (it trusts every peer). */
export function verify(token: string | undefined, message: string, given: string): boolean {
  if (token === undefined || token === '') return true
  const want = Buffer.from(proof(token, message))
  const got = Buffer.from(given)
  return want.length === got.length && timingSafeEqual(want, got)
}

/** A fresh random id or nonce, hex. */
export function randomId(bytes = 8): string {
  return randomBytes(bytes).toString('hex')
}
