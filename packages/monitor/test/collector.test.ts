import { describe, expect, it } from 'vitest'
import { Collector, type InstanceEvent } from '../src/index.js'
import { makeReport, makeRoute, rawSender, startCollector, until } from './helpers.js'

describe('Collector', () => {
  it('turns cumulative counters into rates and series, and handles a restart (new startedAt) as a reset', async () => {
    const collector = await startCollector()
    const restarted: unknown[] = []
    collector.events.on('instance:restarted', (e) => restarted.push(e))
    const sim = await rawSender(collector.endpoint)
    const t = Date.now()
    await sim.send(
      'dd.mon.report',
      makeReport({ instance: 'a', seq: 1, at: t, routes: [makeRoute('r', { messagesIn: 10 })] }),
    )
    await sim.send(
      'dd.mon.report',
      makeReport({ instance: 'a', seq: 2, at: t + 1000, routes: [makeRoute('r', { messagesIn: 30 })] }),
    )
    await until(() => collector.stats.reports === 2, 'two reports')
    expect(collector.topRoutes()[0]).toMatchObject({ instance: 'a', route: 'n/r', rates: { messagesIn: 20 } })
    // A lost report costs nothing: counters are cumulative.
    await sim.send(
      'dd.mon.report',
      makeReport({ instance: 'a', seq: 4, at: t + 3000, routes: [makeRoute('r', { messagesIn: 70 })] }),
    )
    await until(() => collector.stats.reports === 3, 'third report')
    expect(collector.topRoutes()[0].rates.messagesIn).toBe(20)
    // The process restarts: its counters start again from zero.
    await sim.send(
      'dd.mon.report',
      makeReport({
        instance: 'a',
        startedAt: 2000,
        seq: 1,
        at: t + 4000,
        routes: [makeRoute('r', { messagesIn: 5 })],
      }),
    )
    await until(() => collector.stats.reports === 4, 'report after restart')
    expect(restarted).toEqual([
      expect.objectContaining({ instance: 'a', startedAt: 2000, previousStartedAt: 1000 }),
    ])
    // A late message of the old process is ignored.
    await sim.send(
      'dd.mon.report',
      makeReport({ instance: 'a', startedAt: 1000, seq: 5, routes: [makeRoute('r', { messagesIn: 999 })] }),
    )
    await sim.send('dd.mon.heartbeat', {
      v: 1,
      instance: 'a',
      startedAt: 2000,
      seq: 1,
      heartbeatIntervalMs: 250,
    })
    await until(() => collector.stats.heartbeats === 1, 'the heartbeat behind the stale report')
    const total = collector
      .series({ instance: 'a', route: 'n/r', metric: 'messagesIn', windowSeconds: 30 })
      .values.reduce((x, y) => x + y, 0)
    expect(total).toBe(10 + 20 + 40 + 5)
    expect(collector.instance('a')?.report?.startedAt).toBe(2000)
  })

  it('derives topology links from connect and bind endpoints of different instances, with rates', async () => {
    const collector = await startCollector()
    const sim = await rawSender(collector.endpoint)
    const t = Date.now()
    await sim.send(
      'dd.mon.report',
      makeReport({
        instance: 'server',
        routes: [makeRoute('in', { messagesIn: 0 }, { bind: ['tcp://0.0.0.0:7001'] })],
      }),
    )
    for (const [seq, out] of [
      [1, 0],
      [2, 50],
    ]) {
      await sim.send(
        'dd.mon.report',
        makeReport({
          instance: 'client',
          seq,
          at: t + seq * 1000,
          routes: [makeRoute('out', { messagesOut: out }, { connect: ['tcp://127.0.0.1:7001'] })],
        }),
      )
    }
    await until(() => collector.stats.reports === 3, 'reports')
    expect(collector.links()).toEqual([
      {
        from: { instance: 'client', route: 'n/out' },
        to: { instance: 'server', route: 'n/in' },
        endpoint: 'tcp://127.0.0.1:7001',
        outPerSecond: 50,
        inPerSecond: 0,
      },
    ])
  })

  it('moves a silent instance up → suspect → down, and back up when it speaks again', async () => {
    const collector = await startCollector({ detector: { checkIntervalMs: 10 } })
    const seen: string[] = []
    for (const e of ['instance:up', 'instance:suspect', 'instance:down'] as const) {
      collector.events.on(e, (p: InstanceEvent) => seen.push(`${e.slice(9)}<-${p.previous}`))
    }
    const sim = await rawSender(collector.endpoint)
    const beat = { v: 1, instance: 'quiet', startedAt: 1, seq: 1, heartbeatIntervalMs: 30 }
    await sim.send('dd.mon.heartbeat', beat)
    await until(() => collector.instance('quiet')?.status === 'down', 'down')
    await sim.send('dd.mon.heartbeat', { ...beat, seq: 2 })
    await until(() => collector.instance('quiet')?.status === 'up', 'up again')
    expect(seen.slice(0, 4)).toEqual(['up<-undefined', 'suspect<-up', 'down<-suspect', 'up<-down'])
  })

  it('validates its options with their path', () => {
    expect(() => new Collector({ bind: 'x' })).toThrow(/options.bind/)
    expect(() => new Collector({ bind: 'tcp://127.0.0.1:*', maxInstances: 0 })).toThrow(
      /options.maxInstances/,
    )
    expect(
      () =>
        new Collector({ bind: 'tcp://127.0.0.1:*', detector: { suspectAfterMissed: 4, downAfterMissed: 2 } }),
    ).toThrow(/downAfterMissed/)
    expect(() => new Collector({ bind: 'tcp://127.0.0.1:*', port: 1 } as never)).toThrow(/options.port/)
  })

  it('close() releases the port and returns the same promise twice', async () => {
    const collector = await startCollector()
    const endpoint = collector.endpoint
    const p = collector.close()
    expect(collector.close()).toBe(p)
    await p
    const again = new Collector({ bind: endpoint })
    await again.start()
    expect(again.endpoint).toBe(endpoint)
    await again.close()
  })
})
