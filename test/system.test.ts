import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { readFileSync, rmSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '..')

/** Resolves with the connect error code (`ECONNREFUSED` once nothing listens), or 'connected'. */
function probe(url: string): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((done) => {
    const s = connect(Number(port), hostname)
    s.once('connect', () => {
      s.destroy()
      done('connected')
    })
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? 'error'))
  })
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH'
  }
}

describe('examples/system/run.ts (pnpm start)', () => {
  let kill: (() => void) | undefined
  afterEach(() => kill?.())

  it('starts the control server with the topology, an agent running the 4 roles, a load test; prints the URLs and a clean summary; --once exits 0', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'examples/system/run.ts', '--once', '--seconds', '3', '--rate', '100'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    kill = () => child.kill('SIGKILL')
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      err += d
    })
    const code = await new Promise<number | null>((done) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
      child.once('exit', (c) => {
        clearTimeout(timer)
        done(c)
      })
    })
    expect(err).toBe('')
    expect(code).toBe(0)
    expect(out).toMatch(/^dashboard: http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{43}$/m)
    expect(out).toMatch(/^gateway: +http:\/\/127\.0\.0\.1:\d+\/orders /m)
    expect(out).toMatch(/^metrics: +http:\/\/127\.0\.0\.1:\d+\/metrics /m)
    expect(out).toMatch(/^agents: +tcp:\/\/127\.0\.0\.1:\d+ /m)
    expect(out).toMatch(/^roles: +http:\/\/127\.0\.0\.1:\d+\/api\/roles /m)
    // The agent ran every instance of examples/roles/topology.yaml as its own process.
    const pids = [...out.matchAll(/^instance: +(\S+) on local: running, pid (\d+),/gm)].map(([, i, pid]) => [
      i,
      Number(pid),
    ])
    expect(pids.map(([i]) => i)).toEqual(['aggregator-1', 'gateway-1', 'worker-1', 'worker-2'])
    expect(new Set(pids.map(([, pid]) => pid)).size).toBe(4)
    // The Roles API, asked after the load test: every instance still up, the host up.
    expect(out).toMatch(
      /^roles API: 4\/4 instances running \(aggregator-1, gateway-1, worker-1, worker-2\); hosts local up$/m,
    )
    // --once stopped the children too.
    for (const [, pid] of pids) expect(alive(pid as number)).toBe(false)
    const summary = /^load test: (\d+) responses in 3 s .* errors=(\d+) non2xx=(\d+) notSent=(\d+)$/m.exec(
      out,
    )
    expect(summary).not.toBeNull()
    const [, responses, errors, non2xx, notSent] = summary!.map(Number)
    expect(responses).toBeGreaterThan(0)
    expect({ errors, non2xx, notSent }).toEqual({ errors: 0, non2xx: 0, notSent: 0 })
    const report = /^report: +(\S+\.html)$/m.exec(out)![1]!
    const html = readFileSync(resolve(ROOT, report), 'utf8')
    rmSync(resolve(ROOT, report))
    expect(html).toContain('<html')
    // The README's Quick start shows this output.
    const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8')
    expect(readme).toContain('npx -y pnpm@12.4.2 start')
    expect(readme).toMatch(/^load test: \d+ responses in 10 s .* errors=0 non2xx=0 notSent=0$/m)
  }, 120_000)

  it('without --once keeps running (Roles API live, orders reach the aggregator) until SIGTERM, then stops every process, frees the ports and exits 0', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'examples/system/run.ts', '--seconds', '1', '--rate', '50'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    kill = () => child.kill('SIGKILL')
    let out = ''
    const isRunning = new Promise<void>((done, fail) => {
      child.stdout.on('data', (d) => {
        out += d
        if (out.includes('\nrunning: ')) done()
      })
      child.once('exit', (c) => fail(new Error(`exited ${c} before running: ${out}`)))
    })
    await isRunning
    const dashboard = /^dashboard: (\S+)\?token=/m.exec(out)![1]!
    const gateway = /^gateway: +(\S+)\/orders /m.exec(out)![1]!
    expect(await probe(dashboard)).toBe('connected')
    expect(await probe(gateway)).toBe('connected')
    // Live, over the API the dashboard's Roles panel uses: host local up, the 4 instances running on it.
    const token = /^dashboard: \S+\?token=(\S+)$/m.exec(out)![1]!
    const auth = { headers: { authorization: `Bearer ${token}` } }
    const roles = (await (await fetch(`${dashboard}api/roles`, auth)).json()) as {
      hosts: { host: string; state: string }[]
      instances: { instance: string; host: string; state: string; pid: number }[]
    }
    expect(roles.hosts.map((h) => [h.host, h.state])).toEqual([['local', 'up']])
    const running = roles.instances.filter((i) => i.state === 'running' && i.host === 'local')
    expect(running.map((i) => i.instance).sort()).toEqual([
      'aggregator-1',
      'gateway-1',
      'worker-1',
      'worker-2',
    ])
    // The load test's orders went gateway -> workers -> aggregator: the aggregator's log (through its agent)
    // shows a running total of at least the 50 answered orders.
    // It prints every 500 ms (REPORT_MS): poll its log for at most 10 s.
    let orders = 0
    for (let i = 0; i < 50 && orders < 50; i++) {
      const lines = (await (
        await fetch(`${dashboard}api/roles/logs/aggregator-1?lines=100`, auth)
      ).json()) as {
        line: string
      }[]
      for (const l of lines) orders = Math.max(orders, Number(/^orders (\d+) /.exec(l.line)?.[1] ?? 0))
      if (orders < 50) await new Promise((r) => setTimeout(r, 200))
    }
    expect(orders).toBeGreaterThanOrEqual(50)
    const exited = new Promise<number | null>((done) => child.once('exit', done))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    // The control server (this process) and the gateway (a child) no longer listen.
    expect(await probe(dashboard)).toBe('ECONNREFUSED')
    expect(await probe(gateway)).toBe('ECONNREFUSED')
    // Every child the agent started is gone.
    for (const i of running) expect(alive(i.pid)).toBe(false)
    const report = /^report: +(\S+\.html)$/m.exec(out)![1]!
    rmSync(resolve(ROOT, report))
  }, 120_000)
})
