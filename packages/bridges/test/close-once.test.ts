import { JsonCodec } from '@dripdrop/codec'
import { type RouteHost, RouteStats, type RouteSpec } from '@dripdrop/core'
import { describe, expect, it, onTestFinished } from 'vitest'
import { httpTransport } from '../src/index.js'

/** The sockets as a route drives them: the host is the route's side of the seam (counters, events). */
function open(type: string, address: { bind?: string; connect?: string }, options: Record<string, unknown>) {
  // No Route around the socket: a stand-in object keys the ws registries (wsConnections/wsClient look up by route).
  const host: RouteHost = {
    route: {} as never,
    stats: new RouteStats(),
    receive: () => undefined,
    emit: () => {},
  }
  const spec: RouteSpec = {
    name: type,
    type,
    bind: address.bind ? [address.bind] : [],
    connect: address.connect ? [address.connect] : [],
    subscribe: [],
    highWaterMark: 10,
    codec: new JsonCodec(),
    options,
  }
  const socket = httpTransport().create(spec, host)
  onTestFinished(() => {
    socket.destroy()
  })
  return socket
}

describe('a second close() returns the first one’s promise', () => {
  it('http-server and http-client', async () => {
    const server = open('http-server', { bind: 'http://127.0.0.1:0' }, { routes: {} })
    await server.start()
    const client = open('http-client', { connect: server.endpoints[0] }, {})
    await client.start()
    const clientClosed = client.close(100)
    expect(client.close(100)).toBe(clientClosed)
    const serverClosed = server.close(100)
    expect(server.close(100)).toBe(serverClosed)
    await Promise.all([clientClosed, serverClosed])
    // Closed for real: the port no longer answers.
    await expect(fetch(`${server.endpoints[0]}/`)).rejects.toThrow()
  })
})
