import { createServer, type Socket, connect as tcpConnect } from 'node:net'
import { describe, expect, it, onTestFinished } from 'vitest'
import { until, zmqNode } from './helpers.js'

/** A TCP relay whose live connections can be frozen: bytes stop flowing, but no FIN or RST is ever sent. */
async function freezableRelay(targetPort: number) {
  const live: Socket[] = []
  const server = createServer((client) => {
    const upstream = tcpConnect(targetPort, '127.0.0.1')
    client.pipe(upstream).pipe(client)
    for (const s of [client, upstream]) {
      s.on('error', () => {})
      live.push(s)
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  onTestFinished(() => {
    for (const s of live) s.destroy()
    server.close()
  })
  return {
    port: (server.address() as { port: number }).port,
    freeze() {
      for (const s of live.splice(0)) {
        s.unpipe()
        s.pause()
      }
    },
  }
}

describe('ZMTP heartbeats', () => {
  it('drop a silent peer (no FIN, no RST) after the heartbeat timeout, then reconnect', async () => {
    const hb = { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 300, reconnectMinMs: 50 }
    const server = zmqNode('server', hb)
    const got: number[] = []
    const pull = server.route('in', { type: 'pull', bind: 'tcp://127.0.0.1:*' }).on('n', ({ body }) => {
      got.push(body)
    })
    const events: string[] = []
    server.events.on('route:disconnect', () => events.push('server:disconnect'))
    await server.start()
    const relay = await freezableRelay(Number(pull.endpoints[0].split(':').pop()))
    const client = zmqNode('client', hb)
    client.events.on('route:disconnect', () => events.push('client:disconnect'))
    client.events.on('route:connect', () => events.push('client:connect'))
    const push = client.route('out', { type: 'push', connect: `tcp://127.0.0.1:${relay.port}` })
    await client.start()
    await push.send('n', 1)
    await until(() => got.length === 1)

    relay.freeze()
    // Only a heartbeat timeout can notice a connection that went silent.
    await until(() => events.includes('server:disconnect') && events.includes('client:disconnect'), 5000)
    const connects = events.filter((e) => e === 'client:connect').length
    await until(() => events.filter((e) => e === 'client:connect').length > connects, 5000, 'a reconnect')
    await push.send('n', 2)
    await until(() => got.includes(2), 5000, 'a message over the new connection')
    expect(got[0]).toBe(1)
  })

  it('can be turned off with heartbeatIntervalMs: 0: an idle connection carries no bytes while a heartbeating one pings', async () => {
    // Two idle connections, each through a relay that counts the bytes: one with heartbeats off, one with
    // them on every 100 ms (the clock of this test). After 1.5 s of the second one's pings (longer than the
    // 1 s default interval), the first must have carried nothing since its message.
    const pairs = []
    for (const heartbeatIntervalMs of [0, 100]) {
      const server = zmqNode(`server-${heartbeatIntervalMs}`, { heartbeatIntervalMs })
      const got: unknown[] = []
      const pull = server.route('in', { type: 'pull', bind: 'tcp://127.0.0.1:*' }).on('*', ({ body }) => {
        got.push(body)
      })
      await server.start()
      const relay = await countingRelay(Number(pull.endpoints[0].split(':').pop()))
      const client = zmqNode(`client-${heartbeatIntervalMs}`, { heartbeatIntervalMs })
      const push = client.route('out', { type: 'push', connect: `tcp://127.0.0.1:${relay.port}` })
      await client.start()
      await push.send('x', 'ok')
      await until(() => got.length === 1)
      pairs.push({ relay, bytes: relay.bytes() })
    }
    const [off, on] = pairs
    const start = Date.now()
    await until(
      () => on.relay.bytes() > on.bytes && Date.now() - start >= 1500,
      5000,
      'pings on the heartbeating one',
    )
    expect(on.relay.bytes()).toBeGreaterThan(on.bytes)
    expect(off.relay.bytes()).toBe(off.bytes)
  })
})

/** A TCP relay that counts the bytes it carries, both ways. */
async function countingRelay(targetPort: number) {
  let bytes = 0
  const live: Socket[] = []
  const server = createServer((client) => {
    const upstream = tcpConnect(targetPort, '127.0.0.1')
    client.on('data', (d: Buffer) => {
      bytes += d.length
      upstream.write(d)
    })
    upstream.on('data', (d: Buffer) => {
      bytes += d.length
      client.write(d)
    })
    for (const s of [client, upstream]) {
      s.on('error', () => {})
      live.push(s)
    }
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  onTestFinished(() => {
    for (const s of live) s.destroy()
    server.close()
  })
  return { port: (server.address() as { port: number }).port, bytes: () => bytes }
}
