// Authentication on the HTTP bridge: a per-route authorize hook and bearer tokens compared in constant time.
import { describe, expect, it } from 'vitest'
import { bearerAuth, HttpStatusError, tokenDigest, tokenEquals } from '../src/index.js'
import { httpServer } from './support/http-server.js'

const TOKEN = 'tok-0123456789abcdef'
const json = (res: Response): Promise<any> => res.json()

async function itemsServer(authorize: unknown) {
  const items: unknown[] = []
  const { api, start } = httpServer({ 'POST /items': 'item.add', 'GET /items': 'item.list' }, { authorize })
  api.on('item.add', ({ body, head }) => {
    items.push(body)
    return { n: items.length, auth: head.$auth ?? null }
  })
  api.on('item.list', () => items)
  return { api, items, base: await start() }
}

const add = (base: string, headers: Record<string, string> = {}) =>
  fetch(`${base}/items`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ name: 'x' }),
  })

describe('http-server authorize', () => {
  it('no token and a wrong token get 401 DD_ERR_HTTP_UNAUTHORIZED and change nothing; the right token is served', async () => {
    const { api, items, base } = await itemsServer(bearerAuth(TOKEN))
    const none = await add(base)
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe('Bearer')
    expect((await json(none)).error.code).toBe('DD_ERR_HTTP_UNAUTHORIZED')
    for (const wrong of ['tok-0123456789abcdeX', 'tok', `${TOKEN}x`, 'x'.repeat(4096)]) {
      const res = await add(base, { authorization: `Bearer ${wrong}` })
      expect(res.status).toBe(401)
      expect((await json(res)).error.code).toBe('DD_ERR_HTTP_UNAUTHORIZED')
    }
    // A token in the URL is not a credential (URLs end up in logs).
    expect((await fetch(`${base}/items?token=${TOKEN}`)).status).toBe(401)
    expect(items).toEqual([])
    expect(api.stats.errors).toBe(6)
    const ok = await add(base, { authorization: `Bearer ${TOKEN}` })
    expect(ok.status).toBe(200)
    expect(await ok.json()).toEqual({ n: 1, auth: null })
    expect(items).toEqual([{ name: 'x' }])
  })

  it('an object verdict becomes head.$auth; a 403 HttpStatusError answers 403; a throwing hook answers 401', async () => {
    const { items, base } = await itemsServer(({ token, method }: { token: string; method: string }) => {
      if (token === 'boom') throw new Error('hook failed')
      if (token === 'reader' && method === 'POST')
        throw new HttpStatusError(403, 'DD_ERR_HTTP_FORBIDDEN', 'read only')
      return token === 'writer' || token === 'reader' ? { user: token } : false
    })
    const forbidden = await add(base, { authorization: 'Bearer reader' })
    expect(forbidden.status).toBe(403)
    expect((await json(forbidden)).error.code).toBe('DD_ERR_HTTP_FORBIDDEN')
    expect((await add(base, { authorization: 'Bearer boom' })).status).toBe(401)
    const ok = await add(base, { authorization: 'Bearer writer' })
    expect(await ok.json()).toEqual({ n: 1, auth: { user: 'writer' } })
    const list = await fetch(`${base}/items`, { headers: { authorization: 'Bearer reader' } })
    expect(await list.json()).toEqual([{ name: 'x' }])
    expect(items).toHaveLength(1)
  })

  it('refuses a non-function authorize with the option path', () => {
    expect(() => httpServer({ 'GET /': 'x' }, { authorize: 'yes' })).toThrow(
      /route "api": options\.authorize must be a function/,
    )
  })
})

describe('tokenEquals / bearerAuth', () => {
  it('compares digests, so tokens of any length compare without throwing; empty never matches', () => {
    expect(tokenEquals(TOKEN, TOKEN)).toBe(true)
    expect(tokenEquals('a', TOKEN)).toBe(false)
    expect(tokenEquals(`${TOKEN}${'x'.repeat(10_000)}`, TOKEN)).toBe(false)
    expect(tokenEquals('', '')).toBe(false)
    const hook = bearerAuth(['old-token', 'new-token'])
    expect(hook({ token: 'old-token' })).toBe(true)
    expect(hook({ token: 'new-token' })).toBe(true)
    expect(hook({ token: 'other' })).toBe(false)
    expect(hook({ token: '' })).toBe(false)
    expect(() => bearerAuth([])).toThrow(TypeError)
    expect(() => bearerAuth('')).toThrow(TypeError)
  })
})

describe('constant-time token comparison, by construction', () => {
  it('a token differing in its first byte and one differing in its last take the same path: two 32-byte digests into timingSafeEqual', () => {
    const expected = 'k'.repeat(40)
    const first = `x${expected.slice(1)}`
    const last = `${expected.slice(0, -1)}x`
    const short = 'k'
    // Every candidate becomes 32 bytes, whatever its length or where it differs…
    for (const t of [expected, first, last, short, 'k'.repeat(10_000)])
      expect(tokenDigest(t)).toHaveLength(32)
    // …and differing digests (no shared prefix to leak: SHA-256 scatters a one-byte change).
    expect(tokenDigest(first).equals(tokenDigest(expected))).toBe(false)
    expect(tokenDigest(last).equals(tokenDigest(expected))).toBe(false)
    expect(tokenEquals(first, expected)).toBe(false)
    expect(tokenEquals(last, expected)).toBe(false)
    expect(tokenEquals(expected, expected)).toBe(true)
    // The comparison is timingSafeEqual over the two digests, with no branch on the tokens' content before
    // it (the only other test is the type and the emptiness of the presented token, after the comparison).
    const body = tokenEquals.toString()
    expect(body).toMatch(/timingSafeEqual\)?\(digest\(given\), digest\(expected\)\)/)
    expect(body).not.toMatch(
      /given\s*===\s*expected|expected\s*===\s*given|startsWith|indexOf|charCodeAt|\bfor\b/,
    )
    expect(bearerAuth.toString()).toMatch(/timingSafeEqual\)?\(given, d\)/)
  })
})
