/**
 * The control server under the load: 1,000 simulated instances x 20 routes reporting at 1 Hz (and
 * heartbeating every 250 ms) into one server process (collector + API + one WebSocket dashboard client, this
 * process). Prints the server process's CPU and the time from a change (one instance's rate changes in its
 * simulator) to the dashboard client seeing it in a pushed live view.
 *
 * The peers are the budgets: under one core, and updates within 2 s.
 *
 * Run: node --import tsx bench/control-server.bench.ts   (or `pnpm bench control-server`).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { compare, measure, section } from './harness.js'

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'control-server/child.ts')
const TOKEN = 'bench-token-0123456789'
const INSTANCES = 1000
const ROUTES = 20
const SECONDS = 10
const CHANGES = 6

interface Child {
  proc: ChildProcess
  next(): Promise<any>
}

function child(...args: string[]): Promise<Child & { first: any }> {
  const proc = fork(CHILD, args, { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
  const queue: any[] = []
  const waiters: ((m: any) => void)[] = []
  proc.on('message', (m) => {
    const w = waiters.shift()
    if (w) w(m)
    else queue.push(m)
  })
  const next = () =>
    new Promise<any>((resolve) => {
      const m = queue.shift()
      if (m !== undefined) resolve(m)
      else waiters.push(resolve)
    })
  return next().then((first) => ({ proc, next, first }))
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

section(
  `control server: ${INSTANCES} simulated instances x ${ROUTES} routes at 1 Hz, one dashboard WebSocket`,
)
const server = await child('server', TOKEN)
const urls = server.first
// Two simulator processes of 500 instances each (one cannot encode 1,000 reports a second here).
const sims = await Promise.all(
  [0, 1].map((k) =>
    child('simulate', urls.collector, String(INSTANCES / 2), String(ROUTES), String((k * INSTANCES) / 2)),
  ),
)
const ws = new WebSocket(`${urls.ws}/?token=${TOKEN}`)
let latest: { at: number; rows: Map<string, number> } | undefined
let frameBytes = 0
const seen: ((v: typeof latest) => void)[] = []
ws.on('message', (data) => {
  const text = String(data)
  frameBytes += text.length
  // A JSON frame is [1, name, head, body] (docs/protocol.md §5, §9.2).
  const frame = JSON.parse(text)
  if (!Array.isArray(frame) || frame[1] !== 'live') return
  const live = frame[3]
  const rows = new Map<string, number>()
  for (const r of live.instances) rows.set(r.instance, r.msgIn)
  latest = { at: Date.now(), rows }
  for (const fn of seen.splice(0)) fn(latest)
})
await new Promise((r) => ws.once('open', r))
// Warm-up: every instance known and reporting.
while ((latest?.rows.size ?? 0) < INSTANCES) await sleep(200)
await sleep(3000)

server.proc.send({ cmd: 'cpu-reset' })
await server.next()
const b0 = frameBytes
// Changes while the CPU is measured: sim-0000's routes go from 100 to 7,777 messages/s and back.
const delays: number[] = []
const tEnd = performance.now() + SECONDS * 1000
for (let i = 0; i < CHANGES && performance.now() < tEnd; i++) {
  const perSecond = i % 2 === 0 ? 7777 : 100
  const midpoint = ((7777 + 100) / 2) * ROUTES
  sims[0].proc.send({ cmd: 'rate', index: 0, perSecond })
  await sims[0].next()
  const changedAt = Date.now()
  for (;;) {
    const l = await new Promise<NonNullable<typeof latest>>((r) => seen.push(r as never))
    const v = l.rows.get('sim-0000') ?? 0
    // Seen when the pushed rate has crossed the midpoint between the old and the new rate.
    if (perSecond > 100 ? v > midpoint : v < midpoint) {
      delays.push(l.at - changedAt)
      break
    }
  }
  await sleep(300)
}
const left = tEnd - performance.now()
if (left > 0) await sleep(left)
server.proc.send({ cmd: 'cpu' })
const cpu = await server.next()
const percent = (cpu.usedUs / 1000 / cpu.wallMs) * 100
delays.sort((a, b) => a - b)
measure({
  bench: 'control-server.reports',
  unit: 'reports/s',
  dripdrop: (cpu.reports * 1000) / cpu.wallMs,
})
measure({
  bench: 'control-server.ws.push',
  unit: 'KB/s',
  dripdrop: (frameBytes - b0) / 1024 / (cpu.wallMs / 1000),
})
compare({
  bench: 'control-server.1000x20.cpu',
  unit: '% core',
  dripdrop: percent,
  peer: 'budget',
  peerValue: 100,
  better: 'lower',
  target: 1,
})
compare({
  bench: 'control-server.change-to-dashboard.p50',
  unit: 'ms',
  dripdrop: delays[Math.floor(delays.length / 2)],
  peer: 'budget',
  peerValue: 2000,
  better: 'lower',
  target: 1,
})
compare({
  bench: 'control-server.change-to-dashboard.max',
  unit: 'ms',
  dripdrop: delays[delays.length - 1],
  peer: 'budget',
  peerValue: 2000,
  better: 'lower',
  target: 1,
})
console.log(`  (${delays.length} changes: ${delays.join(', ')} ms)`)
ws.close()
for (const s of sims) s.proc.send({ cmd: 'stop' })
server.proc.kill('SIGTERM')
await sleep(500)
for (const c of [server, ...sims]) if (c.proc.exitCode === null) c.proc.kill('SIGKILL')
process.exit(0)
