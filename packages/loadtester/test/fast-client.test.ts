import http from 'node:http'
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import { type Counters, LoadEngine, type LoadEngineOptions, type Scenario } from '../src/index.js'
import { refusedPort, startTarget } from './target.js'

const GET: Scenario = { kind: 'requests', requests: [{ url: '/' }] }

function engine(options: LoadEngineOptions): LoadEngine {
  const e = new LoadEngine(options)
  onTestFinished(() => {
    e.destroy()
  })
  return e
}

/** Runs the same closed-model scenario through both clients, one after the other. */
async function both(
  options: LoadEngineOptions,
): Promise<{ fast: Counters; undici: Counters; fastClient: string; undiciClient: string }> {
  const f = engine({ ...options, client: 'fast' })
  const u = engine({ ...options, client: 'undici' })
  const fast = (await f.run()).totals.counters
  const undici = (await u.run()).totals.counters
  return { fast, undici, fastClient: f.client, undiciClient: u.client }
}

/** A node:http server counting its TCP connections. */
async function countingServer(
  handler: http.RequestListener,
): Promise<{ url: string; connections: () => number; requests: () => number }> {
  let connections = 0
  let requests = 0
  const server = http.createServer((req, res) => {
    requests++
    handler(req, res)
  })
  server.keepAliveTimeout = 30_000
  server.on('connection', () => connections++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    connections: () => connections,
    requests: () => requests,
  }
}

describe('fast client: selection', () => {
  it("client: 'auto' picks the fast client for static plain-http requests, undici otherwise", async () => {
    const target = await startTarget()
    expect(engine({ target: target.url, scenario: GET, connections: 1 }).client).toBe('fast')
    expect(engine({ target: 'https://127.0.0.1:1', scenario: GET, connections: 1 }).client).toBe('undici')
    const dynamic: Scenario = { kind: 'module', factory: () => ({ path: '/' }) }
    expect(engine({ target: target.url, scenario: dynamic, connections: 1 }).client).toBe('undici')
    const reserved: Scenario = {
      kind: 'requests',
      requests: [{ url: '/', headers: { 'transfer-encoding': 'chunked' } }],
    }
    expect(engine({ target: target.url, scenario: reserved, connections: 1 }).client).toBe('undici')
    expect(engine({ target: target.url, scenario: GET, connections: 1, client: 'undici' }).client).toBe(
      'undici',
    )
  })

  it("client: 'fast' refuses a scenario it does not cover, with the reason", () => {
    const dynamic: Scenario = { kind: 'module', factory: () => ({ path: '/' }) }
    expect(() => new LoadEngine({ target: 'http://127.0.0.1:1', scenario: dynamic, client: 'fast' })).toThrow(
      /client is 'fast'.*scenario function/,
    )
    expect(() => new LoadEngine({ target: 'https://127.0.0.1:1', scenario: GET, client: 'fast' })).toThrow(
      /https: targets need TLS/,
    )
    expect(() => new LoadEngine({ target: 'http://x', scenario: GET, client: 'quick' as never })).toThrow(
      "options.client must be 'auto', 'undici' or 'fast'",
    )
  })
})

