// TLS on the bridges: https/wss servers, clients that pin a CA, and refusal of certificates they do not trust.
import type { DripdropError } from '@dripdrop/core'
import { Node } from '@dripdrop/core'
import { beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import { httpTransport, wsTransport } from '../src/index.js'
import { makeCerts, type TestCerts } from './support/certs.js'

let certs: TestCerts
beforeAll(() => {
  certs = makeCerts()
})

const ROUTES = { 'POST /add': 'add' }

/** Resolves once `predicate()` holds, checking every 5 ms; rejects after 10 s. */
async function until(predicate: () => boolean): Promise<void> {
  const end = Date.now() + 10_000
  while (!predicate()) {
    if (Date.now() > end) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 5))
  }
}

function node(name: string): Node {
  const n = new Node({ name, transports: [httpTransport(), wsTransport()] })
  onTestFinished(() => {
    n.destroy()
  })
  return n
}

async function httpsServer(tls: Record<string, unknown>) {
  const server = node('server')
  const seen: unknown[] = []
  const api = server.route('api', {
    type: 'http-server',
    bind: 'https://127.0.0.1:0',
    routes: ROUTES,
    tls: tls as never,
  })
  api.on('add', ({ body }) => {
    seen.push(body)
    return body.a + body.b
  })
  const errors: DripdropError[] = []
  server.events.on('route:error', ({ error }) => void errors.push(error))
  await server.start()
  return { api, seen, errors, url: api.endpoints[0] }
}

async function httpsClient(url: string, tls?: Record<string, unknown>) {
  const client = node('client')
  const http = client.route('http', {
    type: 'http-client',
    connect: url,
    routes: ROUTES,
    tls,
    timeoutMs: 10_000,
  })
  await client.start()
  return http
}

describe('https: http-server with tls, http-client pinning a CA', () => {
  it('serves over https to a client that pins the CA; a client pinning another CA is refused and nothing runs', async () => {
    const { url, seen, errors } = await httpsServer({ key: certs.serverKey, cert: certs.serverCert })
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    const good = await httpsClient(url, { ca: certs.ca })
    expect((await good.request('add', { a: 2, b: 3 })).body).toBe(5)
    const pinnedElsewhere = await httpsClient(url, { ca: certs.otherCa })
    const refused = await pinnedElsewhere.request('add', { a: 1, b: 1 }).catch((e) => e)
    expect(refused).toBeInstanceOf(Error)
    expect(JSON.stringify(refused.cause?.code ?? refused.code ?? refused.message)).toMatch(
      /CERT|SIGNATURE|ISSUER/i,
    )
    expect(seen).toEqual([{ a: 2, b: 3 }])
    // The server sees the failed handshake (the client's alert arrives after its own rejection): counted as
    // a route error, and it goes on serving.
    await until(() => errors.some((e) => /TLS handshake failed/.test(e.message)))
    expect((await good.request('add', { a: 1, b: 2 })).body).toBe(3)
  })

  it('a client without tls options refuses a self-signed server (verification is never off)', async () => {
    const { url, seen } = await httpsServer({ key: certs.selfSignedKey, cert: certs.selfSignedCert })
    const plain = await httpsClient(url)
    const refused = await plain.request('add', { a: 1, b: 1 }).catch((e) => e)
    expect(JSON.stringify(refused.cause?.code ?? refused.code ?? refused.message)).toMatch(
      /SELF_SIGNED|CERT/i,
    )
    expect(seen).toEqual([])
  })

  it('mutual TLS: with requestCert, a client without a certificate is refused, one with a CA-signed one is served', async () => {
    const { url, seen } = await httpsServer({
      key: certs.serverKey,
      cert: certs.serverCert,
      ca: certs.ca,
      requestCert: true,
    })
    const anonymous = await httpsClient(url, { ca: certs.ca })
    await expect(anonymous.request('add', { a: 1, b: 1 })).rejects.toBeInstanceOf(Error)
    const member = await httpsClient(url, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey })
    expect((await member.request('add', { a: 4, b: 5 })).body).toBe(9)
    expect(seen).toEqual([{ a: 4, b: 5 }])
  })

  it('validates tls once, with the option path', () => {
    const n = node('v')
    expect(() => n.route('a', { type: 'http-server', bind: 'https://127.0.0.1:0', routes: ROUTES })).toThrow(
      /route "a": options\.tls \(\{ key, cert \}\) is required to bind a https:\/\/ address/,
    )
    expect(() =>
      n.route('b', {
        type: 'http-server',
        bind: 'http://127.0.0.1:0',
        routes: ROUTES,
        tls: { key: certs.serverKey, cert: certs.serverCert },
      }),
    ).toThrow(/route "b": options\.tls is given: bind a https:\/\/ address/)
    expect(() =>
      n.route('c', {
        type: 'http-client',
        connect: 'https://127.0.0.1:1',
        tls: { ca: certs.ca, pin: 1 } as never,
      }),
    ).toThrow(/options\.tls\.pin is not a TLS option/)
  })
})

describe('wss: ws-server with tls, ws-client pinning a CA', () => {
  it('a client that pins the CA talks; one pinning another CA never connects and reaches no handler', async () => {
    const server = node('server')
    const seen: unknown[] = []
    const ws = server.route('ws', {
      type: 'ws-server',
      bind: 'wss://127.0.0.1:0',
      tls: { key: certs.serverKey, cert: certs.serverCert },
    })
    ws.on('echo', ({ body }) => {
      seen.push(body)
      return body
    })
    await server.start()
    const url = ws.endpoints[0]
    expect(url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/)

    const bad = node('bad')
    const badErrors: DripdropError[] = []
    bad.events.on('route:error', ({ error }) => void badErrors.push(error))
    bad.route('s', { type: 'ws-client', connect: url, tls: { ca: certs.otherCa }, reconnect: false })
    await bad.start()

    const good = node('good')
    const client = good.route('s', { type: 'ws-client', connect: url, tls: { ca: certs.ca } })
    await good.start()
    expect((await client.request('echo', 'hi', { timeoutMs: 10_000 })).body).toBe('hi')
    await until(() => badErrors.length > 0)
    expect(JSON.stringify(badErrors.map((e) => [e.message, (e.cause as { code?: string })?.code]))).toMatch(
      /CERT|SIGNATURE|ISSUER/i,
    )
    expect(seen).toEqual(['hi'])
  })
})
