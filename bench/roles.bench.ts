/**
 * @dripdrop/roles benchmarks, dripdrop's Supervisor and PM2 (installed from npm, driven through its API) in
 * the same run:
 *
 * 1. restart latency: a supervised process is SIGKILLed; time until its replacement is serving (it connects
 *    to this process and says its pid: the same child script under both supervisors). p50/p99 over KILLS kills.
 *    dripdrop with `minDelayMs: 0` (like PM2's default `restart_delay: 0`), and with the default 100 ms.
 * 2. detection latency: SIGKILL → `instance:down` (dripdrop, an event of the Supervisor in this process) and
 *    → PM2's bus `process:event` exit (what a PM2 API user gets). p50/p99.
 * 3. overhead with 50 idle children: `dripdrop start` (the real CLI) and the PM2 daemon, each supervising 50
 *    idle processes: the supervisor process's CPU (% of one core, over OVERHEAD_MS) and RSS.
 *
 * Run: node --import tsx bench/roles.bench.ts [restart|overhead]   (or `pnpm bench roles`).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Supervisor } from '../packages/roles/dist/index.js'
import { compare, measure, section } from './harness.js'

const HERE = dirname(fileURLToPath(import.meta.url))
const CHILD = join(HERE, 'roles/child.mjs')
const BIN = join(HERE, '../packages/roles/dist/cli/dripdrop.js')
const KILLS = 25
const IDLE = 50
const OVERHEAD_MS = 10_000
const work = mkdtempSync(join(tmpdir(), 'dd-bench-roles-'))
const only = process.argv[2]
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]

/** Children say their pid on connect: `hello(pid)` resolves when that pid (or any new one) has said it. */
class Hellos {
  readonly server: Server
  readonly #seen = new Map<number, number>()
  readonly #waiters: ((pid: number) => void)[] = []
  constructor() {
    this.server = createServer((socket) => {
      socket.setEncoding('utf8')
      socket.on('error', () => {})
      socket.once('data', (d: string) => {
        const pid = Number(d.trim())
        this.#seen.set(pid, performance.now())
        for (const w of this.#waiters.splice(0)) w(pid)
      })
    })
  }
  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r))
    return (this.server.address() as { port: number }).port
  }
  /** The next pid other than `not` to say hello, and when (ms, performance.now()). */
  next(not: number | undefined, timeoutMs = 20_000): Promise<{ pid: number; at: number }> {
    for (const [pid, at] of this.#seen)
      if (pid !== not && !this.#used.has(pid)) return Promise.resolve(this.#take(pid, at))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no new child within ${timeoutMs} ms`)), timeoutMs)
      const wait = (pid: number) => {
        if (pid === not || this.#used.has(pid)) return void this.#waiters.push(wait)
        clearTimeout(timer)
        resolve(this.#take(pid, this.#seen.get(pid) as number))
      }
      this.#waiters.push(wait)
    })
  }
  readonly #used = new Set<number>()
  #take(pid: number, at: number) {
    this.#used.add(pid)
    return { pid, at }
  }
}

interface Latencies {
  restart: number[]
  detect: number[]
}

async function dripdropRestarts(minDelayMs: number): Promise<Latencies> {
  const hellos = new Hellos()
  const port = await hellos.listen()
  const s = new Supervisor({
    topology: {
      name: 'bench',
      baseDir: HERE,
      roles: {
        svc: {
          entry: './roles/child.mjs',
          env: { BENCH_PORT: port },
          restart: { minDelayMs, factor: 1, maxRestarts: 10_000 },
        },
      },
    },
    logDir: join(work, 'logs'),
  })
  let downAt = 0
  s.on('instance:down', () => {
    downAt = performance.now()
  })
  await s.start()
  const out: Latencies = { restart: [], detect: [] }
  let { pid } = await hellos.next(undefined)
  for (let i = 0; i < KILLS; i++) {
    await sleep(50)
    const t0 = performance.now()
    process.kill(pid, 'SIGKILL')
    const next = await hellos.next(pid)
    out.restart.push(next.at - t0)
    out.detect.push(downAt - t0)
    pid = next.pid
  }
  await s.close()
  hellos.server.close()
  return out
}

/** PM2 through its API, its daemon and files under a temporary PM2_HOME. */
async function withPm2<T>(fn: (pm2: any, home: string) => Promise<T>): Promise<T> {
  const home = join(work, 'pm2')
  process.env.PM2_HOME = home
  // Loaded after PM2_HOME is set: pm2 reads it when first imported.
  const pm2 = (await import('pm2')).default as any
  const call = (name: string, ...args: unknown[]) =>
    new Promise<any>((resolve, reject) =>
      pm2[name](...args, (err: Error | null, v: unknown) => (err ? reject(err) : resolve(v))),
    )
  await call('connect')
  try {
    return await fn(Object.assign(pm2, { call }), home)
  } finally {
    await call('delete', 'all').catch(() => {})
    await call('killDaemon').catch(() => {})
    pm2.disconnect()
  }
}

