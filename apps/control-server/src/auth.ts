import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { tokenEquals } from '@dripdrop/bridges'

/** A new random bearer token: 32 bytes, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString('base64url')
}

/**
 * The token stored at `file`, or a new one written there (mode 0600). `created` tells whether it was generated
 * now, so the caller prints it once, on first start only.
 */
export function loadOrCreateToken(file: string): { token: string; created: boolean } {
  try {
    const token = readFileSync(file, 'utf8').trim()
    if (token.length >= 16) return { token, created: false }
  } catch {
    // no token yet: create one below
  }
  const token = newToken()
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 })
  writeFileSync(file, `${token}\n`, { mode: 0o600 })
  return { token, created: true }
}

/**
 * Compares a presented token with the expected one in constant time: `tokenEquals` of @dripdrop/bridges (both
 * hashed to 32-byte SHA-256 digests, then `crypto.timingSafeEqual`), so neither the content nor the length of
 * the secret leaks through timing. One implementation for every dripdrop HTTP surface.
 */
export function tokenMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined || presented === '') return false
  return tokenEquals(presented, expected)
}

/** The token a request carries: `Authorization: Bearer …`, else the `dd_token` cookie, else `?token=`. */
export function presentedToken(
  headers: Record<string, string | string[] | undefined>,
  query: URLSearchParams | Record<string, string | undefined> | undefined,
): string | undefined {
  const auth = headers.authorization
  if (typeof auth === 'string' && /^bearer /i.test(auth)) return auth.slice(7).trim()
  const cookie = headers.cookie
  if (typeof cookie === 'string') {
    for (const part of cookie.split(';')) {
      const [k, ...v] = part.trim().split('=')
      if (k === 'dd_token') return decodeURIComponent(v.join('='))
    }
  }
  if (query instanceof URLSearchParams) return query.get('token') ?? undefined
  return query?.token
}
