// Proven on several hosts with THE example app (issue 13): examples/control-app's gateway, workers and aggregator,
// spread over three network namespaces by examples/roles/topology-3hosts.yaml (its host addresses replaced by
// the namespaces'), one `dripdrop agent` process (the built CLI) per namespace, the RoleController in the root
// namespace. The gateway answers POST /orders with `{ id }` before any worker priced it (push), so a lost order
// is invisible over HTTP: orders are counted where they end, at the aggregator (`orders N` on its stderr, read
// from the agents' log files; a stopped aggregator prints its final total), against the orders the gateway
// accepted. Phases (the load paused and the aggregator settled between them, so that each count is exact):
//  0. warm-up;  1. SIGKILL worker-1: restarted by its agent, the gateway keeps its pid;
//  2. host c's link down: worker-2 and aggregator-1 move to b, the gateway answers throughout;
//  3. after the failover: no order lost (the guarantee of docs/deploying.md § Failover);
//  4. link back, rebalance home, orders priced on c again.
// Needs root and iproute2; reported as skipped with its reason otherwise.
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RoleController } from '../src/controller/controller.js'
import { loadTopology } from '../src/topology/load.js'
import { type Host, HOSTS, ThreeHosts, until } from './support/three-hosts.js'

const ROOT = resolve(import.meta.dirname, '../../..')
const BIN = resolve(import.meta.dirname, '../dist/cli/dripdrop.js')
const hosts = new ThreeHosts({ prefix: 'dde', subnet: '10.198', tagOffset: 5000 })
const { IP, CONTROL_IP } = hosts
const logDir = (h: Host) => hosts.logDir(h)
const setUp = () => hosts.setUp()
const tearDown = () => hosts.tearDown()
const startAgent = (h: Host, control: string) => hosts.startAgent(h, control, [BIN, 'agent'], ROOT)
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Orders priced, over every aggregator process that ever ran on any host: each run of `aggregator-*.log`
 * (a run starts at the supervisor's `started pid` line) counts its last `orders N` line.
 */
function priced(): number {
  let total = 0
  for (const h of HOSTS) {
    const file = join(logDir(h), 'aggregator-1.log')
    if (!existsSync(file)) continue
    let last = 0
    for (const row of readFileSync(file, 'utf8').split('\n')) {
      if (/ sup started pid \d+$/.test(row)) {
        total += last
        last = 0
      }
      const m = / err orders (\d+) revenue /.exec(row)
      if (m) last = Number(m[1])
    }
    total += last
  }
  return total
}

/** POST /orders at a steady rate, counting the orders the gateway accepted (answered with an id). */
class Load {
  accepted = 0
  failed = 0
  #timer: NodeJS.Timeout | undefined
  #inflight = 0
  constructor(readonly url: string) {}
  start(perSecond: number): void {
    this.#timer = setInterval(() => void this.#one(), 1000 / perSecond)
  }
  /** Stops sending and waits for the requests in flight (each bounded by its 3 s timeout). */
  async stop(): Promise<void> {
    clearInterval(this.#timer)
    await until('requests in flight answered', () => this.#inflight === 0, 5000)
  }
  async #one(): Promise<void> {
    this.#inflight++
    try {
      const res = await fetch(`${this.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"qty":2}',
        signal: AbortSignal.timeout(3000),
      })
      const body = (await res.json()) as { id?: number }
      if (res.ok && typeof body.id === 'number') this.accepted++
      else this.failed++
    } catch {
      this.failed++
    } finally {
      this.#inflight--
    }
  }
}

/** Waits until the priced count stops moving (the aggregator prints every 500 ms when it changed). */
async function settled(accepted: number): Promise<number> {
  let last = priced()
  let since = Date.now()
  const end = Date.now() + 12_000
  while (Date.now() < end) {
    await sleep(100)
    const now = priced()
    if (now === accepted) return now
    if (now !== last) {
      last = now
      since = Date.now()
    } else if (Date.now() - since > 3000) return now
  }
  return priced()
}

let skipped: string | undefined
beforeAll(() => {
  skipped = setUp()
  if (skipped) console.warn(`netns example test skipped: ${skipped}`)
})
afterAll(tearDown)

describe('examples/control-app on 3 hosts (network namespaces)', () => {
  it('orders priced; SIGKILLed worker restarted; host c lost → its roles move, no order lost after the failover; back home', async (ctx) => {
    if (skipped) {
      ctx.skip(`netns example test skipped: ${skipped}`)
      return
    }
    // The example's 3-host file as it is, with the namespaces' addresses for its hosts.
    const topology = await loadTopology(join(ROOT, 'examples/roles/topology-3hosts.yaml'))
    for (const h of HOSTS) topology.hosts![h]!.address = IP[h]
    const controller = new RoleController({
      topology,
      agents: `tcp://${CONTROL_IP}:7200`,
      heartbeatIntervalMs: 250,
      heartbeatTimeoutMs: 1500,
    })
    const log: string[] = []
    const t0 = Date.now()
    const note = (line: string) => log.push(`${((Date.now() - t0) / 1000).toFixed(2)}s ${line}`)
    for (const e of ['instance:up', 'instance:down', 'instance:restart'] as const)
      controller.on(e, (x) => note(`${e} ${x.instance}@${x.host}`))
    controller.on('host:lost', (x) => note(`host:lost ${x.host}`))
    controller.on('failover', (x) =>
      note(`failover ${x.host}: ${x.moved.map((m) => `${m.instance} ${m.from}→${m.to}`).join(', ')}`),
    )
    await controller.start()
    const phases: string[] = []
    try {
      for (const h of HOSTS) startAgent(h, controller.endpoint)
      const st = () => controller.status()
      const inst = (name: string) => st().instances.find((i) => i.instance === name)
      const runningOn = (name: string, host: string) => {
        const i = inst(name)
        return i !== undefined && i.host === host && i.state === 'running' ? i : undefined
      }
      await until(
        'every instance running',
        () => st().instances.length === 4 && st().instances.every((i) => i.state === 'running'),
        30_000,
      )
      expect(
        st()
          .instances.map((i) => `${i.instance}@${i.host}`)
          .sort(),
      ).toEqual(['aggregator-1@c', 'gateway-1@a', 'worker-1@b', 'worker-2@c'])
      const load = new Load(`http://${IP.a}:7480`)
      const gatewayPid = inst('gateway-1')!.pid
      let listening = false
      /** One phase: load at 50/s while `during` runs, then paused until the aggregator settled. */
      const phase = async (name: string, during: () => Promise<void>) => {
        const a0 = load.accepted
        const f0 = load.failed
        const p0 = priced()
        load.start(50)
        await during()
        await load.stop()
        const p = await settled(load.accepted)
        const r = { accepted: load.accepted - a0, failed: load.failed - f0, priced: p - p0 }
        phases.push(
          `${name}: ${r.accepted} accepted, ${r.priced} priced, ${r.accepted - r.priced} lost, ${r.failed} HTTP failures`,
        )
        return r
      }

      await until('the gateway listens', () => {
        void fetch(`${load.url}/orders`, { method: 'OPTIONS', signal: AbortSignal.timeout(500) })
          .then(() => {
            listening = true
          })
          .catch(() => {})
        return listening
      })
      // The same 10 orders as example-three-ways.test.ts (--inproc, processes on one host), the same total.
      await until('both workers started', () =>
        ['b', 'c'].every((h) => {
          const f = join(logDir(h as Host), `worker-${h === 'b' ? 1 : 2}.log`)
          return existsSync(f) && readFileSync(f, 'utf8').includes('{"instance":')
        }),
      )
      for (let qty = 1; qty <= 10; qty++) {
        const res = await fetch(`${load.url}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ qty }),
          signal: AbortSignal.timeout(5000),
        })
        expect(res.status).toBe(200)
        await res.arrayBuffer()
      }
      await until('the same total as in one process', () =>
        readFileSync(join(logDir('c'), 'aggregator-1.log'), 'utf8').includes(
          ' err orders 10 revenue 522.50\n',
        ),
      )
      phases.push(
        'the 10 orders of example-three-ways.test.ts: orders 10 revenue 522.50, as --inproc and as processes',
      )
      // 0. Warm-up: every worker connected to the gateway and the aggregator, orders priced.
      const warm = await phase('warm-up', () =>
        until('orders priced', () => priced() >= 50, 20_000).then(() => {}),
      )
      expect(warm.priced).toBeGreaterThan(0)

      // 1. SIGKILL worker-1 (on b): restarted by b's agent; the gateway keeps answering with the same pid.
      const kill = await phase('SIGKILL worker-1', async () => {
        await until('some orders', () => load.accepted > warm.accepted + 25)
        const w1 = inst('worker-1')!
        process.kill(w1.pid!, 'SIGKILL')
        await until('worker-1 restarted', () => {
          const i = runningOn('worker-1', 'b')
          return i !== undefined && i.pid !== w1.pid
        })
        const served = load.accepted
        await until('orders after the restart', () => load.accepted > served + 50)
      })
      expect(log.some((l) => l.includes('instance:down worker-1@b'))).toBe(true)
      expect(inst('gateway-1')!.pid).toBe(gatewayPid)
      expect(kill.failed).toBe(0) // the gateway's HTTP side never notices
      expect(kill.priced).toBeGreaterThan(0)
      expect(kill.priced).toBeLessThanOrEqual(kill.accepted) // at most once

      // 2. Host c's link down: worker-2 and aggregator-1 move to b; the gateway keeps accepting orders.
      let movedMs = 0
      const loss = await phase('host c lost', async () => {
        await until('some orders', () => load.accepted > 0)
        const downAt = Date.now()
        expect(hosts.link('c', 'down')).toBeUndefined()
        await until(
          'worker-2 and aggregator-1 running on b',
          () => runningOn('worker-2', 'b') && runningOn('aggregator-1', 'b'),
        )
        movedMs = Date.now() - downAt
        // Orders reach the moved aggregator (the workers followed its address).
        const before = priced()
        await until('orders priced on b', () => priced() > before, 20_000)
        const served = load.accepted
        await until('orders after the move', () => load.accepted > served + 50)
      })
      expect(inst('gateway-1')!.pid).toBe(gatewayPid) // followed, not restarted
      expect(loss.failed).toBe(0)
      expect(loss.priced).toBeLessThanOrEqual(loss.accepted)

      // 3. After the failover: every order accepted is priced (docs/deploying.md § Failover: once the failover's
      // addresses are applied, no request fails).
      const after = await phase('after the failover', async () => {
        const from = load.accepted
        await until('100 orders', () => load.accepted >= from + 100)
      })
      expect(after.failed).toBe(0)
      expect(after.priced).toBe(after.accepted)

      // 4. c comes back: rejoins empty; rebalance moves worker-2 and aggregator-1 home; orders priced there.
      expect(hosts.link('c', 'up')).toBeUndefined()
      await until('c back', () => st().hosts.find((h) => h.host === 'c')?.state === 'up', 30_000)
      expect(st().hosts.find((h) => h.host === 'c')!.instances).toEqual([])
      const home = await phase('rebalance back to c', async () => {
        const moves = controller.rebalance()
        expect(moves.map((m) => `${m.instance}:${m.from}→${m.to}`).sort()).toEqual([
          'aggregator-1:b→c',
          'worker-2:b→c',
        ])
        await until(
          'worker-2 and aggregator-1 home on c',
          () => runningOn('worker-2', 'c') && runningOn('aggregator-1', 'c'),
        )
        const before = priced()
        await until('orders priced on c again', () => priced() > before, 20_000)
        const served = load.accepted
        await until('orders after the rebalance', () => load.accepted > served + 50)
      })
      expect(home.failed).toBe(0)
      expect(home.priced).toBeGreaterThan(0)
      expect(inst('gateway-1')!.pid).toBe(gatewayPid)
      console.log(
        `netns example (examples/control-app, topology-3hosts.yaml): host c lost → moved in ${movedMs} ms\n  ${phases.join('\n  ')}\n  ${log.join('\n  ')}`,
      )
    } catch (err) {
      for (const i of controller.status().instances) {
        const lines: string[] = []
        try {
          for await (const l of controller.logs(i.instance, { lines: 30 }))
            lines.push(`${l.stream} ${l.line}`)
        } catch (e) {
          lines.push(String(e))
        }
        console.error(`--- ${i.instance}@${i.host} (${i.state})\n${lines.join('\n')}`)
      }
      for (const h of HOSTS)
        for (const f of ['aggregator-1.log', 'worker-2.log']) {
          const file = join(logDir(h), f)
          if (existsSync(file)) console.error(`--- ${file}\n${readFileSync(file, 'utf8')}`)
        }
      console.error(`${phases.join('\n')}\n${log.join('\n')}`)
      throw err
    } finally {
      await controller.close()
    }
  }, 120_000)
})
