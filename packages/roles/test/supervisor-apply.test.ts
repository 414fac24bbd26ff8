// Reload and scale: apply() touches only what changed (connect-only changes go over IPC, no restart);
// scale() re-resolves the topology so the connect lists of the other roles follow; updateAddresses() reaches
// the child's role() handle.
import { describe, expect, it, onTestFinished } from 'vitest'
import { resolveTopology, Supervisor, type Topology } from '../src/index.js'
import { FIXTURES, nextEvent, tempDir } from './helpers.js'

function shop(workerEnv: Record<string, string> = {}, gatewayPort = 17301): Topology {
  return {
    name: 'shop',
    baseDir: FIXTURES,
    roles: {
      gateway: { entry: './service.mjs', bind: { work: `tcp://0.0.0.0:${gatewayPort}` } },
      // role-child prints each address change it gets over IPC.
      worker: {
        entry: './role-child.mjs',
        instances: 2,
        env: { KEEP: '1', CHANGES: '100', ...workerEnv },
        connect: { work: 'role:gateway/work' },
      },
      aggregator: { entry: './service.mjs' },
    },
  }
}

function supervise(topology: Topology): Supervisor {
  const s = new Supervisor({ topology, logDir: tempDir() })
  onTestFinished(() => {
    s.destroy()
  })
  return s
}

const pids = (s: Supervisor) => Object.fromEntries(s.status().map((i) => [i.instance, i.pid]))

describe('Supervisor.apply / scale / updateAddresses', () => {
  it('updateAddresses() reaches the running child over IPC (role() emits change)', async () => {
    const s = supervise(shop())
    const hello = nextEvent(
      s,
      'instance:log',
      (l) => l.instance === 'worker-1' && l.line.startsWith('{"app"'),
    )
    await s.start()
    expect(JSON.parse((await hello).line).addresses.connect.work).toEqual(['tcp://127.0.0.1:17301'])
    const changed = nextEvent(
      s,
      'instance:log',
      (l) => l.instance === 'worker-1' && l.line.startsWith('{"change"'),
    )
    const moved = { bind: {}, connect: { work: ['tcp://10.1.1.1:17301'] } }
    expect(s.updateAddresses('worker-1', moved)).toBe(true)
    expect(JSON.parse((await changed).line).change).toEqual(moved)
    expect(s.instances().find((i) => i.instance === 'worker-1')?.addresses).toEqual(moved)
  })

  it('apply(): connect-only changes are sent, changed specs restart, removed stop, new start, the rest untouched', async () => {
    const s = supervise(shop())
    const ready = Promise.all(
      ['worker-1', 'worker-2'].map((i) =>
        nextEvent(s, 'instance:log', (l) => l.instance === i && l.line.startsWith('{"app"')),
      ),
    )
    await s.start()
    await ready
    const before = pids(s)
    // The gateway moves to another port (restart), the workers' connect list follows (IPC, no restart),
    // worker-1's env changes (restart), the aggregator goes away, a new role appears.
    const next = shop({}, 17302)
    next.roles.worker.env = { ...next.roles.worker.env }
    delete next.roles.aggregator
    next.roles.extra = { entry: './service.mjs' }
    const target = resolveTopology(next)
    target[1] = { ...target[1], env: { ...target[1].env, LOG_LEVEL: 'debug' } }
    const change2 = nextEvent(
      s,
      'instance:log',
      (l) => l.instance === 'worker-2' && l.line.startsWith('{"change"'),
    )
    const result = await s.apply(target)
    expect(result).toEqual({
      started: ['extra-1'],
      stopped: ['aggregator-1'],
      restarted: ['gateway-1', 'worker-1'],
      updated: ['worker-2'],
      unchanged: [],
    })
    expect(JSON.parse((await change2).line).change.connect.work).toEqual(['tcp://127.0.0.1:17302'])
    const after = pids(s)
    expect(Object.keys(after)).toEqual(['gateway-1', 'worker-1', 'worker-2', 'extra-1'])
    expect(after['worker-2']).toBe(before['worker-2'])
    expect(after['worker-1']).not.toBe(before['worker-1'])
    expect(after['gateway-1']).not.toBe(before['gateway-1'])
    expect(after['extra-1']).toBeGreaterThan(0)
    // The same set again changes nothing.
    expect(await s.apply(target)).toMatchObject({ started: [], stopped: [], restarted: [], updated: [] })
  })

  it('scale(role, n) adds and removes instances; connectors of the scaled role get the new list', async () => {
    const s = supervise(shop())
    await s.start()
    const gw = nextEvent(
      s,
      'instance:log',
      (l) => l.instance === 'worker-2' && l.line.startsWith('{"change"'),
    )
    const up = await s.scale('gateway', 2)
    expect(up).toMatchObject({ started: ['gateway-2'], updated: ['worker-1', 'worker-2'], restarted: [] })
    expect(JSON.parse((await gw).line).change.connect.work).toEqual([
      'tcp://127.0.0.1:17301',
      'tcp://127.0.0.1:17302',
    ])
    const down = await s.scale('worker', 1)
    expect(down).toMatchObject({ stopped: ['worker-2'], started: [] })
    expect(s.status().map((i) => `${i.instance} ${i.state}`)).toEqual([
      'gateway-1 running',
      'worker-1 running',
      'aggregator-1 running',
      'gateway-2 running',
    ])
    await expect(s.scale('nope', 1)).rejects.toMatchObject({ code: 'DD_ERR_SUPERVISOR' })
    // A supervisor of one role (dripdrop start --role worker) scales that role only.
    const workers = new Supervisor({
      topology: shop(),
      instances: resolveTopology(shop(), { role: 'worker' }),
      logDir: tempDir(),
    })
    onTestFinished(() => {
      workers.destroy()
    })
    await workers.start()
    expect(await workers.scale('worker', 3)).toMatchObject({ started: ['worker-3'], stopped: [] })
    expect(workers.status().map((i) => i.instance)).toEqual(['worker-1', 'worker-2', 'worker-3'])
    const bare = new Supervisor({ instances: resolveTopology(shop()), logDir: tempDir() })
    await expect(bare.scale('worker', 3)).rejects.toThrow(/scale\(\) needs the topology/)
  })
})
