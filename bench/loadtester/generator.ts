/**
 * One load generator in its own process: `generator.ts <dripdrop|autocannon|rate|rss> <url> <arg> <ms>`.
 * Prints one JSON line with what it measured. CPU is this process's `process.cpuUsage()` over the load only
 * (module loading and warm-up excluded).
 *
 * - `dripdrop <url> <connections> <ms>`, `autocannon <url> <connections> <ms>`: closed model, responses and
 *   CPU µs.
 * - `rate <url> <req/s> <ms>`: dripdrop open model; scheduled, sent, responses, and the schedule lag histogram.
 * - `rss <url> <req/s> <ms>`: dripdrop open model; RSS sampled every second.
 */
import autocannon from 'autocannon'
import { LoadEngine, type Scenario } from '@dripdrop/loadtester'

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

if (tool === 'dripdrop' || tool === 'autocannon') {
  const run = tool === 'dripdrop' ? dripdropClosed : autocannonClosed
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
