/**
 * `pnpm bench loadtester`: the @dripdrop/loadtester engine as a load generator.
 *
 * 1. Generator CPU per request (CPU µs of the generator process / responses), closed model, same target
 *    process, same connections, each generator in its own process: dripdrop (its fast client, what `client:
 *    'auto'` picks for a plain-http static scenario) vs autocannon (target: dripdrop <= 0.75x autocannon's CPU per
 *    request, printed as ratio >= 1.33) and vs wrk (Debian `wrk -t1`; target <= 1.25x, ratio >= 0.8). The engine
 *    on undici (`client: 'undici'`, what HTTPS targets and scenario functions use) is measured beside them.
 *    Interleaved rounds (the order alternates), median of each side.
 * 2. Constant-rate accuracy at 1k, 5k and 10k req/s: the rate achieved within the scheduled window (requests
 *    written in the intervals the schedule covers) over the requested rate (target >= 0.99), and the schedule
 *    lag (actual − intended send) p50/p99/max and histogram, for the fast client and for undici. The target
 *    there is `raw-target.ts` (canned responses, a few µs each), so that what is measured is the generator's
 *    schedule rather than node:http's capacity on a shared machine.
 *
 * Memory (RSS over a 2-minute run) is `pnpm bench loadtester-memory`. Every run is bounded in time (`BENCH_MS`,
 * default 2000 ms per measurement; `BENCH_ROUNDS`, default 5).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { compare, measure, section } from './harness.js'

const here = dirname(fileURLToPath(import.meta.url))
const MS = Number(process.env.BENCH_MS ?? 2000)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5)
const CONNECTIONS = 10

async function startTarget(script = 'target-server.ts'): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'loadtester', script)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
    child.once('exit', (code) => reject(new Error(`target exited with ${code}`)))
  })
  return { child, url: `http://127.0.0.1:${port}/` }
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  await exited
}

function generator(tool: string, url: string, arg: number, ms: number): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(here, 'loadtester', 'generator.ts'), tool, url, String(arg), String(ms)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    child.stdout!.on('data', (d: Buffer) => (out += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), ms * 3 + 60_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      if (code !== 0) reject(new Error(`generator ${tool} exited with ${code}`))
      else resolve(JSON.parse(out.trim().split('\n').pop() as string))
    })
  })
}

/** wrk's CPU: run it under a shell that prints its waited-for children's CPU (cutime + cstime, in ticks). */
function wrk(url: string, connections: number, ms: number): { responses: number; cpuUs: number } {
  const tick = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim())
  const out = execFileSync(
    'sh',
    ['-c', `wrk -t1 -c${connections} -d${Math.max(1, Math.round(ms / 1000))}s ${url} && cat /proc/$$/stat`],
    { encoding: 'utf8' },
  )
  const responses = Number(/(\d+) requests in/.exec(out)?.[1] ?? Number.NaN)
  const stat = (out.trim().split('\n').pop() as string).split(') ')[1]?.split(' ') ?? []
  // Fields after the command name: state is index 0, so utime/stime/cutime/cstime are 11..14.
  const cpuTicks = Number(stat[13]) + Number(stat[14])
  return { responses, cpuUs: (cpuTicks * 1_000_000) / tick }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

