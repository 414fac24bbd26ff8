import { describe, expect, it, onTestFinished } from 'vitest'
import {
  decodeHistogram,
  type IntervalStats,
  LoadEngine,
  type LoadEngineOptions,
  type Scenario,
  StatsAccumulator,
} from '../src/index.js'
import { CERT, refusedPort, startTarget } from './target.js'

const GET: Scenario = { kind: 'requests', requests: [{ url: '/' }] }

function engine(options: LoadEngineOptions): LoadEngine {
  const e = new LoadEngine(options)
  onTestFinished(() => {
    e.destroy()
  })
  return e
}

/** Samples of a histogram above `us`, found from its percentiles. */
function countAbove(encoded: string, us: number): number {
  const h = decodeHistogram(encoded)
  let lo = 0
  let hi = h.totalCount
  // The smallest k such that the k-th largest sample is <= us.
  while (lo < hi) {
    const k = (lo + hi) >> 1
    const v = h.getValueAtPercentile(100 * (1 - (k + 0.5) / h.totalCount))
    if (v > us) lo = k + 1
    else hi = k
  }
  return lo
}

describe('LoadEngine, open model', () => {
  it('a scenario function slower than the schedule does not hold the event loop: timers run during the run', async () => {
    const target = await startTarget()
    // 3 ms of busy work per request at 1,000 req/s: the schedule is always behind. The engine must still yield
    // between wake-ups so heartbeats and reports (here: a 20 ms interval timer) keep running.
    const slow: Scenario = {
      kind: 'module',
      factory: () => {
        const until = performance.now() + 3
        while (performance.now() < until);
        return { path: '/' }
      },
    }
    const e = engine({ target: target.url, scenario: slow, rate: 1000, durationMs: 1000, intervalMs: 250 })
    let ticks = 0
    const timer = setInterval(() => ticks++, 20)
    const r = await e.run()
    clearInterval(timer)
    // Without yielding, the whole 1 s schedule runs in one wake-up and the timer fires ~0 times before it ends.
    expect(ticks).toBeGreaterThanOrEqual(5)
    const c = r.totals.counters
    expect(c.sent + c.notSent).toBe(1000)
  })

  it('schedules exactly rate × duration requests and sends them (counts, not wall time)', async () => {
    const target = await startTarget()
    const e = engine({ target: target.url, scenario: GET, rate: 200, durationMs: 2000, intervalMs: 500 })
    const deltas: IntervalStats[] = []
    e.events.on('engine:interval', (d) => deltas.push(d))
    const r = await e.run()
    const c = r.totals.counters
    // Every scheduled request is either sent or shown as not sent: never silently lost.
    expect(c.sent + c.notSent).toBe(400)
    expect(c.sent).toBeGreaterThanOrEqual(380)
    expect(
      c.responses + c.errors.refused + c.errors.reset + c.errors.timeout + c.errors.tls + c.errors.other,
    ).toBe(c.sent)
    expect(c.statuses['200']).toBe(c.responses)
    expect(target.count()).toBe(c.sent)
    // The per-interval deltas add up to the totals.
    const acc = new StatsAccumulator()
    for (const d of deltas) acc.add(d)
    expect(acc.counters).toEqual(c)
    expect(acc.latency.totalCount).toBe(c.responses)
    expect(r.series.length).toBe(deltas.length)
  })

  it('measures latency from the intended send time: a 500 ms stall shows in latency, not in service time', async () => {
    const target = await startTarget((n, _req, res) => {
      if (n === 100) setTimeout(() => res.end('late'), 500)
      else res.end('ok')
    })
    // One connection: every request due during the stall waits behind it, as a real client's would.
    const e = engine({ target: target.url, scenario: GET, rate: 100, durationMs: 3000, connections: 1 })
    const r = await e.run()
    const total = r.totals.toInterval()
    expect(total.counters.responses).toBeGreaterThanOrEqual(280)
    // ~50 requests fall due in the 500 ms; about half of them wait more than 250 ms.
    expect(countAbove(total.latency, 250_000)).toBeGreaterThanOrEqual(15)
    expect(r.totals.latency.maxValue).toBeGreaterThanOrEqual(480_000)
    // From the actual send, only the stalled request itself is slow.
    expect(countAbove(total.service, 250_000)).toBeLessThanOrEqual(2)
    expect(r.totals.service.maxValue).toBeGreaterThanOrEqual(480_000)
  })

  it('counts requests that found no free connection and no room in the backlog as not sent', async () => {
    const target = await startTarget((_n, _req, res) => {
      setTimeout(() => res.end('slow'), 300)
    })
    const e = engine({
      target: target.url,
      scenario: GET,
      rate: 200,
      durationMs: 1000,
      connections: 2,
      highWaterMark: 10,
      timeoutMs: 2000,
    })
    const r = await e.run()
    const c = r.totals.counters
    expect(c.sent + c.notSent).toBe(200)
    // Two connections at 300 ms each serve far fewer than 200 in a second: most are shown as not sent.
    expect(c.notSent).toBeGreaterThan(150)
    expect(c.responses).toBe(c.sent)
  })
})

