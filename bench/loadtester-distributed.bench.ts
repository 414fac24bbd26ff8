/**
 * `pnpm bench loadtester-distributed`: the aggregate maximum rate of a distributed run with 2 agents against 1
 * agent, against a target that is not the bottleneck, with each process pinned to a core so a reader can see
 * what bounded each figure.
 *
 * - Target: a raw `net` server answering with one pre-built response (loadtester-distributed/raw-target.mjs),
 *   far cheaper per request than any HTTP client, pinned with `taskset`.
 * - Agents: real agent processes (`Agent` over ZeroMQ, as `dripdrop-load agent` runs), each pinned to a core,
 *   closed model with `CONNECTIONS` connections each (the run's total is `CONNECTIONS × agents`).
 * - Coordinator: this process, pinned with the target (it handles one message per agent per second).
 * - Baseline: one bare `LoadEngine` in its own process on the same core as agent A, no coordinator: the
 *   1-agent / engine ratio is the coordinator's overhead.
 *
 * The rate is the mean of the full seconds after the first (JIT and connection warm-up excluded), from the
 * merged per-second series. CPU of each process is read from /proc over the same run (% of one core).
 * Interleaved rounds, medians. On a machine with fewer than 3 cores the second agent shares a core with the
 * target, so 2 agents cannot reach 2×: the layout and the CPU figures are printed with the ratio.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Coordinator } from '@dripdrop/loadtester'
import { compare, section } from './harness.js'

const here = dirname(fileURLToPath(import.meta.url))
const dir = join(here, 'loadtester-distributed')
const MS = Math.max(3000, Number(process.env.BENCH_MS ?? 5000))
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const CONNECTIONS = 32
const CORES = availableParallelism()
const TICK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim())

// Core layout: agent A alone on core 0; the target, the coordinator and agent B share the last core, unless
// there are 3 or more (then B has core 1 to itself and the target the last one).
const CORE_A = 0
const CORE_TARGET = CORES - 1
const CORE_B = CORES >= 3 ? 1 : CORES - 1

function pinned(core: number, args: string[]): ChildProcess {
  return spawn('taskset', ['-c', String(core), process.execPath, ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: join(here, '..'),
  })
}

/** CPU seconds (user + system) a process used so far, from /proc (taskset execs node: the pid is node's). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) / TICK
  } catch {
    return Number.NaN
  }
}

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = ''
    const onData = (d: Buffer): void => {
      out += d
      const i = out.indexOf('\n')
      if (i !== -1) {
        child.stdout?.off('data', onData)
        resolve(out.slice(0, i))
      }
    }
    child.stdout?.on('data', onData)
    child.once('exit', (code) => reject(new Error(`exited with ${code} before its first line`)))
  })
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise((r) => child.once('exit', r))
  child.kill('SIGTERM')
  const t = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(t)
}

/** Mean of the full seconds after the first. */
const steady = (perSecond: number[]): number => {
  const xs = perSecond.slice(1, Math.floor(MS / 1000))
  return xs.length === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / xs.length
}

interface Measured {
  rate: number
  /** % of one core over the run, by process. */
  cpu: Record<string, number>
  /** CPU µs per response of the load generators (the engine, or each agent). */
  usPerResponse: number[]
}

async function baseline(url: string, targetPid: number): Promise<Measured> {
  const child = pinned(CORE_A, [
    '--import',
    'tsx',
    join(dir, 'engine.ts'),
    url,
    String(CONNECTIONS),
    String(MS),
  ])
  let out = ''
  child.stdout?.on('data', (d: Buffer) => (out += d))
  const t0 = cpuSeconds(targetPid)
  const wall = performance.now()
  await new Promise((r) => child.once('exit', r))
  const secs = (performance.now() - wall) / 1000
  const r = JSON.parse(out.trim().split('\n').pop() as string) as {
    perSecond: number[]
    responses: number
    cpuUs: number
  }
  return {
    rate: steady(r.perSecond),
    // The engine's own figure covers the run only (not its module loading), over the run's length.
    cpu: { engine: r.cpuUs / 1e4 / (MS / 1000), target: (100 * (cpuSeconds(targetPid) - t0)) / secs },
    usPerResponse: [r.cpuUs / r.responses],
  }
}

