import { describe, expect, it, onTestFinished } from 'vitest'
import { Node, type RouteSocket, type TransportFactory } from '../src/index.js'

// A transport whose sockets have fixed peers (like the HTTP and WebSocket bridges): no connect/disconnect.
const fixed: TransportFactory = {
  name: 'fixed',
  schemes: ['fixed'],
  types: ['push'],
  create(): RouteSocket {
    return {
      endpoints: [],
      start: async () => {},
      send: () => {},
      close: async () => {},
      destroy: () => 0,
    }
  },
}

describe('route.connect/disconnect', () => {
  it('a transport without runtime peers refuses with DD_ERR_UNSUPPORTED', async () => {
    const node = new Node({ transports: [fixed] })
    onTestFinished(() => {
      node.destroy()
    })
    const push = node.route('out', { type: 'push', connect: 'fixed://a' })
    await node.start()
    await expect(push.connect('fixed://b')).rejects.toMatchObject({ code: 'DD_ERR_UNSUPPORTED' })
    await expect(push.disconnect('fixed://a')).rejects.toMatchObject({ code: 'DD_ERR_UNSUPPORTED' })
    expect(push.connects).toEqual(['fixed://a'])
  })

  it('a connect made before start waits for the route to open (inproc)', async () => {
    const node = new Node()
    onTestFinished(() => {
      node.destroy()
    })
    const got: number[] = []
    node.route('in', { type: 'pull', bind: 'inproc://rc-late' }).on('n', ({ body }) => {
      got.push(body as number)
    })
    const push = node.route('out', { type: 'push', connect: 'inproc://rc-other' })
    const connecting = push.connect('inproc://rc-late')
    const disconnecting = push.disconnect('inproc://rc-other')
    await node.start()
    await connecting
    await disconnecting
    await push.send('n', 1)
    for (let i = 0; i < 500 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 2))
    expect(got).toEqual([1])
    expect(push.connects).toEqual(['inproc://rc-late'])
  })
})