describe('LoadEngine, closed model', () => {
  it('keeps connections × pipelining requests in flight and stops at maxRequests', async () => {
    let concurrent = 0
    let peak = 0
    const target = await startTarget((_n, _req, res) => {
      concurrent++
      peak = Math.max(peak, concurrent)
      setTimeout(() => {
        concurrent--
        res.end('ok')
      }, 5)
    })
    const e = engine({
      target: target.url,
      scenario: GET,
      connections: 4,
      maxRequests: 200,
      durationMs: 20_000,
    })
    const r = await e.run()
    expect(r.totals.counters.responses).toBe(200)
    expect(r.totals.counters.sent).toBe(200)
    expect(peak).toBe(4)
    expect(r.model).toBe('closed')
  })

  it('pipelines requests on one connection', async () => {
    const target = await startTarget()
    const e = engine({ target: target.url, scenario: GET, connections: 1, pipelining: 4, maxRequests: 100 })
    const r = await e.run()
    expect(r.totals.counters.statuses['200']).toBe(100)
  })
})

describe('LoadEngine, errors by kind', () => {
  it('a refused port counts refused errors, no responses', async () => {
    const port = await refusedPort()
    const e = engine({ target: `http://127.0.0.1:${port}`, scenario: GET, connections: 2, maxRequests: 20 })
    const r = await e.run()
    expect(r.totals.counters.errors.refused).toBe(20)
    expect(r.totals.counters.responses).toBe(0)
  })

  it('a connection reset mid-request counts as reset', async () => {
    const target = await startTarget((n, req, res) => {
      if (n % 2 === 0) req.socket.destroy()
      else res.end('ok')
    })
    const e = engine({ target: target.url, scenario: GET, connections: 1, maxRequests: 20 })
    const r = await e.run()
    const c = r.totals.counters
    expect(c.errors.reset).toBeGreaterThanOrEqual(5)
    expect(c.responses + c.errors.reset).toBe(20)
    expect(c.errors.other).toBe(0)
  })

  it('a server that never answers counts timeouts after timeoutMs', async () => {
    const target = await startTarget(() => {})
    const e = engine({ target: target.url, scenario: GET, connections: 3, maxRequests: 3, timeoutMs: 200 })
    const r = await e.run()
    expect(r.totals.counters.errors.timeout).toBe(3)
    expect(r.totals.counters.responses).toBe(0)
  })

  it('an HTTPS target with an unknown CA counts TLS errors; with the CA given it answers', async () => {
    const target = await startTarget(undefined, { tls: true })
    const bad = engine({ target: target.url, scenario: GET, connections: 1, maxRequests: 3 })
    const r1 = await bad.run()
    expect(r1.totals.counters.errors.tls).toBe(3)
    const good = engine({ target: target.url, scenario: GET, connections: 1, maxRequests: 3, ca: CERT })
    const r2 = await good.run()
    expect(r2.totals.counters.statuses['200']).toBe(3)
  })
})

