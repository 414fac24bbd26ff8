/**
 * One load generator in its own process: `generator.ts <tool> <url> <arg> <ms>`.
 * Prints one JSON line with what it measured. CPU is this process's `process.cpuUsage()` over the load only
 * (module loading and warm-up excluded).
 *
 * - `dripdrop <url> <connections> <ms>`, `autocannon <url> <connections> <ms>`: closed model, responses and
 *   CPU µs. `undici` is the floor under the engine: a bare undici Pool dispatch loop with a no-op handler, to
 *   tell the engine's own cost from its HTTP client's.
 * - `dripdrop-undici`: the engine with `client: 'undici'` (what HTTPS targets and scenario functions use).
 * - `rate <url> <req/s> <ms>` (`rate-undici`): dripdrop open model; scheduled, sent, the rate achieved within
 *   the scheduled window, and the schedule lag histogram.
 * - `rss <url> <req/s> <ms>`: dripdrop open model; RSS sampled every second.
 *
 * `BENCH_CPU_PROF=file.cpuprofile` writes a V8 CPU profile of the measured run (closed-model tools).
 */
import { writeFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { Session } from 'node:inspector/promises'
import { LoadEngine, type Scenario } from '@dripdrop/loadtester'
import autocannon from 'autocannon'
import { Pool } from 'undici'

const [tool, url, arg, msText] = process.argv.slice(2) as [string, string, string, string]
const ms = Number(msText)
const n = Number(arg)
const scenario: Scenario = { kind: 'requests', requests: [{ url }] }

async function dripdropClosed(connections: number, durationMs: number) {
  const e = new LoadEngine({ scenario, connections, durationMs })
  const r = await e.run()
  return r.totals.counters.responses
}

async function dripdropUndiciClosed(connections: number, durationMs: number) {
  const e = new LoadEngine({ scenario, connections, durationMs, client: 'undici' })
  const r = await e.run()
  return r.totals.counters.responses
}

/** `BENCH_CPU_PROF=file.cpuprofile`: a V8 CPU profile of the measured run only (not loading nor warm-up). */
async function profiled<T>(fn: () => Promise<T>): Promise<T> {
  const file = process.env.BENCH_CPU_PROF
  if (file === undefined || file === '') return fn()
  const session = new Session()
  session.connect()
  await session.post('Profiler.enable')
  await session.post('Profiler.start')
  const r = await fn()
  const { profile } = await session.post('Profiler.stop')
  writeFileSync(file, JSON.stringify(profile))
  session.disconnect()
  return r
}

async function autocannonClosed(connections: number, durationMs: number) {
  const r = await autocannon({ url, connections, duration: durationMs / 1000 })
  return (r['2xx'] as number) + (r.non2xx as number)
}

async function undiciClosed(connections: number, durationMs: number) {
  const origin = new URL(url).origin
  const pool = new Pool(origin, { connections })
  let responses = 0
  const end = performance.now() + durationMs
  await new Promise<void>((resolve) => {
    let live = connections
    const options = { origin, path: new URL(url).pathname, method: 'GET' as const, headers: {}, body: null }
    const handler = {
      onRequestStart() {},
      onResponseStart() {},
      onResponseData() {},
      onResponseEnd() {
        responses++
        if (performance.now() < end) pool.dispatch(options, handler)
        else if (--live === 0) resolve()
      },
      onResponseError() {
        if (--live === 0) resolve()
      },
    }
    for (let i = 0; i < connections; i++) pool.dispatch(options, handler)
  })
  await pool.close()
  return responses
}

const closed: Record<string, (connections: number, durationMs: number) => Promise<number>> = {
  dripdrop: dripdropClosed,
  'dripdrop-undici': dripdropUndiciClosed,
  autocannon: autocannonClosed,
  undici: undiciClosed,
}

const run = closed[tool]
if (run !== undefined) {
  await run(n, 500) // warm-up: JIT and connections
  const cpu0 = process.cpuUsage()
  const responses = await profiled(() => run(n, ms))
  const cpu = process.cpuUsage(cpu0)
  console.log(JSON.stringify({ responses, cpuUs: cpu.user + cpu.system }))
} else if (tool === 'rate' || tool === 'rate-undici') {
  const client = tool === 'rate' ? 'auto' : 'undici'
  // Warm-up at the same rate (JIT, connections), then the measured run.
  await new LoadEngine({ scenario, rate: n, durationMs: 500, connections: 200, client }).run()
  const e = new LoadEngine({ scenario, rate: n, durationMs: ms, connections: 200, client, intervalMs: 250 })
  const cpu0 = process.cpuUsage()
  const wall0 = performance.now()
  const r = await e.run()
  const cpu = process.cpuUsage(cpu0)
  // The share of one core this process got: with a busy machine, a low share means the generator was starved.
  const cpuShare = (cpu.user + cpu.system) / 1000 / (performance.now() - wall0)
  const lag = r.totals.lag
  const c = r.totals.counters
  // Achieved rate: requests actually written within the scheduled window (the intervals it covers), per second.
  const inWindow = r.series.filter((p) => (p.index + 1) * 250 <= r.durationMs)
  const sentInWindow = inWindow.reduce((a, p) => a + p.sent, 0)
  console.log(
    JSON.stringify({
      client: e.client,
      cpuShare,
      loadAverage: loadavg()[0],
      scheduled: c.sent + c.notSent,
      sent: c.sent,
      responses: c.responses,
      durationMs: r.durationMs,
      achieved: (sentInWindow * 1000) / (inWindow.length * 250),
      lag: lag.outputPercentileDistribution(1, 1000),
      lagP: [50, 90, 99, 99.9].map((p) => lag.getValueAtPercentile(p)).concat(lag.maxValue),
    }),
  )
} else if (tool === 'rss') {
  // Kept for the memory benchmark: RSS sampled at every interval of an open-model run.
  const e = new LoadEngine({ scenario, rate: n, durationMs: ms, connections: 200 })
  const rss: number[] = []
  e.events.on('engine:interval', () => rss.push(process.memoryUsage().rss))
  const r = await e.run()
  console.log(JSON.stringify({ rss, responses: r.totals.counters.responses }))
} else {
  console.error(`unknown tool ${tool}`)
  process.exit(2)
}