async function pm2Restarts(): Promise<Latencies> {
  return withPm2(async (pm2) => {
    const hellos = new Hellos()
    const port = await hellos.listen()
    const bus: any = await pm2.call('launchBus')
    let downAt = 0
    bus.on('process:event', (e: { event: string }) => {
      if (e.event === 'exit') downAt = performance.now()
    })
    await pm2.call('start', {
      script: CHILD,
      name: 'bench',
      autorestart: true,
      restart_delay: 0,
      max_restarts: 10_000,
      min_uptime: 0,
      env: { BENCH_PORT: String(port) },
    })
    const out: Latencies = { restart: [], detect: [] }
    let { pid } = await hellos.next(undefined)
    for (let i = 0; i < KILLS; i++) {
      await sleep(50)
      const t0 = performance.now()
      process.kill(pid, 'SIGKILL')
      const next = await hellos.next(pid)
      out.restart.push(next.at - t0)
      // The bus event may trail the new child's hello: wait for it (bounded).
      for (let j = 0; j < 100 && downAt < t0; j++) await sleep(10)
      out.detect.push(downAt - t0)
      pid = next.pid
    }
    bus.close?.()
    hellos.server.close()
    return out
  })
}

/** CPU (% of one core) and RSS (MiB) of process `pid` over `ms`, from /proc. */
async function usage(pid: number, ms: number): Promise<{ cpu: number; rssMiB: number }> {
  const ticks = () => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return Number(fields[11]) + Number(fields[12]) // utime + stime, after the "(comm) " part
  }
  const t0 = ticks()
  const w0 = performance.now()
  await sleep(ms)
  const used = (ticks() - t0) / 100 // CLK_TCK is 100 on Linux
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024
  return { cpu: (used / ((performance.now() - w0) / 1000)) * 100, rssMiB: rss }
}

async function dripdropOverhead(): Promise<{ cpu: number; rssMiB: number }> {
  const topology = join(work, 'idle.json')
  writeFileSync(
    topology,
    JSON.stringify({ name: 'idle', roles: { idle: { entry: CHILD, instances: IDLE } } }),
  )
  const cli: ChildProcess = spawn(
    process.execPath,
    [BIN, 'start', topology, '--no-output', '--log-dir', join(work, 'idle-logs')],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
  let ups = 0
  cli.stdout!.setEncoding('utf8')
  const allUp = new Promise<void>((resolve) =>
    cli.stdout!.on('data', (d: string) => {
      ups += d.split('\n').filter((l) => / up +idle-\d+ pid/.test(l)).length
      if (ups >= IDLE) resolve()
    }),
  )
  await allUp
  await sleep(2000) // the children finish loading
  const u = await usage(cli.pid as number, OVERHEAD_MS)
  const exited = new Promise((r) => cli.once('exit', r))
  cli.kill('SIGTERM')
  await exited
  return u
}

async function pm2Overhead(): Promise<{ cpu: number; rssMiB: number }> {
  return withPm2(async (pm2, home) => {
    await pm2.call('start', {
      script: CHILD,
      name: 'idle',
      instances: IDLE,
      exec_mode: 'fork',
      autorestart: true,
    })
    await sleep(2000)
    const daemon = Number(readFileSync(join(home, 'pm2.pid'), 'utf8'))
    return usage(daemon, OVERHEAD_MS)
  })
}

try {
  if (only === undefined || only === 'restart') {
    section(`roles: restart and detection latency, ${KILLS} SIGKILLs each (ms)`)
    const d0 = await dripdropRestarts(0)
    const p = await pm2Restarts()
    const d100 = await dripdropRestarts(100)
    for (const [q, name] of [
      [0.5, 'p50'],
      [0.99, 'p99'],
    ] as const) {
      compare({
        bench: `roles.restart.${name}`,
        unit: 'ms',
        dripdrop: pct(d0.restart, q),
        peer: 'pm2',
        peerValue: pct(p.restart, q),
        better: 'lower',
      })
      measure({ bench: `roles.restart.default-100ms.${name}`, unit: 'ms', dripdrop: pct(d100.restart, q) })
      compare({
        bench: `roles.detect.${name}`,
        unit: 'ms',
        dripdrop: pct(d0.detect, q),
        peer: 'pm2',
        peerValue: pct(p.detect, q),
        better: 'lower',
      })
    }
  }
  if (only === undefined || only === 'overhead') {
    section(`roles: supervisor overhead with ${IDLE} idle children, over ${OVERHEAD_MS / 1000} s`)
    const d = await dripdropOverhead()
    const p = await pm2Overhead()
    compare({
      bench: 'roles.overhead.cpu',
      unit: '% core',
      dripdrop: d.cpu,
      peer: 'pm2',
      peerValue: p.cpu,
      better: 'lower',
    })
    compare({
      bench: 'roles.overhead.rss',
      unit: 'MiB',
      dripdrop: d.rssMiB,
      peer: 'pm2',
      peerValue: p.rssMiB,
      better: 'lower',
    })
  }
} finally {
  rmSync(work, { recursive: true, force: true })
}
