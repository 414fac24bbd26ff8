// The control server's RoleController with two real agents (one per "host", both on this machine: hosts a and
// b resolve to 127.0.0.1 and 127.0.0.2) running real role processes: registration, assignment, an exit
// reported at once, commands, logs, failover of a lost host with address updates and no restart, rejoin
// empty, rebalance, scale, reload.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it, onTestFinished } from 'vitest'
import { Agent } from '../src/agent/agent.js'
import { RoleController } from '../src/controller/controller.js'
import type { Topology } from '../src/topology/types.js'

const SVC = resolve(import.meta.dirname, 'fixtures/control/svc.ts')
const logDir = mkdtempSync(join(tmpdir(), 'dd-control-'))
afterAll(() => rmSync(logDir, { recursive: true, force: true }))

const port = 20_000 + (process.pid % 20_000)

function topology(): Topology {
  return {
    name: 'ctl',
    roles: {
      svc: {
        entry: SVC,
        bind: { ping: `tcp://0.0.0.0:${port}` },
        restart: { minDelayMs: 50, stopTimeoutMs: 2000 },
      },
      client: { entry: SVC, connect: { peer: 'role:svc/ping' }, restart: { stopTimeoutMs: 2000 } },
    },
    hosts: {
      a: { address: '127.0.0.1', roles: { svc: 1 } },
      b: { address: '127.0.0.2', roles: { client: 1 } },
    },
  }
}

