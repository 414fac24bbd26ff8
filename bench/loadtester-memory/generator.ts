/**
 * One generator of the memory benchmark in its own process:
 * `generator.ts <dripdrop|autocannon> <url> <req/s> <ms> <connections>`. Runs a constant-rate load and samples its
 * own RSS and V8 heap used every second (from a timer of the same process, so both tools are sampled alike),
 * then prints one JSON line: `{ rss: number[], heapUsed: number[], responses }` (bytes).
 */
import { LoadEngine } from '@dripdrop/loadtester'
import autocannon from 'autocannon'

const [tool, url, rateText, msText, connText] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
]
const rate = Number(rateText)
const ms = Number(msText)
const connections = Number(connText)
const rss: number[] = []
const heapUsed: number[] = []
const sampler = setInterval(() => {
  const m = process.memoryUsage()
  rss.push(m.rss)
  heapUsed.push(m.heapUsed)
}, 1000)

let responses = 0
if (tool === 'dripdrop') {
  const engine = new LoadEngine({
    scenario: { kind: 'requests', requests: [{ url }] },
    rate,
    durationMs: ms,
    connections,
  })
  responses = (await engine.run()).totals.counters.responses
} else if (tool === 'autocannon') {
  // autocannon's fixed-rate mode: `overallRate` requests per second across all connections.
  const r = await autocannon({ url, connections, overallRate: rate, duration: ms / 1000 })
  responses = (r['2xx'] as number) + (r.non2xx as number)
} else {
  console.error(`unknown tool ${tool}`)
  process.exit(2)
}
clearInterval(sampler)
console.log(JSON.stringify({ rss, heapUsed, responses }))
