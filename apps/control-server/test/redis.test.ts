import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { connect, createServer } from 'node:net'
import { Node } from '@dripdrop/core'
import { monitor } from '@dripdrop/monitor'
import { zmqTransport } from '@dripdrop/zmq'
import { expect, it, onTestFinished } from 'vitest'
import { auth, startServer } from './support/server.js'

async function freePort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const { port } = s.address() as { port: number }
  await new Promise((r) => s.close(r))
  return port
}

function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1')
    c.once('error', () => resolve(false))
    c.once('data', (d) => {
      c.destroy()
      resolve(String(d).startsWith('+PONG'))
    })
    c.write('PING\r\n')
  })
}

/** A private redis-server (from PATH) on a free port, killed when the test finishes. */
async function redis(): Promise<{ url: string; kill(): Promise<void> }> {
  const port = await freePort()
  const proc: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  )
  const kill = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return
    const exited = once(proc, 'exit')
    proc.kill('SIGKILL')
    await exited
  }
  onTestFinished(kill)
  while (!(await pong(port))) await new Promise((r) => setTimeout(r, 20))
  return { url: `redis://127.0.0.1:${port}`, kill }
}

it('--redis: members survive a control server restart, and the API keeps serving while Redis is gone', async () => {
  const r = await redis()
  const first = await startServer({ redis: r.url })
  const collector = first.urls.collector
  const node = new Node({ name: 'n', transports: [zmqTransport()] })
  node.route('in', { type: 'pull', bind: 'tcp://127.0.0.1:*' })
  const reporter = monitor(node, { collector, role: 'api', instance: 'api-r', intervalMs: 200 })
  onTestFinished(async () => {
    await reporter.close()
    await node.close()
  })
  await node.start()
  const get = async (base: string, path: string) =>
    (await fetch(base + path, { headers: auth })).json() as any
  let base = first.urls.dashboard.replace(/\/$/, '')
  await expect.poll(async () => (await get(base, '/api/overview')).store.kind).toBe('redis')
  await expect.poll(async () => (await get(base, '/api/instances')).total, { timeout: 10_000 }).toBe(1)
  // Let one store write happen (once a second), then restart the control server on the same collector port.
  await expect.poll(() => first.collector.storeHealth().bufferedSeconds, { timeout: 10_000 }).toBe(0)
  await new Promise((res) => setTimeout(res, 1100))
  await first.close()
  const second = await startServer({ redis: r.url, collector })
  base = second.urls.dashboard.replace(/\/$/, '')
  // Known at once from Redis, then up again: the reporter reconnected by itself.
  expect((await get(base, '/api/instances')).items.map((i: { instance: string }) => i.instance)).toEqual([
    'api-r',
  ])
  await expect
    .poll(async () => (await get(base, '/api/instances')).items[0].status, { timeout: 10_000 })
    .toBe('up')
  // Redis gone: the API still answers from memory, and says the store is disconnected.
  await r.kill()
  await expect
    .poll(async () => (await get(base, '/api/overview')).store.connected, { timeout: 15_000 })
    .toBe(false)
  const page = await fetch(`${base}/api/instances`, { headers: auth })
  expect(page.status).toBe(200)
  expect(((await page.json()) as any).items[0]).toMatchObject({ instance: 'api-r', status: 'up' })
})