describe('LoadEngine lifecycle and options', () => {
  it('close() stops early, drains and returns the same promise', async () => {
    const target = await startTarget()
    const e = engine({ target: target.url, scenario: GET, rate: 100, durationMs: 60_000 })
    await e.start()
    expect(e.state).toBe('open')
    const first = new Promise<void>((resolve) => e.events.once('engine:interval', () => resolve()))
    await first
    const a = e.close()
    expect(e.close()).toBe(a)
    await a
    expect(e.state).toBe('closed')
    const r = await e.finished
    expect(r.totals.counters.sent).toBeLessThan(6000)
    expect(r.totals.counters.responses).toBe(r.totals.counters.sent)
  })

  it('destroy() stops at once and counts what was in flight', async () => {
    const target = await startTarget(() => {}) // never answers
    const e = engine({ target: target.url, scenario: GET, connections: 3, durationMs: 60_000 })
    await e.start()
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (target.count() === 3) resolve()
        else setTimeout(check, 10)
      }
      check()
    })
    expect(e.destroy()).toBe(3)
    expect(e.state).toBe('closed')
    const r = await e.finished
    expect(r.abandoned).toBe(3)
    expect(r.totals.counters.responses).toBe(0)
    expect(e.destroy()).toBe(0)
  })

  it('a scenario function that throws is counted, reported once, and the run goes on', async () => {
    const target = await startTarget()
    const e = engine({
      target: target.url,
      scenario: {
        kind: 'module',
        factory: ({ iteration }) => {
          if (iteration % 2 === 1) throw new Error(`bad ${iteration}`)
          return { path: `/${iteration}` }
        },
      },
      connections: 1,
      maxRequests: 20,
    })
    const errors: unknown[] = []
    e.events.on('engine:error', ({ error }) => errors.push(error))
    const r = await e.run()
    expect(errors).toHaveLength(1)
    expect(r.totals.names.get('(scenario)')?.counters.errors.other).toBeGreaterThanOrEqual(9)
    expect(r.totals.counters.responses).toBeGreaterThanOrEqual(9)
    expect(r.totals.counters.errors.other + r.totals.counters.responses).toBe(20)
  })

  it('bounds the backlog in bytes too', async () => {
    const target = await startTarget((_n, _req, res) => {
      setTimeout(() => res.end('slow'), 300)
    })
    const body = 'x'.repeat(1000)
    const e = engine({
      target: target.url,
      scenario: { kind: 'requests', requests: [{ url: '/', method: 'POST', body }] },
      rate: 100,
      durationMs: 500,
      connections: 1,
      maxQueueBytes: 5 * 1010,
      timeoutMs: 2000,
    })
    const r = await e.run()
    const c = r.totals.counters
    expect(c.sent + c.notSent).toBe(50)
    // One in flight, at most 5 waiting (each ~1 KB), within 500 ms of 300 ms answers: at most ~8 sent.
    expect(c.sent).toBeLessThanOrEqual(10)
    expect(c.notSent).toBeGreaterThanOrEqual(40)
  })

  it('close() before startAt resolves start() and runs nothing', async () => {
    const target = await startTarget()
    const e = engine({
      target: target.url,
      scenario: GET,
      rate: 50,
      durationMs: 200,
      startAt: Date.now() + 60_000,
    })
    const started = e.start()
    await e.close()
    await started
    expect(e.state).toBe('closed')
    expect(target.count()).toBe(0)
  })

  it('starts at startAt', async () => {
    const target = await startTarget()
    const startAt = Date.now() + 300
    const e = engine({ target: target.url, scenario: GET, rate: 50, durationMs: 200, startAt })
    const started = new Promise<number>((resolve) =>
      e.events.once('engine:start', ({ startMs }) => resolve(startMs)),
    )
    await e.run()
    expect(await started).toBeGreaterThanOrEqual(startAt - 2)
  })

  it('refuses bad options naming the option', () => {
    expect(() => new LoadEngine({ scenario: GET, target: 'http://x', rate: -1 })).toThrow('options.rate')
    expect(() => new LoadEngine({ scenario: GET, target: 'http://x', connections: 0 })).toThrow(
      'options.connections',
    )
    expect(() => new LoadEngine({ scenario: GET, target: 'http://x', rps: 5 } as never)).toThrow(
      'options.rps is not an option',
    )
    expect(() => new LoadEngine({ scenario: GET })).toThrow('no target')
  })
})
