/**
 * @dripdrop/monitor benchmarks, each comparison in one run (the far sides are bench/monitor/child.ts):
 *
 * 1. overhead: zmq push -> pull and req/rep at concurrency 100 across 2 processes, with monitoring on (both
 *    processes report every 1 s with heartbeats every 250 ms to a collector in a third process) vs off.
 *    8 short rounds alternate off/on (ABBA) after a warm-up; medians are printed, and the median of the
 *    paired on/off ratios of adjacent runs (which cancels slow load drift). Target >= 0.97x.
 * 2. collector scale: simulated reporters for 1,000 instances x 20 routes at 1 Hz (+ 4,000 heartbeats/s)
 *    into a collector in this process, embedded store and Redis: CPU of this process as % of one core and
 *    per report, against the budget (50% embedded, 100% Redis; ratio = budget / used, >= 1 met).
 * 3. detection latency: 24 monitored processes SIGKILLed one by one; time from kill to `instance:down`,
 *    p50/p99 (target p99 <= 1.5 s).
 * 4. saturation (only when named: `monitor.bench.ts saturation [seconds]`): 10 reporters while 2 busy
 *    loops saturate both cores; counts false `down`s (target 0).
 *
 * Run: node --import tsx bench/monitor.bench.ts [overhead|scale|detect|saturation]   (or `pnpm bench monitor`).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Node } from '../packages/core/dist/index.js'
import { Collector, RedisStore, Reporter } from '../packages/monitor/dist/index.js'
import { zmqTransport } from '../packages/zmq/dist/index.js'
import { closedLoop, compare, measure, section } from './harness.js'

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'monitor/child.ts')
const MS = 1500
const ROUNDS = 8
/** Shorter runs, more of them, alternating: load from elsewhere on the machine drifts slower than a round. */
const OVERHEAD_MS = 700
const BODY = new Uint8Array(100).fill(7)
const children = new Set<ChildProcess>()
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

interface Child {
  proc: ChildProcess
  ready: { endpoint?: string }
  ask<T>(cmd: string, arg?: string): Promise<T>
  next<T>(): Promise<T>
}

async function child(role: string, ...args: string[]): Promise<Child> {
  const proc = fork(CHILD, [role, ...args], { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
  children.add(proc)
  proc.once('exit', () => children.delete(proc))
  const waiting: ((m: any) => void)[] = []
  const ready = await new Promise<{ endpoint?: string }>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)))
    proc.on('message', (m: any) => {
      if (m.ready) resolve(m)
      else waiting.shift()?.(m)
    })
  })
  return {
    proc,
    ready,
    ask: <T>(cmd: string, arg?: string) =>
      new Promise<T>((resolve) => {
        waiting.push(resolve)
        proc.send({ cmd, arg })
      }),
    next: <T>() => new Promise<T>((resolve) => waiting.push(resolve)),
  }
}

function kill(c: Child | ChildProcess): Promise<void> {
  const proc = 'proc' in c ? c.proc : c
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve()
  const exited = new Promise<void>((r) => proc.once('exit', () => r()))
  proc.kill('SIGKILL')
  return exited
}

