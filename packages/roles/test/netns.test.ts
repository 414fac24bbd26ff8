// Proven on several hosts (issue 13): three network namespaces on a bridge, one agent in each (the `dripdrop
// agent` command module as its own process), the control server's RoleController in the root namespace, the
// 3-host app (gateway on a; workers on b and c; aggregator on c) spread by its topology file. Then:
//  1. SIGKILL a worker: the agent reports it at once, restarts it; the gateway (same process) keeps answering.
//  2. Take host c's link down: after the heartbeat timeout the controller moves worker-2 and aggregator-1 to b,
//     the gateway and worker-1 get the new addresses over IPC and follow them (no restart); requests keep being
//     served. Requests lost during the move are counted (and stated in docs/deploying.md § Failover).
//  3. Bring c back: it rejoins empty (its leftovers stopped); rebalance moves its instances home.
// Needs root and iproute2; reported as skipped with its reason otherwise.
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RoleController } from '../src/controller/controller.js'
import { loadTopology } from '../src/topology/load.js'
import type { Topology } from '../src/topology/types.js'
import { type Host, HOSTS, ThreeHosts, until } from './support/three-hosts.js'

const FIX = resolve(import.meta.dirname, 'fixtures/netns')
const hosts = new ThreeHosts({ prefix: 'ddr', subnet: '10.199' })
const { IP, CONTROL_IP } = hosts
const setUp = () => hosts.setUp()
const tearDown = () => hosts.tearDown()
const startAgent = (h: Host, control: string) =>
  hosts.startAgent(h, control, ['--import', 'tsx', join(FIX, 'agent.ts')])

