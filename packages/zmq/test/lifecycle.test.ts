import { createServer } from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import * as zmq from 'zeromq'
import { MsgpackCodec, RouteStats } from '@dripdrop/core'
import { zmqTransport } from '../src/index.js'
import { until, zmqNode } from './helpers.js'

/** A TCP port that is free now (found by listening on port 0 and closing). */
async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  await new Promise((r) => server.close(r))
  return port
}

/** True when a raw ZeroMQ socket can bind the endpoint now (it is closed again at once). */
async function canBind(endpoint: string): Promise<boolean> {
  const probe = new zmq.Router({ linger: 0 })
  try {
    await probe.bind(endpoint)
    await probe.unbind(endpoint)
    return true
  } catch {
    return false
  } finally {
    probe.close()
  }
}

describe('lifecycle', () => {
  for (const type of ['rep', 'push'] as const) {
    it(`close() of a bound ${type} route resolves when its port is free: the same port binds again at once`, async () => {
      for (let i = 0; i < 10; i++) {
        const node = zmqNode(`a${i}`)
        const route = node.route('svc', { type, bind: 'tcp://127.0.0.1:*' }).on('ping', () => 'pong')
        await node.start()
        const endpoint = route.endpoints[0]
        // A connected peer that exchanged a message, so the listener has a live connection to tear down too.
        const client = zmqNode(`c${i}`)
        const got: unknown[] = []
        const peer = client
          .route('svc', { type: type === 'rep' ? 'req' : 'pull', connect: endpoint })
          .on('ping', ({ body }) => {
            got.push(body)
          })
        await client.start()
        if (type === 'rep') expect((await peer.request('ping', null)).body).toBe('pong')
        else {
          await route.send('ping', 1)
          await until(() => got.length === 1)
        }
        await node.close()
        const again = zmqNode(`b${i}`)
        again.route('svc', { type, bind: endpoint })
        await expect(again.start()).resolves.toBe(again)
        await again.close()
      }
    })
  }

  it('a second close() of a route socket returns the same promise, and the port is free when it resolves', async () => {
    // A bare socket with no route around it: nothing in zmq reads `host.route`.
    const host = { route: undefined as never, stats: new RouteStats(), receive() {}, emit() {} }
    const socket = zmqTransport().create(
      {
        name: 'in',
        type: 'pull',
        bind: ['tcp://127.0.0.1:*'],
        connect: [],
        subscribe: [],
        highWaterMark: 10,
        codec: new MsgpackCodec(),
        options: {},
      },
      host,
    )
    onTestFinished(() => {
      socket.destroy()
    })
    await socket.start()
    const first = socket.close(100)
    expect(socket.close(100)).toBe(first)
    await first
    expect(await canBind(socket.endpoints[0])).toBe(true)
  })

  it('destroy() while another route is still binding leaves no bound port behind (DD_ERR_ADDRESS_IN_USE)', async () => {
    const taken = new zmq.Router({ linger: 0 })
    onTestFinished(() => taken.close())
    await taken.bind('tcp://127.0.0.1:*')
    for (let i = 0; i < 5; i++) {
      const port = await freePort()
      const endpoint = `tcp://127.0.0.1:${port}`
      const node = zmqNode(`n${i}`)
      // Several binds in a row keep the route binding while the other route fails.
      const more = Array.from({ length: 8 }, () => 'tcp://127.0.0.1:*')
      node.route('free', { type: 'rep', bind: [endpoint, ...more] })
      node.route('busy', { type: 'rep', bind: taken.lastEndpoint! })
      await expect(node.start()).rejects.toMatchObject({ code: 'DD_ERR_ADDRESS_IN_USE' })
      expect(node.state).toBe('closed')
      // Before the fix the first route's socket stayed bound for ever; a bounded wait for the port to come free.
      let free = false
      const end = Date.now() + 3000
      while (!free && Date.now() < end) {
        free = await canBind(endpoint)
        if (!free) await new Promise((r) => setTimeout(r, 20))
      }
      expect(free).toBe(true)
    }
  })
})