async function overhead(): Promise<void> {
  section(
    'monitoring overhead: zmq across 2 processes, monitoring on (1 s reports, 250 ms heartbeats) vs off; 8 alternating rounds',
  )
  const collector = await child('collector')
  const pull = await child('dd-pull')
  const rep = await child('dd-rep')
  const node = new Node({ name: 'bench', transports: [zmqTransport()] })
  const push = node.route('out', { type: 'push', connect: pull.ready.endpoint! })
  const req = node.route('svc', { type: 'req', connect: rep.ready.endpoint!, timeoutMs: 30_000 })
  await node.start()
  let reporter: Reporter | undefined
  const setMonitoring = async (on: boolean) => {
    if (on) {
      reporter = new Reporter({ collector: collector.ready.endpoint!, role: 'bench' })
      reporter.add(node)
      await reporter.start()
    } else {
      await reporter?.close({ timeoutMs: 200 })
      reporter = undefined
    }
    for (const c of [pull, rep]) await c.ask(on ? 'mon-on' : 'mon-off', collector.ready.endpoint)
    // Steady state is what is compared: starting a reporter (connect, first report) is a one-time cost.
    await sleep(300)
  }
  const oneWay = async (): Promise<number> => {
    await pull.ask('reset')
    let sent = 0
    const end = performance.now() + OVERHEAD_MS
    while (sent < 5_000_000 && (sent & 1023 || performance.now() < end)) {
      await push.send('m', BODY)
      sent++
    }
    const deadline = performance.now() + 30_000
    for (;;) {
      const r = await pull.ask<{ count: number; elapsedMs: number }>('report')
      if (r.count >= sent || performance.now() > deadline) return (r.count * 1000) / r.elapsedMs
      await sleep(20)
    }
  }
  const body = { s: 'x'.repeat(100) }
  const results = {
    push: { off: [] as number[], on: [] as number[] },
    req: { off: [] as number[], on: [] as number[] },
  }
  // Warm-up (JIT, socket buffers), not counted: otherwise the first mode measured pays for it.
  await oneWay()
  await closedLoop(() => req.request('echo', body), 100, MS)
  for (let round = 0; round < ROUNDS; round++) {
    for (const mode of round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
      await setMonitoring(mode === 'on')
      results.push[mode].push(await oneWay())
      results.req[mode].push((await closedLoop(() => req.request('echo', body), 100, OVERHEAD_MS)).rate)
    }
  }
  await setMonitoring(false)
  const paired = (r: { on: number[]; off: number[] }) => median(r.on.map((on, i) => on / r.off[i]))
  compare({
    bench: 'monitor.overhead.zmq.push-pull.100B',
    unit: 'msg/s',
    dripdrop: median(results.push.on),
    peer: 'monitoring off',
    peerValue: median(results.push.off),
    target: 0.97,
  })
  compare({
    bench: 'monitor.overhead.zmq.reqrep.c100',
    unit: 'calls/s',
    dripdrop: median(results.req.on),
    peer: 'monitoring off',
    peerValue: median(results.req.off),
    target: 0.97,
  })
  measure({
    bench: 'monitor.overhead.zmq.push-pull.paired-ratio',
    unit: 'x',
    dripdrop: paired(results.push),
    target: 0.97,
  })
  measure({
    bench: 'monitor.overhead.zmq.reqrep.paired-ratio',
    unit: 'x',
    dripdrop: paired(results.req),
    target: 0.97,
  })
  await node.close({ timeoutMs: 1000 })
  for (const c of [collector, pull, rep]) await kill(c)
}

async function scale(store: 'memory' | 'redis'): Promise<void> {
  const instances = 1000
  const routes = 20
  const seconds = 5
  section(
    `collector scale: ${instances} simulated instances x ${routes} routes at 1 Hz + heartbeats every 250 ms, ${store} store`,
  )
  const redis =
    store === 'redis'
      ? new RedisStore({ url: process.env.REDIS_URL, keyPrefix: `dd:mon:bench:${process.pid}:` })
      : undefined
  const collector = new Collector({ bind: 'tcp://127.0.0.1:*', store: redis, maxInstances: 2 * instances })
  await collector.start()
  // Two simulator processes of 500 instances each: one cannot encode 1,000 reports a second on this machine.
  const sims = await Promise.all(
    [0, 1].map((k) =>
      child(
        'simulate',
        collector.endpoint,
        String(instances / 2),
        String(routes),
        '120',
        String((k * instances) / 2),
      ),
    ),
  )
  // Skip the first 2 reports of every instance (new instances, rings allocated), then measure `seconds`.
  while (collector.stats.reports < 2 * instances) await sleep(50)
  const r0 = collector.stats.reports
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await sleep(seconds * 1000)
  const cpu = process.cpuUsage(cpu0)
  const wall = performance.now() - t0
  const reports = collector.stats.reports - r0
  const usedUs = cpu.user + cpu.system
  const percent = (usedUs / 1000 / wall) * 100
  measure({
    bench: `monitor.collector.${store}.reports`,
    unit: 'reports/s',
    dripdrop: (reports * 1000) / wall,
  })
  measure({
    bench: `monitor.collector.${store}.cpu-per-report`,
    unit: 'us',
    dripdrop: usedUs / Math.max(1, reports),
  })
  measure({ bench: `monitor.collector.${store}.cpu-measured`, unit: '% core', dripdrop: percent })
  // The simulators may not reach 1,000 reports/s on a shared machine: the budget is checked at the 1 Hz rate
  // of 1,000 instances from the measured CPU per report (heartbeats included).
  compare({
    bench: `monitor.collector.${store}.1000x20.cpu-at-1Hz`,
    unit: '% core',
    dripdrop: ((usedUs / Math.max(1, reports)) * instances) / 1e4,
    peer: 'budget',
    peerValue: store === 'memory' ? 50 : 100,
    better: 'lower',
    target: 1,
  })
  const refused = Object.values(collector.stats.refused).reduce((a, b) => a + b, 0)
  if (refused > 0)
    console.log(`  (collector refused ${refused} messages: ${JSON.stringify(collector.stats.refused)})`)
  await Promise.all(
    sims.map(async (sim) => {
      const done = sim.next()
      sim.proc.send({ cmd: 'stop' })
      await done
      await kill(sim)
    }),
  )
  if (redis !== undefined) await redis.clear()
  await collector.close()
}

