/**
 * `pnpm bench loadtester-memory`: does the generator's memory stay flat over a long constant-rate run?
 *
 * dripdrop's engine and autocannon (its fixed-rate mode, `overallRate`) each run `BENCH_RSS_MS` (default
 * 120 000 ms, the 2 minutes) at `RATE` req/s with `CONNECTIONS` connections against the same bare
 * node:http target, one after the other, each in its own process. Each samples its own RSS and V8 heap used every
 * second. Printed per tool: the first quarter's average RSS, the last sample, the growth from one to the other
 * (target: within 10%), and heap used the same way. The ratio line compares the two growths.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { compare, section } from './harness.js'

const here = dirname(fileURLToPath(import.meta.url))
const MS = Number(process.env.BENCH_RSS_MS ?? 120_000)
const RATE = Number(process.env.BENCH_RSS_RATE ?? 2000)
const CONNECTIONS = 100

async function startTarget(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'loadtester', 'target-server.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
    child.once('exit', (code) => reject(new Error(`target exited with ${code}`)))
  })
  return { child, url: `http://127.0.0.1:${port}/` }
}

interface Samples {
  rss: number[]
  heapUsed: number[]
  responses: number
}

function generator(tool: string, url: string): Promise<Samples> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(here, 'loadtester-memory', 'generator.ts'),
        tool,
        url,
        String(RATE),
        String(MS),
        String(CONNECTIONS),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    child.stdout!.on('data', (d: Buffer) => (out += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), MS * 2 + 60_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      if (code !== 0) reject(new Error(`generator ${tool} exited with ${code}`))
      else resolve(JSON.parse(out.trim().split('\n').pop() as string) as Samples)
    })
  })
}

const mib = (b: number): string => (b / 2 ** 20).toFixed(1)

/**
 * First quarter's average (`base`, after warm-up), the last sample, the growth % from one to the other, and the
 * peak growth: the highest sample of the last three quarters over `base`. A leak shows in both; a fall (the
 * kernel reclaiming pages under memory pressure on a shared machine) shows as a negative growth, not a leak.
 */
function growth(xs: number[]): { base: number; last: number; pct: number; peakPct: number } {
  const q = Math.max(1, Math.floor(xs.length / 4))
  const quarter = xs.slice(0, q)
  const base = quarter.reduce((a, b) => a + b, 0) / quarter.length
  const last = xs[xs.length - 1] as number
  const peak = Math.max(...xs.slice(q))
  return { base, last, pct: ((last - base) / base) * 100, peakPct: ((peak - base) / base) * 100 }
}

section(
  `loadtester memory: RSS and heap over a ${MS / 1000} s run at ${RATE} req/s, ${CONNECTIONS} connections, sampled every second`,
)
const target = await startTarget()
try {
  const results: Record<string, ReturnType<typeof growth>> = {}
  for (const tool of ['dripdrop', 'autocannon']) {
    const s = await generator(tool, target.url)
    const rss = growth(s.rss)
    const heap = growth(s.heapUsed)
    results[tool] = rss
    console.log(
      `  ${tool.padEnd(10)} rss: first quarter avg ${mib(rss.base)} MiB, last ${mib(rss.last)} MiB, growth ${rss.pct.toFixed(1)}% (peak ${rss.peakPct.toFixed(1)}%)` +
        `  heap used: first quarter avg ${mib(heap.base)} MiB, last ${mib(heap.last)} MiB, growth ${heap.pct.toFixed(1)}%` +
        `  (${s.rss.length} samples, ${s.responses} responses)`,
    )
    console.log(
      `    rss MiB each 10 s: ${s.rss
        .filter((_x, i) => i % 10 === 0)
        .map(mib)
        .join(' ')}`,
    )
    console.log(
      `  ${tool} rss flat within 10% (the issue's target; growth and peak growth <= 10%): ${rss.pct <= 10 && rss.peakPct <= 10 ? 'met' : 'MISSED'}`,
    )
    console.log(
      JSON.stringify({
        bench: `loadtester.memory.${tool}`,
        unit: 'MiB',
        rssFirstQuarter: Number(mib(rss.base)),
        rssLast: Number(mib(rss.last)),
        rssGrowthPct: Math.round(rss.pct * 10) / 10,
        rssPeakGrowthPct: Math.round(rss.peakPct * 10) / 10,
        heapFirstQuarter: Number(mib(heap.base)),
        heapLast: Number(mib(heap.last)),
        heapGrowthPct: Math.round(heap.pct * 10) / 10,
        responses: s.responses,
      }),
    )
  }
  const dd = results.dripdrop as ReturnType<typeof growth>
  const ac = results.autocannon as ReturnType<typeof growth>
  // Lower is better for both figures: the last RSS (absolute footprint) compared directly.
  compare({
    bench: 'loadtester.memory.rss_last',
    unit: 'MiB',
    dripdrop: dd.last / 2 ** 20,
    peer: 'autocannon',
    peerValue: ac.last / 2 ** 20,
    better: 'lower',
  })
  console.log(
    `loadtester.memory.rss_growth                dripdrop ${dd.pct.toFixed(1)}% (peak ${dd.peakPct.toFixed(1)}%)  autocannon ${ac.pct.toFixed(1)}% (peak ${ac.peakPct.toFixed(1)}%)  (target: dripdrop within 10%: ${dd.pct <= 10 && dd.peakPct <= 10 ? 'met' : 'MISSED'})`,
  )
} finally {
  target.child.kill('SIGTERM')
}
