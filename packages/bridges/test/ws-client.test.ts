import type { Envelope } from '@dripdrop/codec'
import { Node } from '@dripdrop/core'
import { describe, expect, it, onTestFinished } from 'vitest'
import { wsClient, wsConnections, wsTransport } from '../src/index.js'

async function serverNode(bind = 'ws://127.0.0.1:0', options: Record<string, unknown> = {}) {
  const node = new Node({ name: 'server', transports: [wsTransport()] })
  onTestFinished(() => {
    node.destroy()
  })
  const route = node.route('browsers', { type: 'ws-server', bind, ...options })
  await node.start()
  return { node, route, url: route.endpoints[0] }
}

async function clientNode(url: string, options: Record<string, unknown> = {}) {
  const node = new Node({ name: 'client', transports: [wsTransport()] })
  onTestFinished(() => {
    node.destroy()
  })
  const route = node.route('server', { type: 'ws-client', connect: url, reconnectMinMs: 20, ...options })
  const connects: string[] = []
  node.events.on('route:connect', ({ endpoint }) => connects.push(endpoint))
  const errors: string[] = []
  node.events.on('route:error', ({ error }) => errors.push(error.code))
  await node.start()
  return { node, route, connects, errors }
}

describe('ws-client route', () => {
  for (const format of ['json', 'msgpack'] as const) {
    it(`sends, requests and receives over ${format} frames`, async () => {
      const server = await serverNode()
      const got: Envelope[] = []
      server.route.on('note', (m) => {
        got.push(m)
      })
      server.route.on('sum', ({ body }) => body.a + body.b)
      server.route.on('fail', () => {
        throw Object.assign(new Error('bad'), { code: 'E_BAD' })
      })
      const client = await clientNode(server.url, { format })
      const pushed: Envelope[] = []
      client.route.on('news', (m) => {
        pushed.push(m)
      })
      await client.route.send('note', { bin: new Uint8Array([1, 2]) })
      const reply = await client.route.request('sum', { a: 2, b: 5 })
      expect(reply.body).toBe(7)
      expect(got[0].body).toEqual({ bin: new Uint8Array([1, 2]) })
      await expect(client.route.request('fail')).rejects.toMatchObject({ code: 'E_BAD', message: 'bad' })
      await server.route.send('news', 'extra')
      await expect.poll(() => pushed.length).toBe(1)
      expect(pushed[0]).toMatchObject({ name: 'news', body: 'extra' })
    })
  }

  it('times out requests with DD_ERR_TIMEOUT', async () => {
    const server = await serverNode()
    server.route.on('slow', () => new Promise((r) => setTimeout(r, 300)))
    const client = await clientNode(server.url)
    await expect(client.route.request('slow', null, { timeoutMs: 30 })).rejects.toMatchObject({
      code: 'DD_ERR_TIMEOUT',
    })
  })

  it('reconnects with backoff, sends what was queued once, and fails requests cut off by the drop', async () => {
    const first = await serverNode()
    const port = new URL(first.url).port
    const client = await clientNode(first.url)
    const seen: unknown[] = []
    first.route.on('n', ({ body }) => {
      seen.push(body)
    })
    first.route.on('hang', () => new Promise(() => {}))
    await client.route.send('n', 1)
    await expect.poll(() => seen.length).toBe(1)
    const hanging = client.route.request('hang', null, { timeoutMs: 5000 })
    await expect.poll(() => first.route.inflight).toBe(1)
    // The server goes away; the request in flight fails, it is not re-sent later.
    first.node.destroy()
    await expect(hanging).rejects.toMatchObject({ code: 'DD_ERR_WS_DISCONNECTED' })
    await client.route.send('n', 2) // queued while down
    await client.route.send('n', 3)
    const second = await serverNode(`ws://127.0.0.1:${port}`)
    const seen2: unknown[] = []
    second.route.on('n', ({ body }) => {
      seen2.push(body)
    })
    let hangs = 0
    second.route.on('hang', () => {
      hangs++
    })
    await expect.poll(() => seen2, { timeout: 5000 }).toEqual([2, 3])
    expect(seen).toEqual([1])
    expect(hangs).toBe(0)
    expect(client.connects.length).toBe(2)
    expect(wsClient(client.route).reconnects).toBe(1)
    await expect.poll(() => wsClient(client.route).id).toBe(wsConnections(second.route).ids()[0])
  })

  it('queues sends while disconnected and makes senders wait past highWaterMark', async () => {
    const probe = await serverNode()
    const port = new URL(probe.url).port
    probe.node.destroy()
    const client = await clientNode(`ws://127.0.0.1:${port}`, { highWaterMark: 2 })
    await client.route.send('n', 1)
    await client.route.send('n', 2)
    let third = false
    const waiting = client.route.send('n', 3).then(() => {
      third = true
    })
    await new Promise((r) => setTimeout(r, 50))
    expect(third).toBe(false)
    const server = await serverNode(`ws://127.0.0.1:${port}`)
    const seen: unknown[] = []
    server.route.on('n', ({ body }) => {
      seen.push(body)
    })
    await waiting
    await expect.poll(() => seen, { timeout: 5000 }).toEqual([1, 2, 3])
  })

  it('stops reconnecting when the server refuses the upgrade (DD_ERR_WS_UNAUTHORIZED)', async () => {
    const server = await serverNode('ws://127.0.0.1:0', { authorize: () => false })
    const client = await clientNode(server.url, { token: 'nope' })
    await expect.poll(() => client.errors).toContain('DD_ERR_WS_UNAUTHORIZED')
    // Closed for good: no reconnect is scheduled from 'closed', so no second refusal can come.
    await expect.poll(() => wsClient(client.route).state, { timeout: 10_000 }).toBe('closed')
    expect(client.errors.filter((c) => c === 'DD_ERR_WS_UNAUTHORIZED')).toHaveLength(1)
    expect(wsConnections(server.route).size).toBe(0)
  })

  it('rejects requests sent while connecting with DD_ERR_WS_UNAUTHORIZED when the token is refused, not by timeout', async () => {
    const server = await serverNode('ws://127.0.0.1:0', { authorize: () => false })
    const client = await clientNode(server.url, { token: 'nope' })
    // A timeout far past the test's own: only the refusal can settle it in time.
    await expect(client.route.request('x', null, { timeoutMs: 60_000 })).rejects.toMatchObject({
      code: 'DD_ERR_WS_UNAUTHORIZED',
      status: 401,
    })
    await expect(client.route.send('y', null)).rejects.toMatchObject({ code: 'DD_ERR_WS_UNAUTHORIZED' })
    // The request's frame, admitted while connecting, never reached the server: counted, not lost silently.
    expect(client.route.stats.dropped).toBe(1)
  })

  it('rejects what destroy() drops with DD_ERR_DESTROYED and counts it', async () => {
    const probe = await serverNode()
    const port = new URL(probe.url).port
    probe.node.destroy() // nothing listens: everything stays queued
    const client = await clientNode(`ws://127.0.0.1:${port}`, { highWaterMark: 1 })
    const socket = wsClient(client.route)
    expect(socket.send({ name: 'a', head: {}, body: 1 })).toBeUndefined() // admitted to the queue
    const waiting = socket.send({ name: 'b', head: {}, body: 2 }) // past highWaterMark: waits for room
    expect(waiting).toBeInstanceOf(Promise)
    const request = client.route.request('c', null, { timeoutMs: 60_000 })
    const outcome = Promise.allSettled([waiting, request])
    expect(client.node.destroy()).toBe(4) // a, b, c's frame and c's pending reply
    const [w, r] = await outcome
    expect(w).toMatchObject({ status: 'rejected', reason: { code: 'DD_ERR_DESTROYED' } })
    expect(r).toMatchObject({ status: 'rejected', reason: { code: 'DD_ERR_DESTROYED' } })
  })

  it('rejects what close() cannot send with DD_ERR_CLOSED, and a second close() returns the same promise', async () => {
    const probe = await serverNode()
    const port = new URL(probe.url).port
    probe.node.destroy()
    const client = await clientNode(`ws://127.0.0.1:${port}`, { highWaterMark: 1 })
    const socket = wsClient(client.route)
    socket.send({ name: 'a', head: {}, body: 1 })
    const waiting = socket.send({ name: 'b', head: {}, body: 2 }) as Promise<void>
    const outcome = waiting.then(
      () => 'resolved',
      (err) => err.code,
    )
    const first = socket.close(50)
    expect(socket.close(50)).toBe(first)
    await first
    expect(await outcome).toBe('DD_ERR_CLOSED')
    expect(client.route.stats.dropped).toBe(2)
  })

  it('waits for room when the server stops reading: bufferedAmount and the queue stay within maxQueueBytes', async () => {
    const server = await serverNode('ws://127.0.0.1:0', { concurrency: 1, maxMessageBytes: 1024 * 1024 })
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const got: number[] = []
    server.route.on('n', async ({ body }) => {
      got.push(body.i)
      await gate // the first message holds the only slot: the server stops reading (TCP pushes back)
    })
    const maxQueueBytes = 256 * 1024
    const client = await clientNode(server.url, { maxQueueBytes, highWaterMark: 10_000 })
    await expect.poll(() => wsClient(client.route).state, { timeout: 10_000 }).toBe('open')
    const socket = wsClient(client.route)
    const pad = 'x'.repeat(64 * 1024)
    let waiting: Promise<void> | undefined
    let sent = 0
    // Bounded: 1,000 frames of 64 KiB (64 MiB) is far past what loopback socket buffers hold.
    while (waiting === undefined && sent < 1000) {
      waiting = socket.send({ name: 'n', head: {}, body: { i: sent, pad } }) ?? undefined
      sent++
      expect(socket.bufferedBytes).toBeLessThanOrEqual(maxQueueBytes + 1024) // the bound, never two of it
    }
    expect(waiting).toBeInstanceOf(Promise)
    release()
    await waiting
    await expect.poll(() => got.length, { timeout: 10_000 }).toBe(sent)
    expect(got).toEqual([...Array(sent).keys()])
  }, 20_000)

  it('counts a server that drops the connection without a close frame in stats.aborted, not stats.errors', async () => {
    const server = await serverNode()
    const client = await clientNode(server.url, { reconnect: false })
    await expect.poll(() => wsClient(client.route).id, { timeout: 10_000 }).toBeTypeOf('string') // the hello came: open
    server.node.destroy() // terminates every connection: TCP closes, no close frame
    await expect.poll(() => wsClient(client.route).state, { timeout: 10_000 }).toBe('closed')
    expect(client.route.stats.aborted).toBe(1)
    expect(client.errors).toEqual([])
  })
})
