/**
 * One load generator in its own process: `generator.ts <dripdrop|autocannon|rate|rss> <url> <arg> <ms>`.
 * Prints one JSON line with what it measured. CPU is this process's `process.cpuUsage()` over the load only
 * (module loading and warm-up excluded).
 *
 * - `dripdrop <url> <connections> <ms>`, `autocannon <url> <connections> <ms>`: closed model, responses and
 *   CPU µs. `undici` is the floor under the engine: a bare undici Pool dispatch loop with a no-op handler, to
 *   tell the engine's own cost from its HTTP client's.
 * - `rate <url> <req/s> <ms>`: dripdrop open model; scheduled, sent, responses, and the schedule lag histogram.
 * - `rss <url> <req/s> <ms>`: dripdrop open model; RSS sampled every second.
 */
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

if (tool === 'dripdrop' || tool === 'autocannon' || tool === 'undici') {
  const run = tool === 'dripdrop' ? dripdropClosed : tool === 'undici' ? undiciClosed : autocannonClosed
  await run(n, 500) // warm-up: JIT and connections
  const cpu0 = process.cpuUsage()
  const responses = await run(n, ms)
  const cpu = process.cpuUsage(cpu0)
  console.log(JSON.stringify({ responses, cpuUs: cpu.user + cpu.system }))
} else if (tool === 'rate') {
  const e = new LoadEngine({ scenario, rate: n, durationMs: ms, connections: 200 })
  const r = await e.run()
  const lag = r.totals.lag
  const c = r.totals.counters
  console.log(
    JSON.stringify({
      scheduled: c.sent + c.notSent,
      sent: c.sent,
      responses: c.responses,
      durationMs: r.durationMs,
      lag: lag.outputPercentileDistribution(1, 1000),
      lagP: [50, 90, 99, 99.9, 100].map((p) => lag.getValueAtPercentile(p)),
    }),
  )
} else if (tool === 'rss') {
  const e = new LoadEngine({ scenario, rate: n, durationMs: ms, connections: 200 })
  const rss: number[] = []
  e.events.on('engine:interval', () => rss.push(process.memoryUsage().rss))
  const r = await e.run()
  console.log(JSON.stringify({ rss, responses: r.totals.counters.responses }))
} else {
  console.error(`unknown tool ${tool}`)
  process.exit(2)
}
