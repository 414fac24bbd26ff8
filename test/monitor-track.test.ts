// @dripdrop/monitor sees a worker pool and bridges traffic without either importing it: a bridges
// `http-server` route is a route of the monitored node (reported like every route), a pool's stats go through
// `reporter.track('pool', () => pool.stats)` (numeric fields, nested percentiles flattened one level). A real
// collector, a real pool thread, real HTTP requests.
import { Node } from '@dripdrop/core'
import { httpTransport } from '@dripdrop/bridges'
import { Collector, Reporter } from '@dripdrop/monitor'
import { createPool } from '@dripdrop/worker-pool'
import { describe, expect, it, onTestFinished } from 'vitest'

async function until(fn: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 15_000
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

describe('monitoring a worker pool and a bridges route', () => {
  it('the collector gets the pool stats under tracked and the http-server route traffic under routes', async () => {
    const collector = new Collector({ bind: 'tcp://127.0.0.1:*' })
    onTestFinished(() => {
      collector.destroy()
    })
    await collector.start()
    const pool = await createPool({
      tasks: new URL('./fixtures/pool-tasks.mjs', import.meta.url),
      threads: 1,
    })
    onTestFinished(() => {
      pool.destroy()
    })
    const node = new Node({ name: 'web', transports: [httpTransport()] })
    onTestFinished(() => {
      node.destroy()
    })
    const api = node.route('api', {
      type: 'http-server',
      bind: 'http://127.0.0.1:0',
      routes: { 'POST /inc': 'inc' },
    })
    api.on('inc', ({ body }) => pool.defer('inc', body as number))
    const reporter = new Reporter({
      collector: collector.endpoint,
      role: 'web',
      instance: 'web-1',
      intervalMs: 100,
    })
    onTestFinished(() => {
      reporter.destroy()
    })
    reporter.add(node)
    reporter.track('pool', () => pool.stats)
    await node.start()
    await reporter.start()

    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${api.endpoints[0]}/inc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(i),
      })
      expect(await res.json()).toBe(i + 1)
    }
    const report = () => collector.instance('web-1')?.report
    await until(
      () => (report()?.tracked.find((t) => t.name === 'pool')?.values.completed ?? 0) >= 10,
      'the pool stats',
    )
    const values = report()!.tracked.find((t) => t.name === 'pool')!.values
    expect(values.completed).toBe(10)
    expect(values.workers).toBe(1)
    expect(values.failed).toBe(0)
    // Nested percentiles flattened one level.
    expect(typeof values['runMs.p50']).toBe('number')
    expect(typeof values['waitMs.p99']).toBe('number')
    await until(
      () => (report()?.routes.find((r) => r.route === 'api')?.counters.messagesIn ?? 0) >= 10,
      'the http-server route traffic',
    )
    const route = report()!.routes.find((r) => r.route === 'api')!
    expect(route.type).toBe('http-server')
    expect(route.counters.messagesIn).toBe(10)
    expect(route.counters.messagesOut).toBeGreaterThanOrEqual(10)
  })
})