async function distributed(url: string, targetPid: number, agents: number): Promise<Measured> {
  const c = new Coordinator({ startDelayMs: 1000 })
  await c.start()
  const children = Array.from({ length: agents }, (_x, i) =>
    pinned(i === 0 ? CORE_A : CORE_B, [
      '--import',
      'tsx',
      join(dir, 'agent.ts'),
      c.endpoint,
      `agent-${'AB'[i]}`,
    ]),
  )
  try {
    await Promise.all(children.map(firstLine))
    await c.waitForAgents(agents, 30_000)
    const before = children.map((ch) => cpuSeconds(ch.pid as number))
    const t0 = cpuSeconds(targetPid)
    const me0 = process.cpuUsage()
    const wall = performance.now()
    const r = await c.run({
      scenario: { kind: 'requests', requests: [{ url }] },
      connections: CONNECTIONS * agents,
      durationMs: MS,
      minAgents: agents,
    })
    const secs = (performance.now() - wall) / 1000
    const me = process.cpuUsage(me0)
    const cpu: Record<string, number> = {}
    children.forEach((ch, i) => {
      cpu[`agent ${'AB'[i]}`] = (100 * (cpuSeconds(ch.pid as number) - (before[i] as number))) / secs
    })
    cpu.target = (100 * (cpuSeconds(targetPid) - t0)) / secs
    cpu.coordinator = (me.user + me.system) / 1e4 / secs
    const usPerResponse = children.map(
      (ch, i) =>
        ((cpuSeconds(ch.pid as number) - (before[i] as number)) * 1e6) /
        (r.agents.find((a) => a.agentId === `agent-${'AB'[i]}`)?.responses ?? Number.NaN),
    )
    return { rate: steady(r.series.map((p) => p.responses)), cpu, usPerResponse }
  } finally {
    await c.close()
    await Promise.all(children.map(stop))
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const cpuText = (c: Record<string, number>): string =>
  Object.entries(c)
    .map(([k, v]) => `${k} ${v.toFixed(0)}%`)
    .join(', ')

section(
  `loadtester distributed: aggregate max rate, 2 agents vs 1 (closed model, ${CONNECTIONS} connections per agent, ${MS} ms, median of ${ROUNDS})`,
)
console.log(
  `  layout on ${CORES} cores (taskset): agent A core ${CORE_A}; agent B core ${CORE_B}; target and coordinator core ${CORE_TARGET}` +
    (CORE_B === CORE_TARGET ? ' (B shares its core with the target: 2× is out of reach here)' : ''),
)
// The coordinator (this process, every thread) on the target's core.
execFileSync('taskset', ['-a', '-p', '-c', String(CORE_TARGET), String(process.pid)], { stdio: 'ignore' })
const target = pinned(CORE_TARGET, [join(dir, 'raw-target.mjs')])
const port = Number(await firstLine(target))
const url = `http://127.0.0.1:${port}/`
try {
  const runs: Record<'engine' | 'one' | 'two', Measured[]> = { engine: [], one: [], two: [] }
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? (['engine', 'one', 'two'] as const) : (['two', 'one', 'engine'] as const)
    for (const kind of order)
      runs[kind].push(
        kind === 'engine'
          ? await baseline(url, target.pid as number)
          : await distributed(url, target.pid as number, kind === 'one' ? 1 : 2),
      )
  }
  const pick = (kind: keyof typeof runs): Measured => {
    const m = median(runs[kind].map((x) => x.rate))
    return runs[kind].find((x) => x.rate === m) as Measured
  }
  const [engine, one, two] = [pick('engine'), pick('one'), pick('two')]
  compare({
    bench: `loadtester.distributed.maxrate.2_agents_vs_1`,
    unit: 'req/s',
    dripdrop: two.rate,
    peer: '1-agent',
    peerValue: one.rate,
  })
  compare({
    bench: `loadtester.distributed.coordinator_overhead.rate`,
    unit: 'req/s',
    dripdrop: one.rate,
    peer: 'bare-engine',
    peerValue: engine.rate,
  })
  // CPU per response does not depend on how much of a core the process got on a busy machine.
  const perResponse = (kind: keyof typeof runs): number => median(runs[kind].flatMap((x) => x.usPerResponse))
  compare({
    bench: `loadtester.distributed.coordinator_overhead.cpu_per_response`,
    unit: 'us/resp',
    dripdrop: perResponse('one'),
    peer: 'bare-engine',
    peerValue: perResponse('engine'),
    better: 'lower',
  })
  const us = (m: Measured): string => m.usPerResponse.map((x) => `${x.toFixed(0)} µs`).join(' / ')
  console.log(
    `  bare engine: ${engine.rate.toFixed(0)} req/s; CPU (% of a core): ${cpuText(engine.cpu)}; CPU per response ${us(engine)}`,
  )
  console.log(
    `  1 agent:     ${one.rate.toFixed(0)} req/s; CPU (% of a core): ${cpuText(one.cpu)}; CPU per response ${us(one)}`,
  )
  console.log(
    `  2 agents:    ${two.rate.toFixed(0)} req/s; CPU (% of a core): ${cpuText(two.cpu)}; CPU per response ${us(two)}`,
  )
  console.log(
    `  (a generator near 100% of its core is what bounded its rate; the target's CPU shows it was not the bottleneck)`,
  )
  console.log(
    `  rounds (req/s): engine ${runs.engine.map((x) => x.rate.toFixed(0)).join(' ')}; 1 agent ${runs.one.map((x) => x.rate.toFixed(0)).join(' ')}; 2 agents ${runs.two.map((x) => x.rate.toFixed(0)).join(' ')}`,
  )
  console.log(
    `  load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
  )
} finally {
  await stop(target)
}