const target = await startTarget()
try {
  section(
    `loadtester: generator CPU per request (closed model, ${CONNECTIONS} connections, no pipelining, ${MS} ms, median of ${ROUNDS})`,
  )
  const tools = ['dripdrop', 'autocannon', 'dripdrop-undici'] as const
  const cpu: Record<string, number[]> = { dripdrop: [], autocannon: [], 'dripdrop-undici': [], wrk: [] }
  const haveWrk = existsSync('/usr/bin/wrk') || existsSync('/usr/local/bin/wrk')
  for (let round = 0; round < ROUNDS; round++) {
    const order: string[] = round % 2 === 0 ? [...tools] : [...tools].reverse()
    if (haveWrk) order.splice(round % (order.length + 1), 0, 'wrk')
    for (const tool of order) {
      const r =
        tool === 'wrk'
          ? wrk(target.url, CONNECTIONS, MS)
          : ((await generator(tool, target.url, CONNECTIONS, MS)) as { responses: number; cpuUs: number })
      cpu[tool]?.push(r.cpuUs / r.responses)
    }
  }
  const dd = median(cpu.dripdrop as number[])
  for (const [tool, xs] of Object.entries(cpu))
    if (xs.length > 0) console.log(`  ${tool} µs/req by round: ${xs.map((x) => x.toFixed(1)).join(' ')}`)
  // Paired by round (the two ran within seconds of each other): steadier than the ratio of medians on a
  // shared machine whose load drifts.
  const paired = (peer: string): string =>
    median((cpu[peer] as number[]).map((p, i) => p / (cpu.dripdrop as number[])[i]!)).toFixed(2)
  console.log(
    `  median of per-round ratios: autocannon ${paired('autocannon')}${haveWrk ? `  wrk ${paired('wrk')}` : ''}  dripdrop-on-undici ${paired('dripdrop-undici')}`,
  )
  compare({
    bench: 'loadtester.cpu-per-request.autocannon',
    unit: 'µs/req',
    dripdrop: dd,
    peer: 'autocannon',
    peerValue: median(cpu.autocannon as number[]),
    better: 'lower',
    target: 1.33,
  })
  if (haveWrk)
    compare({
      bench: 'loadtester.cpu-per-request.wrk',
      unit: 'µs/req',
      dripdrop: dd,
      peer: 'wrk',
      peerValue: median(cpu.wrk as number[]),
      better: 'lower',
      target: 0.8,
    })
  else console.log('loadtester.cpu-per-request.wrk: wrk not installed (apt-get install -y wrk); skipped')
  // Not a target: the engine's fast client against the same engine on undici (HTTPS, scenario functions).
  compare({
    bench: 'loadtester.cpu-per-request.undici-client',
    unit: 'µs/req',
    dripdrop: dd,
    peer: 'dripdrop-on-undici',
    peerValue: median(cpu['dripdrop-undici'] as number[]),
    better: 'lower',
  })
} finally {
  await stop(target.child)
}

// The generator's schedule, not the target's capacity: a raw canned-response target (a few µs per request) that
// a shared 2-core machine can run at 10k req/s beside the generator.
const raw = await startTarget('raw-target.ts')
try {
  section(`loadtester: constant-rate accuracy (${MS} ms each, 200 connections, raw target)`)
  for (const rate of [1000, 5000, 10_000])
    for (const tool of ['rate', 'rate-undici']) {
      const r = (await generator(tool, raw.url, rate, MS)) as {
        client: string
        cpuShare: number
        loadAverage: number
        scheduled: number
        sent: number
        achieved: number
        lagP: number[]
        lag: string
      }
      measure({
        bench: `loadtester.rate-accuracy.${r.client}.${rate}`,
        unit: 'achieved/requested',
        dripdrop: r.achieved / rate,
        target: 0.99,
      })
      const [p50, p90, p99, p999, max] = r.lagP.map((us) => (us / 1000).toFixed(2))
      console.log(
        `  ${r.client}: achieved ${Math.round(r.achieved)} req/s of ${rate} (sent ${r.sent} of ${r.scheduled} scheduled); schedule lag ms p50 ${p50} p99 ${p99} max ${max} (p90 ${p90}, p99.9 ${p999}); generator CPU ${Math.round(r.cpuShare * 100)}% of a core, load average ${r.loadAverage.toFixed(1)} on ${availableParallelism()} cores`,
      )
      console.log(
        r.lag
          .split('\n')
          .filter((l) => /^\s+\d/.test(l))
          .filter((_l, i, a) => i % Math.max(1, Math.floor(a.length / 8)) === 0 || i === a.length - 1)
          .map((l) => `    ${l.trim()}`)
          .join('\n'),
      )
    }
} finally {
  await stop(raw.child)
}
