// Topology files: loading (YAML, JSON, TS module), validation issues named by path, and address resolution.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import {
  loadTopology,
  RESTART_DEFAULTS,
  resolveTopology,
  roleLimits,
  type Topology,
  TopologyError,
  validateTopology,
} from '../src/index.js'

const FIXTURES = resolve(import.meta.dirname, 'fixtures')

function issuesOf(doc: unknown): string[] {
  try {
    validateTopology(doc)
  } catch (err) {
    expect(err).toBeInstanceOf(TopologyError)
    expect((err as TopologyError).code).toBe('DD_ERR_TOPOLOGY')
    return [...(err as TopologyError).issues]
  }
  throw new Error('expected the topology to be refused')
}

function tempFile(name: string, text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'dd-topology-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  const file = join(dir, name)
  writeFileSync(file, text)
  return file
}

const base = (roles: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  ({ name: 'app', roles, ...extra }) as unknown as Topology

describe('validation', () => {
  it('names the path of each issue, schema and semantic alike', () => {
    expect(issuesOf(base({ worker: { entry: './w.js', instances: 0 } }))).toEqual([
      'roles.worker.instances must be >= 1',
    ])
    expect(issuesOf(base({ worker: { entry: './w.js', instnces: 2 } }))).toEqual([
      'roles.worker.instnces: unknown key',
    ])
    expect(issuesOf(base({ worker: {} }))).toEqual(['roles.worker: missing "entry"'])
    expect(issuesOf({ roles: { w: { entry: 'x' } } })).toEqual(['topology: missing "name"'])
    expect(issuesOf(base({ Worker: { entry: 'x' } }))).toEqual([
      'roles.Worker: must be a name: lowercase letters, digits and "-", starting with a letter',
    ])
    expect(issuesOf(base({ w: { entry: 'x', restart: { policy: 'sometimes' } } }))).toEqual([
      'roles.w.restart.policy must be one of always, on-failure, never',
    ])
    expect(
      issuesOf(
        base({
          gateway: { entry: 'g', bind: { work: 'tcp://0.0.0.0:7301', any: 'tcp://0.0.0.0:*' } },
          worker: {
            entry: 'w',
            connect: {
              work: 'role:gatway/work',
              job: 'role:gateway/jobs',
              any: 'role:gateway/any',
              bad: 'nonsense',
            },
          },
        }),
      ),
    ).toEqual([
      'roles.worker.connect.work: unknown role "gatway"',
      'roles.worker.connect.job: role "gateway" binds no "jobs" (it binds: work, any)',
      'roles.worker.connect.any: roles.gateway.bind.any is "tcp://0.0.0.0:*", an OS-chosen port; a role others connect to must bind a fixed port',
      'roles.worker.connect.bad: "nonsense" is neither role:<role>/<bindName> nor an address',
    ])
    expect(
      issuesOf(
        base(
          { worker: { entry: 'w' } },
          { hosts: { b: { address: '10.0.0.2', roles: { worker: 1, wrker: 1 }, allow: ['gateway'] } } },
        ),
      ),
    ).toEqual([
      'hosts.b.roles.wrker: role "wrker" not declared',
      'hosts.b.allow[0]: role "gateway" not declared',
    ])
  })

  it('refuses two binds of one port on one host, including the +index offsets of a role with several instances', () => {
    expect(
      issuesOf(
        base({
          a: { entry: 'a', instances: 2, bind: { x: 'tcp://0.0.0.0:7000' } },
          b: { entry: 'b', bind: { y: 'http://127.0.0.1:7001' } },
        }),
      ),
    ).toEqual([
      'roles.b.bind.y: http://127.0.0.1:7001 on host local is also bound by roles.a.bind.x (instance index 1: +1)',
    ])
    // On two hosts the same port is fine.
    expect(() =>
      validateTopology(
        base(
          {
            a: { entry: 'a', bind: { x: 'tcp://0.0.0.0:7000' } },
            b: { entry: 'b', bind: { y: 'tcp://0.0.0.0:7000' } },
          },
          { hosts: { h1: { address: '10.0.0.1', roles: ['a'] }, h2: { address: '10.0.0.2', roles: ['b'] } } },
        ),
      ),
    ).not.toThrow()
  })

  it('min/max: min <= max, and the hosts may not place more than max', () => {
    expect(issuesOf(base({ w: { entry: 'w', min: 3, max: 2 } }))).toEqual([
      'roles.w.min (3) must be <= roles.w.max (2)',
    ])
    expect(
      issuesOf(
        base({ w: { entry: 'w', max: 2 } }, { hosts: { h: { address: '10.0.0.1', roles: { w: 3 } } } }),
      ),
    ).toEqual(['roles.w.max is 2, but the hosts place 3 instances'])
  })

  it('lists every issue in the message of one TopologyError', () => {
    const err = (() => {
      try {
        validateTopology(base({ a: { entry: 'a', instances: -1 }, b: { entry: 3 } }), 'x.yaml')
      } catch (e) {
        return e as TopologyError
      }
    })()
    expect(err?.issues).toEqual(['roles.a.instances must be >= 1', 'roles.b.entry must be string'])
    expect(err?.message).toBe(
      'topology x.yaml: \n  roles.a.instances must be >= 1\n  roles.b.entry must be string',
    )
  })
})

describe('loadTopology', () => {
  it('reads YAML, sets baseDir to the file directory', async () => {
    const t = await loadTopology(join(FIXTURES, 'shop.yaml'))
    expect(t.name).toBe('shop')
    expect(t.baseDir).toBe(FIXTURES)
    expect(Object.keys(t.roles)).toEqual(['gateway', 'worker', 'aggregator'])
  })

  it('reads JSON and a TS module (default export, through tsx)', async () => {
    const json = tempFile('t.json', JSON.stringify(base({ w: { entry: './w.js' } })))
    expect((await loadTopology(json)).roles.w.entry).toBe('./w.js')
    const mod = await loadTopology(join(FIXTURES, 'module.ts'))
    expect(mod.roles.echo.bind).toEqual({ rep: 'tcp://127.0.0.1:7500' })
  })

  it('names the file and the problem when it cannot read, parse or validate', async () => {
    await expect(loadTopology('/nonexistent/t.yaml')).rejects.toMatchObject({
      code: 'DD_ERR_TOPOLOGY',
      issues: [expect.stringMatching(/^cannot read: ENOENT/)],
    })
    await expect(loadTopology(tempFile('t.yaml', 'name: x\nroles: [\n'))).rejects.toMatchObject({
      code: 'DD_ERR_TOPOLOGY',
      issues: [expect.stringMatching(/^not valid YAML \(line \d+\)/)],
    })
    const bad = tempFile('t.yml', 'name: x\nroles:\n  w: { entry: a, instances: 0 }\n')
    await expect(loadTopology(bad)).rejects.toMatchObject({
      code: 'DD_ERR_TOPOLOGY',
      file: bad,
      issues: ['roles.w.instances must be >= 1'],
    })
    await expect(loadTopology(tempFile('t.mjs', 'export const x = 1\n'))).rejects.toMatchObject({
      code: 'DD_ERR_TOPOLOGY',
      issues: [expect.stringMatching(/no default export/)],
    })
  })
})

describe('resolveTopology', () => {
  it('one host: instance names, entries, env, restart defaults, role: connects to 127.0.0.1', async () => {
    const t = await loadTopology(join(FIXTURES, 'shop.yaml'))
    const all = resolveTopology(t)
    expect(all.map((i) => i.instance)).toEqual(['gateway-1', 'worker-1', 'worker-2', 'aggregator-1'])
    const [gw, w1, w2, agg] = all
    expect(gw).toMatchObject({
      app: 'shop',
      role: 'gateway',
      index: 0,
      host: 'local',
      hostAddress: '127.0.0.1',
      entry: join(FIXTURES, 'gateway.js'),
      env: { LOG_LEVEL: 'info', RETRIES: '3' },
      restart: { ...RESTART_DEFAULTS, maxRestarts: 2, stopTimeoutMs: 1000 },
      control: 'tcp://127.0.0.1:7200',
      addresses: { bind: { http: 'http://0.0.0.0:8080', work: 'tcp://0.0.0.0:7301' }, connect: {} },
    })
    expect(w1.entry).toBe(join(FIXTURES, 'worker.ts'))
    expect(w1.args).toEqual(['--fast'])
    expect(w1.restart).toEqual(RESTART_DEFAULTS)
    expect([w1.index, w2.index]).toEqual([0, 1])
    expect(w2.addresses).toEqual({
      bind: {},
      connect: {
        work: ['tcp://127.0.0.1:7301'],
        priced: ['tcp://127.0.0.1:7400'],
        extra: ['tcp://10.0.0.9:9000'],
      },
    })
    expect(agg.entry).toBe('/abs/aggregator.js')
  })

  it('several hosts: numbering across hosts, +index ports per host, host addresses in connects, filters', async () => {
    const t = await loadTopology(join(FIXTURES, 'shop-hosts.yaml'))
    const all = resolveTopology(t)
    expect(all.map((i) => `${i.host}:${i.instance}:${i.index}`)).toEqual([
      'a:gateway-1:0',
      'a:worker-1:0',
      'b:worker-2:0',
      'b:worker-3:1',
      'c:gateway-2:0',
    ])
    expect(all[3].addresses.bind).toEqual({ metrics: 'http://0.0.0.0:9101' })
    expect(all[3].hostAddress).toBe('10.200.2.2')
    expect(all[1].addresses.connect.work).toEqual(['tcp://10.200.1.2:7301', 'tcp://10.200.3.2:7301'])
    expect(resolveTopology(t, { host: 'b' }).map((i) => i.instance)).toEqual(['worker-2', 'worker-3'])
    expect(resolveTopology(t, { role: 'gateway' }).map((i) => i.instance)).toEqual(['gateway-1', 'gateway-2'])
    expect(roleLimits(t, 'worker')).toEqual({ min: 3, max: 4, placed: 3 })
    expect(roleLimits(t, 'gateway')).toEqual({ min: 2, max: 2, placed: 2 })
  })

  it('--instances N overrides the count of the selected role on the selected host', async () => {
    const t = await loadTopology(join(FIXTURES, 'shop.yaml'))
    const workers = resolveTopology(t, { role: 'worker', instances: 3 })
    expect(workers.map((i) => i.instance)).toEqual(['worker-1', 'worker-2', 'worker-3'])
    const gateways = resolveTopology(t, { role: 'gateway', instances: 2 })
    expect(gateways.map((i) => i.addresses.bind.work)).toEqual(['tcp://0.0.0.0:7301', 'tcp://0.0.0.0:7302'])
  })

  it('refuses an unknown host or role, and an invalid topology', () => {
    const t: Topology = base({ w: { entry: 'w' } })
    expect(() => resolveTopology(t, { host: 'nowhere' })).toThrow(/host "nowhere" is not declared/)
    expect(() => resolveTopology(t, { role: 'x' })).toThrow(/role "x" is not declared \(roles: w\)/)
    expect(() => resolveTopology(base({ w: { entry: 'w', instances: 0 } }))).toThrow(TopologyError)
    expect(resolveTopology(t, { host: 'local' })).toHaveLength(1)
  })
})
