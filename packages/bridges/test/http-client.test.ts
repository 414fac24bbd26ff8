import net, { type AddressInfo } from 'node:net'
import { Node } from '@dripdrop/core'
import { describe, expect, it, onTestFinished } from 'vitest'
import {
  HttpDisconnectedError,
  type HttpHead,
  HttpStatusError,
  httpReply,
  httpTransport,
} from '../src/index.js'

const ROUTES = {
  'POST /jobs': 'job.create',
  'GET /jobs/:id': 'job.get',
  'GET /slow': 'slow',
  'POST /boom': 'boom',
}

async function pair(clientOptions: Record<string, unknown> = {}) {
  const node = new Node({ name: 'svc', transports: [httpTransport()] })
  onTestFinished(() => {
    node.destroy()
  })
  const api = node.route('api', { type: 'http-server', bind: 'http://127.0.0.1:0', routes: ROUTES })
  await node.start()
  const client = new Node({ name: 'client', transports: [httpTransport()] })
  onTestFinished(() => {
    client.destroy()
  })
  const http = client.route('http', {
    type: 'http-client',
    connect: api.endpoints[0],
    routes: ROUTES,
    ...clientOptions,
  })
  await client.start()
  return { api, http, client }
}

describe('http-client route', () => {
  it('maps names to methods and paths, params and query from head, and returns the reply envelope', async () => {
    const { api, http } = await pair()
    const jobs = new Map<string, unknown>()
    api.on('job.create', ({ body }) => {
      jobs.set('j1', body)
      return httpReply(201, { id: 'j1' }, { location: '/jobs/j1', 'set-cookie': ['a=1', 'b=2'] })
    })
    api.on('job.get', ({ head }) => {
      const { params, query } = head as HttpHead
      return { id: params.id, job: jobs.get(params.id), verbose: query.verbose }
    })
    const created = await http.request('job.create', { input: 3 })
    // The reply's head carries the response status and headers (lower-case names; set-cookie stays a list).
    expect(created).toMatchObject({
      name: 'job.create',
      head: {
        status: 201,
        headers: { location: '/jobs/j1', 'content-type': 'application/json', 'set-cookie': ['a=1', 'b=2'] },
      },
      body: { id: 'j1' },
    })
    const got = await http.request('job.get', undefined, {
      head: { params: { id: 'j1' }, query: { verbose: 'yes' } },
    })
    expect(got.body).toEqual({ id: 'j1', job: { input: 3 }, verbose: 'yes' })
  })

  it('speaks msgpack when asked, binary bodies included', async () => {
    const { api, http } = await pair({ contentType: 'msgpack' })
    api.on('job.create', ({ body }) => ({ echoed: body }))
    const reply = await http.request('job.create', { bin: new Uint8Array([9, 8]) })
    expect(reply.body).toEqual({ echoed: { bin: new Uint8Array([9, 8]) } })
  })

  it('turns error statuses back into coded errors', async () => {
    const { api, http } = await pair()
    api.on('job.get', ({ head }) => {
      throw new HttpStatusError(404, 'DD_ERR_JOB_NOT_FOUND', `no job ${(head as HttpHead).params.id}`)
    })
    api.on('boom', () => {
      throw Object.assign(new Error('kaput'), { code: 'E_KAPUT' })
    })
    await expect(http.request('job.get', undefined, { head: { params: { id: 'x' } } })).rejects.toMatchObject(
      {
        code: 'DD_ERR_JOB_NOT_FOUND',
        message: 'no job x',
        data: { status: 404 },
      },
    )
    await expect(http.request('boom', {})).rejects.toMatchObject({ code: 'E_KAPUT', data: { status: 500 } })
    // A name outside the table goes to POST /<name>, which the server does not know.
    await expect(http.request('unknown', {})).rejects.toMatchObject({
      code: 'DD_ERR_HTTP_NOT_FOUND',
      data: { status: 404 },
    })
    // A missing path parameter fails before anything is sent.
    await expect(http.request('job.get')).rejects.toThrow('needs head.params.id')
  })

  it('send() is fire and forget; its failures are route errors', async () => {
    const { api, http, client } = await pair()
    const got: unknown[] = []
    api.on('job.create', ({ body }) => {
      got.push(body)
      return { ok: true }
    })
    const errors: string[] = []
    client.events.on('route:error', ({ error }) => errors.push(error.code))
    await http.send('job.create', { n: 1 })
    await expect.poll(() => got).toEqual([{ n: 1 }])
    await http.send('nowhere', {})
    await expect.poll(() => errors).toEqual(['DD_ERR_HTTP_NOT_FOUND'])
  })

  it('times out with DD_ERR_TIMEOUT and counts it', async () => {
    const { api, http } = await pair()
    api.on('slow', () => new Promise((r) => setTimeout(r, 300)))
    await expect(http.request('slow', undefined, { timeoutMs: 30 })).rejects.toMatchObject({
      code: 'DD_ERR_TIMEOUT',
    })
    expect(http.stats.timeouts).toBe(1)
  })

  it('holds requests past the connection limit (backpressure) and refuses past highWaterMark', async () => {
    const { api, http } = await pair({ connections: 2, highWaterMark: 3 })
    const releases: (() => void)[] = []
    let seen = 0
    api.on('slow', () => {
      seen++
      return new Promise<string>((r) => releases.push(() => r('ok')))
    })
    const first = Array.from({ length: 5 }, () => http.request('slow'))
    await expect(http.request('slow')).rejects.toMatchObject({ code: 'DD_ERR_QUEUE_FULL' })
    // Only as many requests as connections reach the server, however long the others wait.
    await expect.poll(() => seen).toBe(2)
    await new Promise((r) => setTimeout(r, 50))
    expect(seen).toBe(2)
    expect(http.stats.messagesOut).toBe(6)
    while (seen < 5 || releases.length > 0) {
      releases.shift()?.()
      await new Promise((r) => setTimeout(r, 5))
    }
    expect((await Promise.all(first)).map((r) => r.body)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok'])
  })

  it('rejects with DD_ERR_TRANSPORT when nothing listens, and with DD_ERR_ABORTED on abort', async () => {
    const { api, http } = await pair()
    api.on('slow', () => new Promise((r) => setTimeout(r, 200)))
    const ac = new AbortController()
    const p = http.request('slow', undefined, { signal: ac.signal })
    ac.abort()
    await expect(p).rejects.toMatchObject({ code: 'DD_ERR_ABORTED' })
    const client = new Node({ transports: [httpTransport()] })
    onTestFinished(() => {
      client.destroy()
    })
    const dead = client.route('dead', { type: 'http-client', connect: 'http://127.0.0.1:1' })
    await client.start()
    await expect(dead.request('x', {})).rejects.toMatchObject({ code: 'DD_ERR_TRANSPORT' })
  })

  it('a server that resets the connection mid-request: DD_ERR_HTTP_DISCONNECTED, counted in stats.aborted, not errors', async () => {
    // A raw TCP server: half a reply, then a reset (RST) — or a plain close — in the middle of the body.
    let mode: 'reset' | 'close' = 'reset'
    const server = net.createServer((socket) => {
      socket.once('data', () => {
        socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"par')
        setTimeout(() => (mode === 'reset' ? socket.resetAndDestroy() : socket.destroy()), 20)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const client = new Node({ name: 'client', transports: [httpTransport()] })
    onTestFinished(() => {
      client.destroy()
    })
    const http = client.route('http', {
      type: 'http-client',
      connect: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    })
    await client.start()
    const reset = await http.request('x', {}).catch((e: unknown) => e)
    expect(reset).toBeInstanceOf(HttpDisconnectedError)
    expect(reset).toMatchObject({ code: 'DD_ERR_HTTP_DISCONNECTED' })
    expect(http.stats.aborted).toBe(1)
    mode = 'close'
    const closed = await http.request('x', {}).catch((e: unknown) => e)
    expect(closed).toMatchObject({ code: 'DD_ERR_HTTP_DISCONNECTED' })
    expect(http.stats.aborted).toBe(2)
    expect(http.stats.errors).toBe(0)
  })
})
