import { type Envelope, JsonCodec, MsgpackCodec } from '@dripdrop/codec'
import { Node } from '@dripdrop/core'
import { describe, expect, it, onTestFinished } from 'vitest'
import { WebSocket } from 'ws'
import { SUBPROTOCOLS, wsConnections, wsTransport } from '../src/index.js'
import { rawClient } from './support/raw.js'

const json = new JsonCodec()
const msgpack = new MsgpackCodec()

async function server(options: Record<string, unknown> = {}) {
  const node = new Node({ name: 'ws', transports: [wsTransport()] })
  onTestFinished(() => {
    node.destroy()
  })
  const route = node.route('browsers', { type: 'ws-server', bind: 'ws://127.0.0.1:0', ...options })
  const start = async () => {
    await node.start()
    return route.endpoints[0]
  }
  return { node, route, start }
}

/** A raw ws peer that records every envelope it gets (a stand-in for a browser, over real sockets). */
async function peer(url: string, options: { protocols?: string[]; headers?: Record<string, string> } = {}) {
  const ws = new WebSocket(url, options.protocols ?? [], { headers: options.headers })
  onTestFinished(() => ws.terminate())
  const got: Envelope[] = []
  const waiters: (() => void)[] = []
  ws.on('message', (data, isBinary) => {
    got.push(isBinary ? msgpack.decode(data as Buffer) : json.decode((data as Buffer).toString()))
    for (const w of waiters.splice(0)) w()
  })
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  const next = async (n = 1): Promise<Envelope[]> => {
    while (got.length < n) await new Promise<void>((r) => waiters.push(r))
    return got.splice(0, n)
  }
  const [hello] = await next()
  return {
    ws,
    id: hello.head.$conn as string,
    hello,
    next,
    got,
    text: (e: Envelope) => ws.send(json.encodeText(e)),
  }
}

