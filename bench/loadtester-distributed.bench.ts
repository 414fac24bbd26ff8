/**
 * `pnpm bench loadtester-distributed`: aggregate maximum rate of a distributed run with 2 agents against the
 * same run with 1 agent (closed model, `CONNECTIONS` in total split across the agents), against a node:cluster
 * target (2 workers) meant not to be the bottleneck. Agents are local agent threads of
 * one coordinator (the same code path as remote agents: ZeroMQ over loopback). Interleaved rounds, medians.
 * The ratio is 2 agents / 1 agent; it can reach 2 only when the machine has the cores for two agents and the
 * target (on the shared 2-core development VM it cannot).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Coordinator, startLocalAgents } from '@dripdrop/loadtester'
import { compare, section } from './harness.js'

const here = dirname(fileURLToPath(import.meta.url))
const MS = Number(process.env.BENCH_MS ?? 2000)
const ROUNDS = 3
const CONNECTIONS = 32

async function startTarget(): Promise<{ child: ChildProcess; url: string }> {
  const workers = '2'
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(here, 'loadtester', 'cluster-target.ts'), workers],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
    child.once('exit', (code) => reject(new Error(`target exited with ${code}`)))
  })
  return { child, url: `http://127.0.0.1:${port}/` }
}

async function maxRate(url: string, agents: number): Promise<{ rate: number; maxCpu: number }> {
  const c = new Coordinator()
  await c.start()
  const local = await startLocalAgents({ connect: c.endpoint, count: agents })
  try {
    const r = await c.run({
      scenario: { kind: 'requests', requests: [{ url }] },
      connections: CONNECTIONS,
      durationMs: MS,
      minAgents: agents,
    })
    return {
      rate: r.totals.counters.responses / (MS / 1000),
      maxCpu: Math.max(...r.agents.map((a) => a.maxCpu)),
    }
  } finally {
    await local.close()
    await c.close()
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number

section('loadtester distributed: aggregate max rate, 2 agents vs 1')
const target = await startTarget()
try {
  const one: number[] = []
  const two: number[] = []
  const cpu: number[] = []
  for (let i = 0; i < ROUNDS; i++) {
    one.push((await maxRate(target.url, 1)).rate)
    const r = await maxRate(target.url, 2)
    two.push(r.rate)
    cpu.push(r.maxCpu)
  }
  compare({
    bench: `loadtester.distributed.maxrate.c${CONNECTIONS}`,
    unit: 'req/s',
    dripdrop: median(two),
    peer: '1-agent',
    peerValue: median(one),
  })
  console.log(
    `  (2 agents: highest agent CPU ${(median(cpu) * 100).toFixed(0)}%; ${ROUNDS} interleaved rounds of ${MS} ms)`,
  )
} finally {
  target.child.kill('SIGTERM')
}