async function detect(): Promise<void> {
  const kills = 24
  section(
    `detection latency: ${kills} monitored processes (250 ms heartbeats) SIGKILLed one by one, kill -> instance:down`,
  )
  const collector = new Collector({ bind: 'tcp://127.0.0.1:*' })
  await collector.start()
  const latencies: number[] = []
  const batch = 6
  for (let b = 0; b < kills / batch; b++) {
    const victims = await Promise.all(
      Array.from({ length: batch }, (_, i) => child('victim', collector.endpoint, `victim-${b}-${i}`)),
    )
    for (const [i, v] of victims.entries()) {
      const id = `victim-${b}-${i}`
      while (collector.instance(id)?.status !== 'up') await sleep(10)
      // A random phase against the heartbeat timer, as a real crash would have.
      await sleep(Math.random() * 250)
      const down = new Promise<number>((resolve) => {
        const on = ({ instance }: { instance: string }) => {
          if (instance !== id) return
          collector.events.off('instance:down', on)
          resolve(performance.now())
        }
        collector.events.on('instance:down', on)
      })
      const t0 = performance.now()
      v.proc.kill('SIGKILL')
      latencies.push((await down) - t0)
    }
    for (const v of victims) await kill(v)
  }
  await collector.close()
  latencies.sort((a, b) => a - b)
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil(latencies.length * p) - 1)]
  measure({ bench: 'monitor.detect.sigkill.p50', unit: 'ms', dripdrop: pct(0.5) })
  measure({ bench: 'monitor.detect.sigkill.p99', unit: 'ms', dripdrop: pct(0.99) })
  console.log(
    `  (target p99 <= 1500 ms: ${pct(0.99) <= 1500 ? 'met' : 'MISSED'}; ${latencies.length} kills, max ${latencies.at(-1)?.toFixed(0)} ms)`,
  )
}

async function saturation(seconds: number): Promise<void> {
  section(`no false down: 10 reporters for ${seconds} s while 2 busy loops saturate both cores`)
  const collector = new Collector({ bind: 'tcp://127.0.0.1:*' })
  await collector.start()
  let falseDowns = 0
  collector.events.on('instance:down', () => falseDowns++)
  let suspects = 0
  collector.events.on('instance:suspect', () => suspects++)
  const victims = await Promise.all(
    Array.from({ length: 10 }, (_, i) => child('victim', collector.endpoint, `steady-${i}`)),
  )
  const burners = await Promise.all([child('burn'), child('burn')])
  await sleep(seconds * 1000)
  for (const c of [...burners, ...victims]) await kill(c)
  await collector.close()
  measure({ bench: 'monitor.detect.saturated.false-down', unit: 'downs', dripdrop: falseDowns })
  console.log(
    `  (target 0: ${falseDowns === 0 ? 'met' : 'MISSED'}; suspects ${suspects}, collector stalls held ${collector.stats.stalls})`,
  )
}

const which = process.argv[2]
try {
  if (which === undefined || which === 'overhead') await overhead()
  if (which === undefined || which === 'scale') {
    await scale('memory')
    await scale('redis')
  }
  if (which === undefined || which === 'detect') await detect()
  if (which === 'saturation') await saturation(Number(process.argv[3] ?? 120))
} finally {
  for (const c of children) c.kill('SIGKILL')
}
process.exit(0)