/** Resolves once the instance's log has a line containing `text` (polled through the controller). */
async function printed(controller: RoleController, instance: string, text: string): Promise<void> {
  const end = Date.now() + 20_000
  for (;;) {
    for await (const l of controller.logs(instance, { lines: 200 })) if (l.line.includes(text)) return
    if (Date.now() > end) throw new Error(`${instance} did not print "${text}" within 20 s`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Requests at a steady rate to the gateway, counted by outcome; every request bounded by a timeout. */
class Load {
  ok = 0
  failed = 0
  readonly byWorker = new Map<string, number>()
  /** Failures: time (ms since the epoch) and why. */
  readonly failures: { at: number; why: string }[] = []
  #timer: NodeJS.Timeout | undefined
  constructor(readonly url: string) {}
  start(perSecond: number): void {
    this.#timer = setInterval(() => void this.#one(), 1000 / perSecond)
  }
  stop(): void {
    clearInterval(this.#timer)
  }
  snapshot(): { ok: number; failed: number } {
    return { ok: this.ok, failed: this.failed }
  }
  async #one(): Promise<void> {
    try {
      const res = await fetch(`${this.url}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"qty":2}',
        signal: AbortSignal.timeout(3000),
      })
      const body = (await res.json()) as { by?: string }
      if (res.ok && body.by !== undefined) {
        this.ok++
        this.byWorker.set(body.by, (this.byWorker.get(body.by) ?? 0) + 1)
      } else {
        this.failed++
        this.failures.push({ at: Date.now(), why: `${res.status} ${(body as { code?: string }).code ?? ''}` })
      }
    } catch (err) {
      this.failed++
      this.failures.push({ at: Date.now(), why: (err as Error).name })
    }
  }
}

let skipped: string | undefined
beforeAll(() => {
  skipped = setUp()
  if (skipped) console.warn(`netns test skipped: ${skipped}`)
})
afterAll(tearDown)

describe('3 hosts as network namespaces', () => {
  it('SIGKILL → restarted unnoticed; a host lost → its roles move, the app keeps serving; back → rejoins empty, rebalance', async (ctx) => {
    if (skipped) {
      ctx.skip(`netns test skipped: ${skipped}`)
      return
    }
    const file = join(FIX, `topology-3hosts.${process.pid}.yaml`)
    writeFileSync(
      file,
      readFileSync(join(FIX, 'topology-3hosts.yaml'), 'utf8')
        .replaceAll('__A__', IP.a)
        .replaceAll('__B__', IP.b)
        .replaceAll('__C__', IP.c),
    )
    let topology: Topology
    try {
      topology = await loadTopology(file)
    } finally {
      rmSync(file, { force: true })
    }
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
    controller.on('host:up', (x) => note(`host:up ${x.host}${x.back ? ' (back)' : ''}`))
    controller.on('failover', (x) =>
      note(`failover ${x.host}: ${x.moved.map((m) => `${m.instance} ${m.from}→${m.to}`).join(', ')}`),
    )
    await controller.start()
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
      )
      const load = new Load(`http://${IP.a}:18080`)
      // The gateway serves once its workers are connected.
      await until('the gateway answers', () => {
        void fetch(`${load.url}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
          signal: AbortSignal.timeout(1000),
        })
          .then((r) => r.json() as Promise<{ by?: string }>)
          .then((b: { by?: string }) => {
            if (b.by !== undefined) load.ok++
          })
          .catch(() => {})
        return load.ok > 0
      })
      load.ok = 0
      const gatewayPid = inst('gateway-1')!.pid
      load.start(50)
      await until('requests served', () => load.ok > 20)

      // 1. SIGKILL worker-1 (on b): reported down at once, restarted; the gateway keeps answering.
      const w1 = inst('worker-1')!
      const beforeKill = load.snapshot()
      const killedAt = Date.now()
      process.kill(w1.pid!, 'SIGKILL')
      await until('worker-1 restarted', () => {
        const i = runningOn('worker-1', 'b')
        return i !== undefined && i.pid !== w1.pid
      })
      const restartedMs = Date.now() - killedAt
      // Serving again: its new process bound its port (it prints `up … pid <pid>` once its node started).
      await printed(controller, 'worker-1', `pid ${inst('worker-1')!.pid}`)
      const servingMs = Date.now() - killedAt
      const kill = { ok: load.ok - beforeKill.ok, failed: load.failed - beforeKill.failed }
      expect(log.some((l) => l.includes('instance:down worker-1@b'))).toBe(true)
      expect(inst('gateway-1')!.pid).toBe(gatewayPid)

      // 2. Host c's link goes down: worker-2 and aggregator-1 move to b; the app keeps serving.
      const beforeLoss = load.snapshot()
      const byWorkerBefore = new Map(load.byWorker)
      const downAt = Date.now()
      expect(hosts.link('c', 'down')).toBeUndefined()
      await until(
        'worker-2 and aggregator-1 running on b',
        () => runningOn('worker-2', 'b') && runningOn('aggregator-1', 'b'),
      )
      const movedMs = Date.now() - downAt
      await printed(controller, 'worker-2', `pid ${inst('worker-2')!.pid}`)
      const servingAgainMs = Date.now() - downAt
      const served = load.ok
      await until('requests served after the move', () => load.ok > served + 100, 30_000)
      const loss = { ok: load.ok - beforeLoss.ok, failed: load.failed - beforeLoss.failed }
      const servedBy = [...load.byWorker]
        .map(([w, n]) => `${w}:${n - (byWorkerBefore.get(w) ?? 0)}`)
        .join(' ')
      expect(inst('gateway-1')!.pid).toBe(gatewayPid) // followed the workers, not restarted
      // After the move the failures stop: the next 50 requests all succeed.
      const settled = load.snapshot()
      await until('50 more answers', () => load.ok >= settled.ok + 50)
      expect(load.failed).toBe(settled.failed)

      // 3. c comes back: it rejoins empty; rebalance moves its instances home.
      expect(hosts.link('c', 'up')).toBeUndefined()
      await until('c back', () => st().hosts.find((h) => h.host === 'c')?.state === 'up', 30_000)
      expect(st().hosts.find((h) => h.host === 'c')!.instances).toEqual([])
      const moves = controller.rebalance()
      expect(moves.map((m) => `${m.instance}:${m.from}→${m.to}`).sort()).toEqual([
        'aggregator-1:b→c',
        'worker-2:b→c',
      ])
      await until(
        'worker-2 and aggregator-1 home on c',
        () => runningOn('worker-2', 'c') && runningOn('aggregator-1', 'c'),
      )
      const back = load.snapshot()
      await until('answers after the rebalance', () => load.ok > back.ok + 50)
      load.stop()
      expect(inst('gateway-1')!.pid).toBe(gatewayPid)
      console.log(
        `netns: SIGKILL worker-1 → respawned in ${restartedMs} ms, serving again in ${servingMs} ms, ${kill.failed} of ${kill.ok + kill.failed} requests failed meanwhile; ` +
          `host c down → moved in ${movedMs} ms, serving on b in ${servingAgainMs} ms, ${loss.failed} of ${loss.ok + loss.failed} requests failed during the move (answered by ${servedBy}); ` +
          `after the move 0 failed; rebalance back to c: ${load.failed - back.failed} failed\n  ${log.join('\n  ')}\n` +
          `failures (s after c down): ${load.failures.map((f) => `${((f.at - downAt) / 1000).toFixed(2)} ${f.why}`).join(', ')}`,
      )
    } catch (err) {
      // What each instance printed, to see why.
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
      console.error(log.join('\n'))
      throw err
    } finally {
      await controller.close()
    }
  }, 90_000)
})