async function until<T>(what: string, f: () => T | undefined | false, ms = 15_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = f()
    if (v !== undefined && v !== false) return v
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

function agent(controller: RoleController, host: string): Agent {
  const a = new Agent({
    control: controller.endpoint,
    host,
    heartbeatIntervalMs: 200,
    supervisor: { logDir },
  })
  onTestFinished(() => {
    a.destroy()
  })
  return a
}

async function logLines(c: RoleController, instance: string): Promise<string[]> {
  const out: string[] = []
  for await (const l of c.logs(instance, { lines: 200 })) out.push(l.line)
  return out
}

describe('RoleController + Agent', () => {
  it('assigns, reports exits at once, fails a lost host over without restarts, rejoins empty, rebalances', async () => {
    const c = new RoleController({
      topology: topology(),
      agents: 'tcp://127.0.0.1:*',
      heartbeatIntervalMs: 200,
      heartbeatTimeoutMs: 1000,
    })
    onTestFinished(() => {
      c.destroy()
    })
    const events: string[] = []
    for (const e of ['instance:up', 'instance:down', 'instance:restart', 'instance:stopped'] as const)
      c.on(e, (x) => events.push(`${e} ${x.instance}@${x.host}`))
    c.on('host:lost', (x) => events.push(`host:lost ${x.host}`))
    await c.start()
    const a = agent(c, 'a')
    const b = agent(c, 'b')
    await Promise.all([a.start(), b.start()])
    const running = (name: string, host: string) =>
      c.status().instances.find((i) => i.instance === name && i.host === host && i.state === 'running')
    await until('svc-1 and client-1 running', () => running('svc-1', 'a') && running('client-1', 'b'))
    expect(c.status().hosts.map((h) => [h.host, h.state, h.instances])).toEqual([
      ['a', 'up', ['svc-1']],
      ['b', 'up', ['client-1']],
    ])

    // An exit is reported by the agent as it happens, then the restart policy brings it back.
    const pid = running('svc-1', 'a')!.pid
    await c.command('kill', { instance: 'svc-1' })
    await until('svc-1 restarted', () => {
      const s = running('svc-1', 'a')
      return s !== undefined && s.pid !== pid
    })
    expect(events).toContain('instance:down svc-1@a')

    // Logs come from the agent.
    let clientLog: string[] = []
    for (let i = 0; i < 150 && !clientLog.some((l) => l.startsWith('up client-1 on b')); i++) {
      clientLog = await logLines(c, 'client-1')
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(
      clientLog.some((l) => l.startsWith('up client-1 on b') && l.includes(`tcp://127.0.0.1:${port}`)),
    ).toBe(true)

    // Host a goes silent (agent and children gone): svc-1 moves to b, client-1 gets the new address over IPC.
    const clientPid = running('client-1', 'b')!.pid
    a.destroy()
    await until('svc-1 running on b', () => running('svc-1', 'b'))
    expect(events).toContain('host:lost a')
    let moved: string[] = []
    for (let i = 0; i < 100; i++) {
      moved = (await logLines(c, 'client-1')).filter((l) => l.startsWith('addresses '))
      if (moved.some((l) => l.includes(`tcp://127.0.0.2:${port}`))) break
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(moved.some((l) => l.includes(`tcp://127.0.0.2:${port}`))).toBe(true)
    expect(running('client-1', 'b')!.pid).toBe(clientPid) // not restarted

    // a comes back: it rejoins empty; rebalance moves svc-1 home.
    const a2 = agent(c, 'a')
    await a2.start()
    await until('a up again', () => c.status().hosts.find((h) => h.host === 'a' && h.state === 'up'))
    expect(c.status().hosts.find((h) => h.host === 'a')!.instances).toEqual([])
    expect(c.rebalance()).toEqual([{ instance: 'svc-1', role: 'svc', from: 'b', to: 'a' }])
    await until('svc-1 back on a', () => running('svc-1', 'a'))
    await until(
      'b runs only client-1',
      () => b.instances().length === 1 && b.instances()[0].instance === 'client-1',
    )
    expect(running('client-1', 'b')!.pid).toBe(clientPid)
  })

  it('refuses an unknown host; scale, stop/start a role and reload touch only what changed', async () => {
    const c = new RoleController({
      topology: topology(),
      agents: 'tcp://127.0.0.1:*',
      heartbeatIntervalMs: 200,
      heartbeatTimeoutMs: 1000,
    })
    onTestFinished(() => {
      c.destroy()
    })
    await c.start()
    const stranger = agent(c, 'zz')
    const refused: string[] = []
    stranger.on('agent:refused', (e) => refused.push(e.code))
    await stranger.start()
    await until('stranger refused', () => refused.length > 0)
    expect(refused[0]).toBe('DD_ERR_AGENT_REFUSED')
    expect(c.stats.refused.DD_ERR_AGENT_REFUSED).toBeGreaterThan(0)

    const b = agent(c, 'b')
    await b.start()
    const state = (name: string) => c.status().instances.find((i) => i.instance === name)?.state
    await until('client-1 running', () => state('client-1') === 'running')
    // a never registered: svc-1 stays placed there, waiting.
    expect(c.status().hosts.find((h) => h.host === 'a')!.state).toBe('waiting')

    expect(c.scale('client', 2)).toEqual({ added: ['client-2'], removed: [] })
    await until('client-2 running', () => state('client-2') === 'running')
    const pid1 = c.status().instances.find((i) => i.instance === 'client-1')!.pid

    await c.command('stop', { role: 'client' })
    expect(b.instances().map((i) => i.state)).toEqual(['stopped', 'stopped'])
    await c.command('start', { instance: 'client-1' })
    await until('client-1 running again', () => state('client-1') === 'running')
    await expect(c.command('restart', { instance: 'nope-1' })).rejects.toMatchObject({
      code: 'DD_ERR_CONTROL',
    })

    // Reload with a changed env for svc only: client-1 keeps its process; client-2 (scaled) goes away.
    const pid2 = c.status().instances.find((i) => i.instance === 'client-1')!.pid
    expect(pid2).not.toBe(pid1)
    const next = topology()
    next.roles.svc.env = { X: '1' }
    await c.reload(next)
    await until('client-2 gone', () => b.instances().length === 1)
    expect(c.status().instances.find((i) => i.instance === 'client-1')!.pid).toBe(pid2)
  })
})