describe('fast client against node:http servers', () => {
  it('counts the same as undici for a mixed scenario: statuses, body bytes, chunked and sized bodies', async () => {
    const target = await startTarget((n, req, res) => {
      const status = n % 7 === 0 ? 500 : n % 5 === 0 ? 404 : 200
      res.statusCode = status
      if (req.url === '/chunked') {
        // No content-length: node:http sends the body chunked.
        res.write('a'.repeat(1000))
        setImmediate(() => {
          res.write('b'.repeat(3000))
          res.end('c')
        })
      } else if (req.method === 'HEAD') res.setHeader('content-length', '50').end()
      else res.end('x'.repeat(n % 300))
    })
    const scenario: Scenario = {
      kind: 'requests',
      requests: [
        { url: '/sized', name: 'sized' },
        { url: '/chunked', name: 'chunked' },
        { url: '/post', method: 'POST', body: { hello: 'world' }, name: 'post' },
        { url: '/head', method: 'HEAD', name: 'head' },
      ],
    }
    const r = await both({ target: target.url, scenario, connections: 4, maxRequests: 400, seed: 7 })
    expect(r.fastClient).toBe('fast')
    expect(r.undiciClient).toBe('undici')
    // The same seed picks the same requests; each server numbers its requests in arrival order, so statuses
    // and body sizes can differ by ordering: compare the totals that do not depend on it.
    expect(r.fast.sent).toBe(400)
    expect(r.fast.responses).toBe(400)
    expect(r.fast.responses).toBe(r.undici.responses)
    expect(r.fast.errors).toEqual(r.undici.errors)
    expect(r.fast.errors).toEqual({ refused: 0, reset: 0, timeout: 0, tls: 0, other: 0 })
    const sum = (c: Counters) => Object.values(c.statuses).reduce((a, b) => a + b, 0)
    expect(sum(r.fast)).toBe(400)
    expect(Object.keys(r.fast.statuses).sort()).toEqual(['200', '404', '500'])
  })

  it('counts exactly the same as undici when the answers do not depend on arrival order', async () => {
    const target = await startTarget((_n, req, res) => {
      if (req.url === '/missing') res.writeHead(404).end('nope')
      else if (req.url === '/chunked') {
        res.write('x'.repeat(2000))
        res.end('y'.repeat(10))
      } else res.end('ok')
    })
    const scenario: Scenario = {
      kind: 'requests',
      requests: [
        { url: '/', weight: 5 },
        { url: '/missing', weight: 2 },
        { url: '/chunked', weight: 1 },
      ],
    }
    const r = await both({ target: target.url, scenario, connections: 3, maxRequests: 300, seed: 42 })
    expect(r.fast).toEqual(r.undici)
    expect(r.fast.responses).toBe(300)
  })

  it('keeps connections alive: `connections` TCP connections for all the requests', async () => {
    const server = await countingServer((_req, res) => res.end('ok'))
    const e = engine({ target: server.url, scenario: GET, connections: 3, maxRequests: 300, client: 'fast' })
    const r = await e.run()
    expect(r.totals.counters.statuses['200']).toBe(300)
    expect(server.connections()).toBe(3)
  })

  it('pipelines: several requests in flight on one connection, answered in order', async () => {
    // A raw server that answers each request 5 ms after it arrived, whatever is outstanding: it sees how many
    // requests the client has written ahead of its answers.
    let outstanding = 0
    let peak = 0
    let connections = 0
    const server = net.createServer((socket) => {
      connections++
      let tail = ''
      socket.on('data', (d: Buffer) => {
        const text = tail + d.toString('latin1')
        const heads = text.split('\r\n\r\n')
        tail = heads.pop() as string
        for (const _ of heads) {
          outstanding++
          peak = Math.max(peak, outstanding)
          setTimeout(() => {
            outstanding--
            socket.write('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok')
          }, 5)
        }
      })
      socket.on('error', () => {})
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const e = engine({
      target: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      scenario: GET,
      connections: 1,
      pipelining: 4,
      maxRequests: 200,
      client: 'fast',
    })
    const r = await e.run()
    expect(r.totals.counters.statuses['200']).toBe(200)
    expect(connections).toBe(1)
    expect(peak).toBe(4)
  })

  it('a server that closes after each response (connection: close): every request answered on a new connection', async () => {
    const server = await countingServer((_req, res) => {
      res.setHeader('connection', 'close')
      res.end('bye')
    })
    const r = await both({ target: server.url, scenario: GET, connections: 2, maxRequests: 40 })
    expect(r.fast.responses).toBe(40)
    expect(r.fast).toEqual(r.undici)
    expect(server.connections()).toBe(80)
  })

  it('a body delimited by the close (no length, no chunking) is a response', async () => {
    // node:http always frames its bodies: a raw server sends one delimited by the close.
    const server = net.createServer((socket) => {
      socket.once('data', () => socket.end('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil close'))
      socket.on('error', () => {})
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const r = await both({ target: url, scenario: GET, connections: 2, maxRequests: 10 })
    expect(r.fast.responses).toBe(10)
    expect(r.fast.bytes).toBe(10 * 'until close'.length)
    expect(r.fast).toEqual(r.undici)
  })

  it('resets mid-request count as reset, like undici', async () => {
    const target = await startTarget((n, req, res) => {
      if (n % 2 === 0) req.socket.destroy()
      else res.end('ok')
    })
    const e = engine({ target: target.url, scenario: GET, connections: 1, maxRequests: 20, client: 'fast' })
    const c = (await e.run()).totals.counters
    expect(c.errors.reset).toBeGreaterThanOrEqual(5)
    expect(c.responses + c.errors.reset).toBe(20)
    expect(c.errors.other).toBe(0)
  })

  it('a slow server: answers later than timeoutMs count as timeout, earlier ones as responses', async () => {
    const target = await startTarget((n, _req, res) => {
      setTimeout(() => res.end('slow'), n <= 2 ? 50 : 2000)
    })
    const e = engine({
      target: target.url,
      scenario: GET,
      connections: 2,
      maxRequests: 4,
      timeoutMs: 300,
      client: 'fast',
    })
    const c = (await e.run()).totals.counters
    expect(c.responses).toBe(2)
    expect(c.errors.timeout).toBe(2)
  })

  it('a refused port counts refused errors', async () => {
    const port = await refusedPort()
    const e = engine({
      target: `http://127.0.0.1:${port}`,
      scenario: GET,
      connections: 2,
      maxRequests: 20,
      client: 'fast',
    })
    const c = (await e.run()).totals.counters
    expect(c.errors.refused).toBe(20)
    expect(c.responses).toBe(0)
  })

  it('a server speaking something else than HTTP counts other errors', async () => {
    const server = net.createServer((socket) => {
      socket.once('data', () => socket.write('SSH-2.0-OpenSSH_9.2\r\n'))
      socket.on('error', () => {})
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    const e = engine({ target: url, scenario: GET, connections: 1, maxRequests: 5, client: 'fast' })
    const c = (await e.run()).totals.counters
    expect(c.errors.other).toBe(5)
    expect(c.responses).toBe(0)
  })

  it('the open model through the fast client: every scheduled request sent or shown as not sent, lag recorded', async () => {
    const target = await startTarget()
    const e = engine({ target: target.url, scenario: GET, rate: 500, durationMs: 1000, client: 'fast' })
    const r = await e.run()
    const c = r.totals.counters
    expect(c.sent + c.notSent).toBe(500)
    expect(c.responses).toBe(c.sent)
    expect(target.count()).toBe(c.sent)
    expect(r.totals.lag.totalCount).toBe(c.sent)
  })

  it('sends the request bytes undici would: method, path, host, headers and body reach the server', async () => {
    const seen: { method?: string; url?: string; host?: string; type?: string; x?: string; body: string }[] =
      []
    const target = await startTarget((_n, req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (d: Buffer) => chunks.push(d))
      req.on('end', () => {
        seen.push({
          method: req.method,
          url: req.url,
          host: req.headers.host,
          type: req.headers['content-type'],
          x: req.headers['x-test'] as string,
          body: Buffer.concat(chunks).toString(),
        })
        res.end('ok')
      })
    })
    const scenario: Scenario = {
      kind: 'requests',
      requests: [{ url: '/p?q=1', method: 'put', headers: { 'X-Test': 'yes' }, body: { a: 1 } }],
    }
    const e = engine({ target: target.url, scenario, connections: 1, maxRequests: 2, client: 'fast' })
    await e.run()
    expect(seen).toHaveLength(2)
    expect(seen[0]).toEqual({
      method: 'PUT',
      url: '/p?q=1',
      host: new URL(target.url).host,
      type: 'application/json',
      x: 'yes',
      body: '{"a":1}',
    })
  })
})