describe('ws-server route', () => {
  it('greets each connection with its id and hands messages to handlers with head.$conn', async () => {
    const { route, start } = await server()
    const seen: Envelope[] = []
    route.on('chat.say', (msg) => {
      seen.push(msg)
    })
    const url = await start()
    expect(url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/)
    const a = await peer(url)
    expect(a.hello).toEqual({ name: '$hello', head: { $conn: a.id }, body: null })
    // A client cannot claim another id.
    a.text({ name: 'chat.say', head: { $conn: 'forged' }, body: { text: 'hi' } })
    await expect.poll(() => seen.length).toBe(1)
    expect(seen[0]).toEqual({ name: 'chat.say', head: { $conn: a.id }, body: { text: 'hi' } })
  })

  it('answers requests ($id → $re), errors included, in the frame kind the client used', async () => {
    const { route, start } = await server()
    route.on('sum', ({ body }) => body.reduce((x: number, y: number) => x + y, 0))
    route.on('fail', () => {
      throw Object.assign(new Error('nope'), { code: 'E_NOPE' })
    })
    const a = await peer(await start())
    a.text({ name: 'sum', head: { $id: 1 }, body: [1, 2, 3] })
    expect((await a.next())[0]).toMatchObject({ name: 'sum', head: { $re: 1 }, body: 6 })
    a.ws.send(msgpack.encode({ name: 'fail', head: { $id: 2 }, body: null }))
    const [err] = await a.next()
    expect(err.head).toEqual({ $re: 2, $err: true })
    expect(err.body).toMatchObject({ code: 'E_NOPE', message: 'nope' })
    // Batches are accepted too.
    a.text({ name: 'x', head: {}, body: null })
    a.ws.send(
      json.encodeBatchText([
        { name: 'sum', head: { $id: 3 }, body: [1] },
        { name: 'sum', head: { $id: 4 }, body: [2] },
      ]),
    )
    expect((await a.next(2)).map((e) => e.body)).toEqual([1, 2])
  })

  it('stops reading from a client while the handlers are saturated, then goes on in order', async () => {
    const { route, start } = await server({ concurrency: 1 })
    const started: number[] = []
    const releases: (() => void)[] = []
    route.on('work', ({ body }) => {
      started.push(body)
      return new Promise<void>((r) => releases.push(r))
    })
    const a = await peer(await start())
    for (let i = 1; i <= 3; i++) a.text({ name: 'work', head: {}, body: i })
    await expect.poll(() => started).toEqual([1])
    await new Promise((r) => setTimeout(r, 50))
    expect(started).toEqual([1]) // the connection is paused, not the process
    releases.shift()!()
    await expect.poll(() => started).toEqual([1, 2])
    await new Promise((r) => setTimeout(r, 50))
    expect(started).toEqual([1, 2]) // one handler at a time, as configured
    releases.shift()!()
    await expect.poll(() => started).toEqual([1, 2, 3])
    releases.shift()!()
  })

  it('sends to one connection, to a group, and to all', async () => {
    const { route, start } = await server()
    const url = await start()
    const [a, b, c] = [await peer(url), await peer(url), await peer(url, { protocols: ['dripdrop.msgpack'] })]
    const conns = wsConnections(route)
    expect(conns.size).toBe(3)
    await route.sendTo(b.id, 'to.one', { n: 1 })
    expect((await b.next())[0]).toMatchObject({ name: 'to.one', body: { n: 1 } })
    conns.join(a.id, 'room')
    conns.join(c.id, 'room')
    expect(conns.members('room').sort()).toEqual([a.id, c.id].sort())
    await route.sendTo({ group: 'room' }, 'to.group', 'g')
    expect((await a.next())[0].body).toBe('g')
    // The msgpack client gets binary frames.
    expect((await c.next())[0].body).toBe('g')
    conns.leave(a.id, 'room')
    await route.send('to.all', 'everyone')
    for (const p of [a, b, c]) expect((await p.next())[0]).toMatchObject({ name: 'to.all', body: 'everyone' })
    expect(a.got.length + b.got.length).toBe(0)
    await expect(route.sendTo('no-such-id', 'x', 1)).rejects.toMatchObject({
      code: 'DD_ERR_WS_NO_CONNECTION',
    })
  })

  it('reports open and close, and forgets a closed connection and its groups', async () => {
    const { route, start } = await server()
    const url = await start()
    const conns = wsConnections(route)
    const events: string[] = []
    conns.on('connection:open', (c) => events.push(`open ${c.id}`))
    conns.on('connection:close', (c, code) => events.push(`close ${c.id} ${code}`))
    const a = await peer(url)
    conns.join(a.id, 'room')
    a.ws.close(1000)
    await expect.poll(() => conns.size).toBe(0)
    expect(events).toEqual([`open ${a.id}`, `close ${a.id} 1000`])
    expect(conns.members('room')).toEqual([])
  })

  it('counts garbage frames as decode errors and keeps the connection', async () => {
    const { route, node, start } = await server()
    route.on('ok', () => 'fine')
    const errors: string[] = []
    node.events.on('route:error', ({ error }) => errors.push(error.code))
    const a = await peer(await start())
    a.ws.send('{not json')
    a.ws.send(Buffer.from([0xc1]))
    a.ws.send('[1,"",{},null]')
    a.text({ name: 'ok', head: { $id: 1 }, body: null })
    expect((await a.next())[0].body).toBe('fine')
    expect(errors).toEqual(['DD_ERR_DECODE_MALFORMED', 'DD_ERR_DECODE_MALFORMED', 'DD_ERR_DECODE_SHAPE'])
    expect(route.stats.decodeErrors).toBe(3)
  })

  it('closes a connection that sends a frame past maxMessageBytes with 1009', async () => {
    const { start } = await server({ maxMessageBytes: 100 })
    const a = await peer(await start())
    const closed = new Promise<number>((r) => a.ws.once('close', (code) => r(code)))
    a.ws.send('x'.repeat(200))
    expect(await closed).toBe(1009)
  })

  it('refuses upgrades from other origins (403) and without a valid token (401) before any message', async () => {
    const { start, route } = await server({
      origins: ['http://good.example'],
      authorize: async ({ token }: { token: string }) => (token === 's3cret' ? { user: 'ann' } : false),
    })
    const seen: Envelope[] = []
    route.on('*', (m) => {
      seen.push(m)
    })
    const url = await start()
    const refused = (u: string, headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(u, { headers })
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode!)
          ws.terminate()
        })
        ws.on('error', () => {})
        ws.on('open', () => resolve(101))
      })
    expect(await refused(`${url}/?token=s3cret`, { origin: 'http://evil.example' })).toBe(403)
    expect(await refused(`${url}/?token=wrong`, { origin: 'http://good.example' })).toBe(401)
    expect(await refused(url, { origin: 'http://good.example' })).toBe(401)
    const ok = await peer(`${url}/?token=s3cret`, { headers: { origin: 'http://good.example' } })
    ok.text({ name: 'hello', head: { $auth: 'forged' }, body: null })
    await expect.poll(() => seen.length).toBe(1)
    expect(seen[0].head).toEqual({ $conn: ok.id, $auth: { user: 'ann' } })
  })

  it('cuts off a slow consumer past maxPeerQueueBytes with 4008 and counts it', async () => {
    const { route, start } = await server({ maxPeerQueueBytes: 256 * 1024 })
    const url = await start()
    const conns = wsConnections(route)
    const slow = await peer(url)
    const fast = await peer(url)
    const closes: number[] = []
    conns.on('connection:close', (c, code) => c.id === slow.id && closes.push(code))
    // The slow peer stops reading: its TCP window fills, then the server's buffer grows.
    slow.ws.pause()
    const body = 'x'.repeat(16 * 1024)
    for (let i = 0; i < 2000 && conns.get(slow.id)?.state === 'open'; i++) {
      await route.send('flood', body)
      if (i % 50 === 0) await new Promise((r) => setImmediate(r))
    }
    expect(conns.slowConsumers).toBe(1)
    await expect.poll(() => closes.length, { timeout: 5000 }).toBe(1)
    expect([4008, 1006]).toContain(closes[0])
    // The fast peer was not cut off.
    expect(conns.get(fast.id)?.state).toBe('open')
    expect(route.stats.dropped).toBeGreaterThanOrEqual(1)
  })

  it('terminates a connection that stops answering pings', async () => {
    const { route, start } = await server({ heartbeatIntervalMs: 50 })
    const conns = wsConnections(route)
    const a = await peer(await start())
    // Silence the peer's automatic pong: ws answers pings inside its receiver unless autoPong is off.
    ;(a.ws as unknown as { _autoPong: boolean })._autoPong = false
    await expect.poll(() => conns.heartbeatTimeouts, { timeout: 2000 }).toBe(1)
    await expect.poll(() => conns.size).toBe(0)
  })

  it('serves the browser client and answers other plain HTTP with 426', async () => {
    const { start } = await server()
    const url = (await start()).replace('ws://', 'http://')
    const res = await fetch(`${url}/dripdrop-client.js`)
    expect(res.headers.get('content-type')).toMatch(/^text\/javascript/)
    expect(await res.text()).toContain('export function connect(')
    expect((await fetch(`${url}/other`)).status).toBe(426)
  })

  it('closes gracefully with 1001 for every client', async () => {
    const { node, start } = await server()
    const a = await peer(await start())
    const closed = new Promise<number>((r) => a.ws.once('close', (code) => r(code)))
    await node.close()
    expect(await closed).toBe(1001)
  })

  it('refuses a client that offers a dripdrop sub-protocol with close 4401 / 4403 and no frame', async () => {
    const { start } = await server({
      origins: ['http://good.example'],
      authorize: ({ token }: { token: string }) => token === 's3cret',
    })
    const url = await start()
    const refusal = (u: string, origin: string) =>
      new Promise<{ code: number; frames: number }>((resolve, reject) => {
        const ws = new WebSocket(u, [SUBPROTOCOLS.json], { headers: { origin } })
        onTestFinished(() => ws.terminate())
        let frames = 0
        ws.on('message', () => frames++)
        ws.on('error', reject)
        ws.on('close', (code) => resolve({ code, frames }))
      })
    expect(await refusal(`${url}/?token=nope`, 'http://good.example')).toEqual({ code: 4401, frames: 0 })
    expect(await refusal(`${url}/?token=s3cret`, 'http://evil.example')).toEqual({ code: 4403, frames: 0 })
  })

  it('answers a malformed upgrade request line (GET //[) with 400 and keeps serving', async () => {
    const { route, start } = await server({ authorize: () => true })
    route.on('ping', () => 'pong')
    const url = await start()
    const unhandled: unknown[] = []
    const onUnhandled = (err: unknown) => unhandled.push(err)
    process.on('unhandledRejection', onUnhandled)
    process.on('uncaughtException', onUnhandled)
    onTestFinished(() => {
      process.off('unhandledRejection', onUnhandled)
      process.off('uncaughtException', onUnhandled)
    })
    const c = await rawClient(Number(new URL(url).port))
    c.socket.write(
      'GET //[ HTTP/1.1\r\nhost: 127.0.0.1\r\nupgrade: websocket\r\nconnection: Upgrade\r\n' +
        'sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n',
    )
    // Before the fix the upgrade path threw in a promise: no answer, an unhandled rejection, the process gone.
    expect(await c.closed).toMatch(/^HTTP\/1\.1 400 /)
    const a = await peer(url)
    a.text({ name: 'ping', head: { $id: 1 }, body: null })
    expect((await a.next())[0].body).toBe('pong')
    expect(unhandled).toEqual([])
  })

  it('sends error replies without a stack unless the route sets exposeErrorStacks: true', async () => {
    for (const expose of [undefined, true]) {
      const { route, start } = await server(expose === undefined ? {} : { exposeErrorStacks: expose })
      route.on('fail', () => {
        throw Object.assign(new Error('nope'), { code: 'E_NOPE' })
      })
      const a = await peer(await start())
      a.text({ name: 'fail', head: { $id: 1 }, body: null })
      const [err] = await a.next()
      expect(err.body).toMatchObject({ code: 'E_NOPE', message: 'nope' })
      if (expose) expect((err.body as { stack?: string }).stack).toMatch(/nope/)
      else expect(err.body).not.toHaveProperty('stack')
    }
  })

  it('counts a client that drops without a close frame in stats.aborted, not stats.errors', async () => {
    const { route, start } = await server()
    const url = await start()
    const conns = wsConnections(route)
    const a = await peer(url)
    const b = await peer(url)
    const gone = new Promise<number>((r) => conns.once('connection:close', (_c, code) => r(code)))
    a.ws.close(1000) // a clean close: not an abort
    expect(await gone).toBe(1000)
    const dropped = new Promise<number>((r) => conns.once('connection:close', (_c, code) => r(code)))
    b.ws.terminate() // TCP closes, no close frame
    expect(await dropped).toBe(1006)
    expect(route.stats.aborted).toBe(1)
    expect(route.stats.errors).toBe(0)
  })

  it('returns the same promise from a second close()', async () => {
    const { route, start } = await server()
    await peer(await start())
    const socket = wsConnections(route)
    const first = socket.close(100)
    expect(socket.close(100)).toBe(first)
    await first
    expect(socket.size).toBe(0)
  })
})
