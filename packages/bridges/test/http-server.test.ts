import { Agent, request as rawRequest } from 'node:http'
import { connect } from 'node:net'
import { MsgpackCodec } from '@dripdrop/codec'
import { Node } from '@dripdrop/core'
import { describe, expect, it, onTestFinished } from 'vitest'
import { type HttpHead, HttpStatusError, httpTransport } from '../src/index.js'
import { httpServer } from './support/http-server.js'

const json = (res: Response): Promise<any> => res.json()

const server = async (options: Record<string, unknown> = {}) =>
  httpServer(
    { 'POST /echo': 'echo', 'GET /jobs/:id': 'job.get', 'POST /jobs': 'job.create', 'GET /slow': 'slow' },
    { headers: ['x-trace'], ...options },
  )

describe('http-server route', () => {
  it('turns a request into an envelope and the reply into a JSON response', async () => {
    const { api, start } = await server()
    api.on('echo', ({ body, head }) => ({ body, trace: head.headers, query: head.query }))
    api.on('job.get', ({ head }) => ({ id: (head as HttpHead).params.id }))
    const base = await start()
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const res = await fetch(`${base}/echo?a=1&a=2&b=x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-trace': 't-1', 'x-other': 'no' },
      body: JSON.stringify({ hello: 'world' }),
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/json')
    expect(await json(res)).toEqual({
      body: { hello: 'world' },
      trace: { 'x-trace': 't-1' },
      query: { a: ['1', '2'], b: 'x' },
    })
    const job = await fetch(`${base}/jobs/a%20b`)
    expect(await json(job)).toEqual({ id: 'a b' })
  })

  it('reads and answers msgpack by content type and accept', async () => {
    const { api, start } = await server()
    api.on('echo', ({ body }) => ({ got: body }))
    const base = await start()
    const codec = new MsgpackCodec()
    const res = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/msgpack', accept: 'application/msgpack' },
      body: codec.encodeValue({ n: 1, bin: new Uint8Array([1, 2]) }),
    })
    expect(res.headers.get('content-type')).toBe('application/msgpack')
    expect(codec.decodeValue(new Uint8Array(await res.arrayBuffer()))).toEqual({
      got: { n: 1, bin: new Uint8Array([1, 2]) },
    })
  })

  it('answers 404, 405, 400, 413, 415 with coded JSON errors, and keeps serving', async () => {
    const { api, start, node } = await server({ maxMessageBytes: 64 })
    api.on('echo', ({ body }) => body)
    const errors: string[] = []
    node.events.on('route:error', ({ error }) => errors.push(error.code))
    const base = await start()
    const cases: [string, RequestInit, number, string][] = [
      ['/nope', {}, 404, 'DD_ERR_HTTP_NOT_FOUND'],
      ['/echo', { method: 'GET' }, 405, 'DD_ERR_HTTP_METHOD_NOT_ALLOWED'],
      [
        '/echo',
        { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' },
        400,
        'DD_ERR_HTTP_BAD_REQUEST',
      ],
      [
        '/echo',
        {
          method: 'POST',
          headers: { 'content-type': 'application/msgpack', accept: 'application/json' },
          body: new Uint8Array([0xc1]),
        },
        400,
        'DD_ERR_HTTP_BAD_REQUEST',
      ],
      [
        '/echo',
        { method: 'POST', body: JSON.stringify({ big: 'x'.repeat(100) }) },
        413,
        'DD_ERR_HTTP_BODY_TOO_LARGE',
      ],
      [
        '/echo',
        { method: 'POST', headers: { 'content-type': 'image/png' }, body: 'x' },
        415,
        'DD_ERR_HTTP_UNSUPPORTED_MEDIA_TYPE',
      ],
    ]
    for (const [path, init, status, code] of cases) {
      const res = await fetch(base + path, init)
      expect(res.status, path).toBe(status)
      expect((await json(res)).error).toMatchObject({ code })
    }
    const ok = await fetch(`${base}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '[1,2]',
    })
    expect(await json(ok)).toEqual([1, 2])
    // text/* bodies arrive as strings.
    const text = await fetch(`${base}/echo`, { method: 'POST', body: 'plain' })
    expect(await json(text)).toBe('plain')
    expect(api.stats.decodeErrors).toBe(2)
  })

  it('decodes JSON bodies with the codec rules on the fast path and off it', async () => {
    const { api, start } = await server()
    api.on('echo', ({ body }) => ({ body, bytes: body?.b instanceof Uint8Array ? [...body.b] : null }))
    const base = await start()
    const post = (body: string | Uint8Array, type = 'application/json') =>
      fetch(`${base}/echo`, { method: 'POST', headers: { 'content-type': type }, body })
    // Plain ASCII JSON, with and without a content type.
    expect(await json(await post('{"a":[1,"x"]}'))).toEqual({ body: { a: [1, 'x'] }, bytes: null })
    expect(await json(await post('{"a":1}', ''))).toEqual({ body: { a: 1 }, bytes: null })
    // `$bin` tags (also spelled with a \u escape) still become bytes.
    expect(await json(await post('{"b":{"$bin":"AQI="}}'))).toMatchObject({ bytes: [1, 2] })
    expect(await json(await post('{"b":{"\\u0024bin":"AQI="}}'))).toMatchObject({ bytes: [1, 2] })
    // UTF-8 text decodes; invalid UTF-8 and __proto__ keys are refused as the codec refuses them.
    expect(await json(await post('"héllo ✓"'))).toEqual({ body: 'héllo ✓', bytes: null })
    const bad = await post(new Uint8Array([0x22, 0xff, 0x22]))
    expect(bad.status).toBe(400)
    const proto = await post('{"__proto__":{"x":1}}')
    expect(proto.status).toBe(400)
    expect((await json(proto)).error.message).toMatch(/DD_ERR_DECODE_SHAPE/)
    const broken = await post('{"a":')
    expect((await json(broken)).error.message).toMatch(/DD_ERR_DECODE_TRUNCATED/)
  })

  it('refuses a chunked body past maxMessageBytes with 413 without reading it all', async () => {
    const { api, start } = await server({ maxMessageBytes: 1000 })
    api.on('echo', ({ body }) => body)
    const base = await start()
    const { port } = new URL(base)
    const status = await new Promise<number>((resolve, reject) => {
      const req = rawRequest(
        {
          port,
          host: '127.0.0.1',
          method: 'POST',
          path: '/echo',
          headers: { 'content-type': 'application/json' },
        },
        (res) => {
          res.resume()
          resolve(res.statusCode!)
        },
      )
      req.on('error', reject)
      req.write(`"${'x'.repeat(5000)}`)
    })
    expect(status).toBe(413)
  })

  it('maps thrown coded errors to statuses and hides stacks', async () => {
    const { api, start } = await server()
    api.on('job.get', ({ head }) => {
      throw new HttpStatusError(404, 'DD_ERR_JOB_NOT_FOUND', `no job ${(head as HttpHead).params.id}`)
    })
    api.on('echo', async () => {
      throw Object.assign(new Error('kaput'), { code: 'E_KAPUT' })
    })
    const base = await start()
    const res = await fetch(`${base}/jobs/9`)
    expect(res.status).toBe(404)
    expect((await json(res)).error).toEqual({
      name: 'HttpStatusError',
      code: 'DD_ERR_JOB_NOT_FOUND',
      message: 'no job 9',
      data: { status: 404 },
    })
    const boom = await fetch(`${base}/echo`, { method: 'POST', body: '1' })
    expect(boom.status).toBe(500)
    const body = await json(boom)
    expect(body.error).toMatchObject({ code: 'E_KAPUT', message: 'kaput' })
    expect(body.error.stack).toBeUndefined()
    // A route-table name without a handler.
    const none = await fetch(`${base}/jobs`, { method: 'POST', body: '{}' })
    expect(none.status).toBe(501)
    expect((await json(none)).error.code).toBe('DD_ERR_NO_HANDLER')
  })

  it('answers 504 when the handler is too slow, and the late reply is dropped', async () => {
    const { api, start } = await server({ handlerTimeoutMs: 50 })
    let release!: () => void
    api.on('slow', () => new Promise<string>((r) => (release = () => r('late'))))
    const base = await start()
    const res = await fetch(`${base}/slow`)
    expect(res.status).toBe(504)
    expect((await json(res)).error.code).toBe('DD_ERR_HTTP_TIMEOUT')
    release()
    await expect.poll(() => api.stats.dropped).toBe(1)
    expect(api.stats.timeouts).toBe(1)
  })

  it('answers 204 for an undefined reply and serves unmatched paths through fallback', async () => {
    const { api, start } = await server({
      fallback: (_req: unknown, res: { end: (s: string) => void }) => res.end('<h1>page</h1>'),
    })
    api.on('echo', () => undefined)
    const base = await start()
    expect((await fetch(`${base}/echo`, { method: 'POST' })).status).toBe(204)
    expect(await (await fetch(`${base}/index.html`)).text()).toBe('<h1>page</h1>')
  })

  it('closes gracefully: in-flight requests finish, new connections are refused', async () => {
    const { api, start, node } = await server()
    let started!: () => void
    const inHandler = new Promise<void>((r) => (started = r))
    api.on('slow', async () => {
      started()
      await new Promise((r) => setTimeout(r, 100))
      return 'done'
    })
    const base = await start()
    const inflight = fetch(`${base}/slow`)
    await inHandler
    const closing = node.close()
    const res = await inflight
    expect(res.status).toBe(200)
    expect(await json(res)).toBe('done')
    await closing
    await expect(fetch(`${base}/slow`)).rejects.toThrow()
  })

  it('keeps connections alive between requests', async () => {
    const { api, start } = await server()
    api.on('echo', ({ body }) => body)
    const { port } = new URL(await start())
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    onTestFinished(() => agent.destroy())
    const once = () =>
      new Promise<boolean>((resolve, reject) => {
        const req = rawRequest({ port, host: '127.0.0.1', method: 'POST', path: '/echo', agent }, (res) => {
          res.resume()
          res.on('end', () => resolve(req.reusedSocket))
        })
        req.on('error', reject)
        req.setHeader('content-type', 'application/json')
        req.end('1')
      })
    expect([await once(), await once(), await once()]).toEqual([false, true, true])
  })

  it('queues requests while handlers are saturated, answers 503 past highWaterMark and 504 to the stuck', async () => {
    const { api, start } = await server({ concurrency: 1, highWaterMark: 1, handlerTimeoutMs: 200 })
    let calls = 0
    api.on('slow', () => {
      calls++
      return new Promise(() => {}) // never answers
    })
    const base = await start()
    const first = fetch(`${base}/slow`)
    await expect.poll(() => calls).toBe(1)
    // Of the next two, one waits for a handler slot (then times out), the other finds the queue full.
    const [second, third] = await Promise.all([fetch(`${base}/slow`), fetch(`${base}/slow`)])
    const [waited, refused] = second.status === 503 ? [third, second] : [second, third]
    expect(refused.status).toBe(503)
    expect((await json(refused)).error.code).toBe('DD_ERR_HTTP_OVERLOADED')
    expect(waited.status).toBe(504)
    expect((await first).status).toBe(504)
    expect(calls).toBe(1)
  })

  it('bounds the bytes of bodies waiting for a handler slot (maxQueueBytes): past it 503', async () => {
    const { api, start } = await server({ concurrency: 1, maxQueueBytes: 1000, handlerTimeoutMs: 60_000 })
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const got: number[] = []
    api.on('echo', async ({ body }) => {
      got.push(body.n)
      await gate
      return body.n
    })
    const base = await start()
    const post = (n: number) =>
      fetch(`${base}/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ n, pad: 'x'.repeat(600) }),
      })
    const first = post(1)
    await expect.poll(() => got).toEqual([1]) // holds the only slot
    // Of two more (~620 bytes each), one waits and the other would bring the bytes waiting past 1000: it is
    // refused at once, though highWaterMark (1000 requests) is far. The waiting one cannot answer before
    // release(), so the first to settle is the refused one.
    const more = [post(2), post(3)]
    const refused = await Promise.race(more)
    expect(refused.status).toBe(503)
    expect((await json(refused)).error.code).toBe('DD_ERR_HTTP_OVERLOADED')
    release()
    expect(await json(await first)).toBe(1)
    const statuses = (await Promise.all(more)).map((r) => r.status).sort()
    expect(statuses).toEqual([200, 503])
    expect(got).toHaveLength(2)
  })

  it('turns a throwing fallback into a 500 and a route error', async () => {
    const { start, node } = await server({
      fallback: () => {
        throw new Error('oops')
      },
    })
    const errors: string[] = []
    node.events.on('route:error', ({ error }) => errors.push(error.message))
    const base = await start()
    expect((await fetch(`${base}/anything`)).status).toBe(500)
    expect(errors).toEqual(['fallback threw: oops'])
  })

  it('answers a malformed request with 400 and keeps serving (never a crash)', async () => {
    const { api, start, node } = await server()
    api.on('echo', ({ body }) => body)
    const errors: string[] = []
    node.events.on('route:error', ({ error }) => errors.push(error.code))
    const { port } = new URL(await start())
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write('NOT HTTP AT ALL\r\n\r\n'))
      let out = ''
      socket.on('data', (d) => {
        out += d
      })
      socket.on('close', () => resolve(out))
      socket.on('error', reject)
    })
    expect(reply).toMatch(/^HTTP\/1\.1 400 /)
    expect(errors).toEqual(['DD_ERR_TRANSPORT'])
    const ok = await fetch(`${new URL(api.endpoints[0]).origin}/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '"still here"',
    })
    expect(await json(ok)).toBe('still here')
  })

  it('refuses __proto__, constructor and prototype as query keys with 400, never as own keys of head.query', async () => {
    const { api, start } = await server()
    const seen: unknown[] = []
    api.on('echo', ({ head }) => {
      seen.push(head.query)
      return Object.keys(head.query as object)
    })
    const base = await start()
    for (const key of ['__proto__', 'constructor', 'prototype', '%5F%5Fproto%5F%5F']) {
      const res = await fetch(`${base}/echo?a=1&${key}=x`, { method: 'POST' })
      expect(res.status, key).toBe(400)
      expect((await json(res)).error).toMatchObject({ code: 'DD_ERR_HTTP_BAD_REQUEST' })
    }
    expect(seen).toEqual([])
    const ok = await fetch(`${base}/echo?a=1&proto=x`, { method: 'POST' })
    expect(await json(ok)).toEqual(['a', 'proto'])
  })

  it('refuses a second bind of the same port with DD_ERR_ADDRESS_IN_USE', async () => {
    const { start } = await server()
    const base = await start()
    const other = new Node({ transports: [httpTransport()] })
    onTestFinished(() => {
      other.destroy()
    })
    other.route('api', { type: 'http-server', bind: base, routes: {} })
    await expect(other.start()).rejects.toMatchObject({ code: 'DD_ERR_ADDRESS_IN_USE' })
  })

  it('validates options with their path', () => {
    const node = new Node({ transports: [httpTransport()] })
    expect(() =>
      node.route('a', { type: 'http-server', bind: 'http://127.0.0.1:0', routes: { 'FETCH /x': 'x' } }),
    ).toThrow(/route "a": options.routes\["FETCH \/x"\]/)
    expect(() =>
      node.route('b', { type: 'http-server', bind: 'http://127.0.0.1:0', routes: {}, maxMessageBytes: -1 }),
    ).toThrow('route "b": options.maxMessageBytes must be a positive integer')
  })
})
