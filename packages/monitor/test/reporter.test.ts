import { describe, expect, it, onTestFinished } from 'vitest'
import { MESSAGE, monitor, optionsFromEnv, Reporter, validateMessage, DEFAULT_LIMITS } from '../src/index.js'
import { startApp, startCollector, until } from './helpers.js'

describe('Reporter', () => {
  it('reports routes, counters, per-name latency and process gauges to the collector', async () => {
    const collector = await startCollector()
    const { node, sender, pull, push } = await startApp()
    const reporter = new Reporter({
      collector: collector.endpoint,
      role: 'api',
      instance: 'api-1',
      intervalMs: 50,
      heartbeatIntervalMs: 20,
    })
    onTestFinished(() => {
      reporter.destroy()
    })
    reporter.add(node).add(sender)
    let handled = 0
    reporter.handle(pull, 'job', () => {
      handled++
    })
    await reporter.start()
    for (let i = 0; i < 100; i++) await push.send('job', { i })
    await until(() => handled === 100, 'the jobs')
    const info = await until(() => {
      const i = collector.instance('api-1')
      const work = i?.report?.routes.find((r) => r.route === 'work')
      return work !== undefined && work.counters.messagesIn === 100 && i
    }, 'a report with 100 messages in')
    expect(info.status).toBe('up')
    expect(info.role).toBe('api')
    expect(info.pid).toBe(process.pid)
    const routes = info.report?.routes ?? []
    expect(routes.map((r) => `${r.node}/${r.route}:${r.type}`).sort()).toEqual([
      'app-sender/jobs:push',
      'app/work:pull',
    ])
    const jobs = routes.find((r) => r.route === 'jobs')
    expect(jobs?.counters.messagesOut).toBe(100)
    expect(jobs?.counters).toHaveProperty('aborted')
    expect(jobs?.counters).toHaveProperty('expired')
    expect(info.report?.process.rssBytes).toBeGreaterThan(0)
    // Latency deltas of every report are merged exactly: the merged count is the number of calls.
    const latency = await until(
      () => collector.latency().find((l) => l.name === 'job' && l.count === 100),
      'merged latency',
    )
    expect(latency).toMatchObject({ role: 'api', route: 'app/work' })
    // Per-second series hold the 100 envelopes, and the per-name count too.
    const series = collector.series({
      instance: 'api-1',
      route: 'app/work',
      metric: 'messagesIn',
      windowSeconds: 30,
    })
    expect(series.values.reduce((a, b) => a + b, 0)).toBe(100)
    const names = collector.series({
      instance: 'api-1',
      route: 'app/work',
      name: 'job',
      metric: 'count',
      windowSeconds: 30,
    })
    expect(names.values.reduce((a, b) => a + b, 0)).toBe(100)
    // Topology: the sender's connect is matched to the receiver's bind (same instance: no self-link), so a
    // second instance is needed; see collector.test.ts.
    expect(collector.links()).toEqual([])
  })

  it('several nodes in one process report as one instance through monitor()', async () => {
    const collector = await startCollector()
    const a = await startApp('a')
    const b = await startApp('b')
    const options = { collector: collector.endpoint, role: 'multi', intervalMs: 50, heartbeatIntervalMs: 20 }
    const r1 = monitor(a.node, options)
    onTestFinished(() => {
      r1.destroy()
    })
    const r2 = monitor([b.node, b.sender], options)
    expect(r2).toBe(r1)
    const info = await until(() => {
      const all = collector.instances()
      return all.length === 1 && (all[0].report?.routes.length ?? 0) === 3 && all[0]
    }, 'one instance with three routes')
    expect(info.instance).toBe(`multi-${info.host}-${process.pid}`)
  })

  it('tracks the stats of a pool or bridge through track()', async () => {
    const collector = await startCollector()
    const reporter = new Reporter({ collector: collector.endpoint, role: 'pool', intervalMs: 50 })
    onTestFinished(() => {
      reporter.destroy()
    })
    let queued = 3
    const stop = reporter.track('pool:resize', () => ({ queued, workers: 4, label: 'not a number' }))
    reporter.track('broken', () => {
      throw new Error('a broken stats callback')
    })
    await reporter.start()
    const report = await until(() => collector.instances()[0]?.report, 'a report')
    expect(report.tracked).toEqual([{ name: 'pool:resize', values: { queued: 3, workers: 4 } }])
    queued = 5
    stop()
    expect(reporter.buildReport().tracked).toEqual([])
  })

  it('never waits on a collector that is not there: reports and heartbeats are dropped and counted', async () => {
    // A port nothing listens on: reserve one by starting and closing a collector.
    const gone = await startCollector()
    const address = gone.endpoint
    await gone.close()
    const { node, pull, push } = await startApp()
    const reporter = new Reporter({
      collector: address,
      role: 'api',
      intervalMs: 10,
      heartbeatIntervalMs: 10,
    })
    onTestFinished(() => {
      reporter.destroy()
    })
    reporter.add(node)
    await reporter.start()
    await until(() => reporter.stats.heartbeatsDropped > 0 && reporter.stats.reportsDropped > 0, 'drops')
    // The app's own traffic is not held up by the monitoring backlog.
    let got = 0
    pull.on('x', () => {
      got++
    })
    for (let i = 0; i < 50; i++) await push.send('x', i)
    await until(() => got === 50, 'the app traffic')
    // close() does not hang on the absent collector: it gives up after timeoutMs.
    await reporter.close({ timeoutMs: 100 })
    expect(reporter.state).toBe('closed')
  })

  it('a clean close says goodbye and the collector marks the instance left at once', async () => {
    const collector = await startCollector()
    const reporter = new Reporter({
      collector: collector.endpoint,
      role: 'api',
      instance: 'bye-1',
      intervalMs: 1000,
    })
    onTestFinished(() => {
      reporter.destroy()
    })
    await reporter.start()
    await until(() => collector.instance('bye-1')?.status === 'up', 'up')
    const left = new Promise((resolve) => collector.events.once('instance:left', resolve))
    const closing = reporter.close()
    expect(reporter.close()).toBe(closing)
    await closing
    await expect(left).resolves.toMatchObject({ instance: 'bye-1', previous: 'up' })
    expect(collector.instance('bye-1')?.status).toBe('left')
  })

  it('closes itself (goodbye) when every monitored node has closed, so it never keeps a process alive', async () => {
    const collector = await startCollector()
    const a = await startApp('a')
    const reporter = new Reporter({ collector: collector.endpoint, role: 'api', instance: 'auto-close' })
    onTestFinished(() => {
      reporter.destroy()
    })
    reporter.add(a.node).add(a.sender)
    await reporter.start()
    await until(() => collector.instance('auto-close')?.status === 'up', 'up')
    await a.node.close()
    expect(reporter.state).toBe('open')
    const left = new Promise((resolve) => collector.events.once('instance:left', resolve))
    await a.sender.close()
    await expect(left).resolves.toMatchObject({ instance: 'auto-close' })
    await until(() => reporter.state === 'closed', 'the reporter closed')
  })

  it('reads its options from the environment', () => {
    expect(optionsFromEnv({})).toBeUndefined()
    expect(
      optionsFromEnv({
        DRIPDROP_COLLECTOR: 'tcp://c:7100',
        DRIPDROP_ROLE: 'api',
        DRIPDROP_INSTANCE: 'api-7',
      }),
    ).toEqual({
      collector: 'tcp://c:7100',
      role: 'api',
      instance: 'api-7',
    })
  })

  it('validates its options once, with their path', () => {
    expect(() => new Reporter({ collector: 'http://x', role: 'a' })).toThrow(/options.collector/)
    expect(() => new Reporter({ collector: 'tcp://x:1', role: '' })).toThrow(/options.role/)
    expect(() => new Reporter({ collector: 'tcp://x:1', role: 'a', intervalMs: -1 })).toThrow(
      /options.intervalMs/,
    )
    expect(() => new Reporter({ collector: 'tcp://x:1', role: 'a', heartbeatMs: 1 } as never)).toThrow(
      /options.heartbeatMs/,
    )
  })

  it('builds reports that the collector validates', () => {
    const reporter = new Reporter({ collector: 'tcp://127.0.0.1:1', role: 'api' })
    onTestFinished(() => {
      reporter.destroy()
    })
    const report = reporter.buildReport()
    expect(validateMessage(MESSAGE.report, report, DEFAULT_LIMITS).type).toBe(MESSAGE.report)
    expect(reporter.buildReport().seq).toBe(report.seq + 1)
  })
})
