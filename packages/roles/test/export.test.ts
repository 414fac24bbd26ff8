// `exportTopology()` in every format, checked against each format's published schema or validator on this
// machine: Kubernetes objects with kubernetes-models (validators generated from the Kubernetes OpenAPI schema),
// compose.yaml with Ajv and the compose-spec JSON schema dclint ships, unit files with `systemd-analyze verify`.
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { Ajv } from 'ajv'
import { Deployment, StatefulSet } from 'kubernetes-models/apps/v1'
import { Service } from 'kubernetes-models/v1'
import { parse, parseAllDocuments } from 'yaml'
import { describe, expect, it, onTestFinished } from 'vitest'
import { type ExportedFile, exportTopology, loadTopology, type Topology } from '../src/index.js'

const REPO = resolve(import.meta.dirname, '../../..')
const SHOP = resolve(import.meta.dirname, 'export-fixtures/shop.yaml')

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dd-export-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function writeAll(dir: string, files: ExportedFile[]): void {
  for (const f of files) {
    mkdirSync(dirname(join(dir, f.path)), { recursive: true })
    writeFileSync(join(dir, f.path), f.content)
  }
}

function one(files: ExportedFile[], path: string): string {
  const f = files.find((x) => x.path === path)
  if (f === undefined) throw new Error(`no ${path} among ${files.map((x) => x.path).join(', ')}`)
  return f.content
}

// ---- Kubernetes: every object through the validator generated from the Kubernetes OpenAPI schema ----------

type K8sObject = { apiVersion: string; kind: string; metadata: { name: string }; spec: any }

/** Validates one object with kubernetes-models (throws its ValidationError when the object breaks the schema). */
function validateKubernetes(o: K8sObject): void {
  const key = `${o.apiVersion}/${o.kind}`
  if (key === 'apps/v1/Deployment') new Deployment(o as any).validate()
  else if (key === 'apps/v1/StatefulSet') new StatefulSet(o as any).validate()
  else if (key === 'v1/Service') new Service(o as any).validate()
  else throw new Error(`unexpected object ${key}`)
}

function kubernetesObjects(content: string): K8sObject[] {
  const docs = parseAllDocuments(content, { version: '1.1' })
  for (const d of docs) expect(d.errors).toEqual([])
  return docs.map((d) => d.toJS()).filter((o) => o !== null) as K8sObject[]
}

function envOf(o: K8sObject): Record<string, any> {
  const out: Record<string, any> = {}
  for (const e of o.spec.template.spec.containers[0].env) out[e.name] = e.value ?? e.valueFrom
  return out
}

// ---- compose: Ajv with the compose-spec schema --------------------------------------------------------

/** The compose-spec JSON schema (draft-07) as dclint ships it. */
function composeSchema(): Record<string, unknown> {
  const require = createRequire(import.meta.url)
  const dir = dirname(require.resolve('dclint/package.json'))
  const schema = JSON.parse(readFileSync(join(dir, 'schemas/compose.schema.json'), 'utf8'))
  // It names its meta-schema by an https URL Ajv does not register; Ajv's default is that same draft-07.
  delete schema.$schema
  return schema
}

const validateCompose = new Ajv({ allErrors: true, strict: false }).compile(composeSchema())

// ---- systemd: systemd-analyze verify -------------------------------------------------------------------

/** Runs `systemd-analyze verify` on a host's directory: every instance unit the target wants, and the target. */
function verifyUnits(dir: string): { status: number | null; stderr: string } {
  const target = readFileSync(join(dir, 'dripdrop-shop.target'), 'utf8')
  const wants = /^Wants=(.*)$/m.exec(target)?.[1].split(' ') ?? []
  expect(wants.length).toBeGreaterThan(0)
  const r = spawnSync(
    'systemd-analyze',
    ['verify', '--man=no', ...wants.map((u) => join(dir, u)), join(dir, 'dripdrop-shop.target')],
    {
      encoding: 'utf8',
      timeout: 20_000,
      // verify loads units from the directories of the files it is given; no running systemd is needed.
      env: { ...process.env, SYSTEMD_LOG_LEVEL: 'notice' },
    },
  )
  return { status: r.status, stderr: r.stderr }
}

describe('exportTopology: kubernetes', () => {
  it('renders a Service and a workload per role that validate against the Kubernetes schema', async () => {
    const topology = await loadTopology(SHOP)
    const files = exportTopology(topology, {
      format: 'kubernetes',
      root: REPO,
      image: 'registry.example/shop:1.4',
    })
    expect(files.map((f) => f.path)).toEqual(['kubernetes.yaml'])
    const objects = kubernetesObjects(files[0].content)
    for (const o of objects) validateKubernetes(o)
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'Service/shop-gateway',
      'Service/shop-aggregator',
      'StatefulSet/shop-gateway',
      'Deployment/shop-worker',
      'Deployment/shop-aggregator',
    ])
    const byName = (kind: string, name: string) =>
      objects.find((o) => o.kind === kind && o.metadata.name === name)!

    // replicas = every instance the hosts place
    expect(byName('StatefulSet', 'shop-gateway').spec.replicas).toBe(2)
    expect(byName('Deployment', 'shop-worker').spec.replicas).toBe(3)
    // ports named after the bind names; gateway's Service is headless (each of its 2 pods has a DNS name)
    const gw = byName('Service', 'shop-gateway').spec
    expect(gw.clusterIP).toBe('None')
    expect(gw.ports).toEqual([
      { name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' },
      { name: 'work', port: 7301, targetPort: 'work', protocol: 'TCP' },
    ])
    expect(byName('Service', 'shop-aggregator').spec.ports).toEqual([
      { name: 'priced', port: 7400, targetPort: 'priced', protocol: 'TCP' },
    ])

    // The worker connects to every gateway pod by its DNS name and to the aggregator's Service.
    const worker = byName('Deployment', 'shop-worker')
    const env = envOf(worker)
    expect(env.DRIPDROP_APP).toBe('shop')
    expect(env.DRIPDROP_ROLE).toBe('worker')
    expect(env.DRIPDROP_INSTANCE).toEqual({ fieldRef: { fieldPath: 'metadata.name' } })
    expect(env.DRIPDROP_HOST).toEqual({ fieldRef: { fieldPath: 'spec.nodeName' } })
    expect(env.DRIPDROP_CONTROL).toBe('tcp://10.200.0.1:7200')
    expect(JSON.parse(env.DRIPDROP_ADDRESSES)).toEqual({
      bind: {},
      connect: {
        work: ['tcp://shop-gateway-0.shop-gateway:7301', 'tcp://shop-gateway-1.shop-gateway:7301'],
        priced: ['tcp://shop-aggregator:7400'],
        collector: ['tcp://10.200.0.1:7100'],
      },
    })
    const container = worker.spec.template.spec.containers[0]
    expect(container.image).toBe('registry.example/shop:1.4')
    expect(container.workingDir).toBe('/app')
    expect(container.command).toEqual(['node', '--import', 'tsx', 'examples/control-app/worker.ts'])
    expect(container.args).toEqual(['--name', 'worker one'])

    // The gateway binds every interface of its pod; its own env comes first, `$(` kept literal.
    const gwEnv = envOf(byName('StatefulSet', 'shop-gateway'))
    expect(JSON.parse(gwEnv.DRIPDROP_ADDRESSES).bind).toEqual({
      http: 'http://0.0.0.0:8080',
      work: 'tcp://0.0.0.0:7301',
    })
    expect(gwEnv.PRICE_NOTE).toBe('50% off $today')
    const gwPod = byName('StatefulSet', 'shop-gateway').spec.template.spec
    expect(gwPod.terminationGracePeriodSeconds).toBe(3)
    // node is not PID 1 (it would ignore SIGTERM), no service links in the env
    expect([gwPod.shareProcessNamespace, gwPod.enableServiceLinks]).toEqual([true, false])
  })

  it('resolves to <service>.<namespace>.svc with a namespace, and plain Services for single instances', () => {
    const topology: Topology = {
      name: 'shop',
      roles: {
        gateway: {
          entry: 'examples/control-app/gateway.ts',
          bind: { work: 'tcp://10.0.0.5:7301', Admin_Port: 'http://127.0.0.1:9000' },
        },
        worker: {
          entry: 'examples/control-app/worker.js',
          instances: 4,
          connect: { work: 'role:gateway/work' },
        },
      },
      baseDir: REPO,
    }
    const objects = kubernetesObjects(
      exportTopology(topology, { format: 'kubernetes', root: REPO, namespace: 'prod' })[0].content,
    )
    for (const o of objects) validateKubernetes(o)
    for (const o of objects) expect((o.metadata as any).namespace).toBe('prod')
    const worker = objects.find((o) => o.metadata.name === 'shop-worker')!
    expect(worker.kind).toBe('Deployment')
    expect(worker.spec.template.spec.containers[0].command).toEqual([
      'node',
      'examples/control-app/worker.js',
    ])
    expect(JSON.parse(envOf(worker).DRIPDROP_ADDRESSES).connect.work).toEqual([
      'tcp://shop-gateway.prod.svc:7301',
    ])
    const svc = objects.find((o) => o.kind === 'Service')!
    expect(svc.spec.type).toBe('ClusterIP')
    // a bind name with capitals and _ becomes a port name; a specific host becomes 0.0.0.0 inside the pod
    expect(svc.spec.ports.map((p: any) => p.name)).toEqual(['work', 'admin-port'])
    const gwEnv = envOf(objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'shop-gateway')!)
    expect(JSON.parse(gwEnv.DRIPDROP_ADDRESSES).bind).toEqual({
      work: 'tcp://0.0.0.0:7301',
      Admin_Port: 'http://0.0.0.0:9000',
    })
  })

  it('the schema check fails on an object that breaks it', () => {
    const topology: Topology = { name: 'shop', roles: { worker: { entry: 'w.js' } }, baseDir: REPO }
    const [deployment] = kubernetesObjects(
      exportTopology(topology, { format: 'kubernetes', root: REPO })[0].content,
    )
    validateKubernetes(deployment)
    deployment.spec.replicas = 'two'
    expect(() => validateKubernetes(deployment)).toThrow(/replicas/)
  })
})

describe('exportTopology: compose', () => {
  it('renders a compose file valid under the compose-spec schema, one service per role', async () => {
    const topology = await loadTopology(SHOP)
    const out = tempDir()
    const files = exportTopology(topology, { format: 'compose', root: REPO, outDir: join(out, 'deploy') })
    expect(files.map((f) => f.path)).toEqual(['compose.yaml'])
    const doc = parse(files[0].content, { version: '1.1' })
    expect(validateCompose(doc), JSON.stringify(validateCompose.errors, null, 2)).toBe(true)
    expect(doc.name).toBe('shop')
    expect(Object.keys(doc.services)).toEqual(['gateway', 'worker', 'aggregator'])
    const { gateway, worker, aggregator } = doc.services
    expect([gateway.deploy.replicas, worker.deploy.replicas, aggregator.deploy.replicas]).toEqual([2, 3, 1])
    // restart policies mapped: always, on-failure capped at maxRestarts (default 5), never
    expect([gateway.restart, worker.restart, aggregator.restart]).toEqual(['always', 'on-failure:5', 'no'])
    expect(files[0].content).toContain('restart: "no"')
    expect(gateway.stop_grace_period).toBe('2500ms')
    expect(gateway.stop_signal).toBe('SIGTERM')
    expect(gateway.init).toBe(true)
    expect(worker.depends_on).toEqual(['gateway', 'aggregator'])
    expect(gateway.expose).toEqual(['8080', '7301'])
    expect(worker.networks).toEqual(['shop'])
    // default image: the root mounted read-only, written relative to the output directory
    expect(gateway.image).toBe('node:20-slim')
    expect(worker.volumes).toEqual([
      { type: 'bind', source: `${relativeToOut(join(out, 'deploy'))}`, target: '/app', read_only: true },
    ])
    // The worker connects to each gateway container (gateway has 2 instances) and to the aggregator service.
    expect(JSON.parse(worker.environment.DRIPDROP_ADDRESSES)).toEqual({
      bind: {},
      connect: {
        work: ['tcp://shop-gateway-1:7301', 'tcp://shop-gateway-2:7301'],
        priced: ['tcp://aggregator:7400'],
        collector: ['tcp://10.200.0.1:7100'],
      },
    })
    expect(worker.command.slice(3)).toEqual([
      'worker',
      '--import',
      'tsx',
      'examples/control-app/worker.ts',
      '--name',
      'worker one',
    ])
    // `$` is doubled: compose would otherwise interpolate it
    expect(gateway.environment.PRICE_NOTE).toBe('50% off $$today')
  })

  it('runs the role the way the supervisor does: instance and host from the container, env as given', () => {
    const topology: Topology = {
      name: 'shop',
      roles: { worker: { entry: 'examples/control-app/worker.ts', args: ['$HOME'] } },
      baseDir: REPO,
    }
    const doc = parse(exportTopology(topology, { format: 'compose', root: REPO, image: 'shop:1' })[0].content)
    const cmd: string[] = doc.services.worker.command
    expect(doc.services.worker.volumes).toBeUndefined()
    // What the container's shell runs once compose turns `$$` into `$`: execute it with a stand-in for node.
    const script = cmd[2].replace(/\$\$/g, '$').replace('exec node', 'exec printf "%s|"')
    const r = spawnSync(
      'sh',
      ['-c', `${script}; echo`, ...cmd.slice(3).map((a) => a.replace(/\$\$/g, '$'))],
      {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOSTNAME: 'c0ffee12' },
      },
    )
    expect(r.stdout).toBe('--import|tsx|examples/control-app/worker.ts|$HOME|')
    const env = spawnSync(
      'sh',
      [
        '-c',
        cmd[2].replace(/\$\$/g, '$').replace('exec node "$@"', 'echo "$DRIPDROP_INSTANCE $DRIPDROP_HOST"'),
      ],
      {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, HOSTNAME: 'c0ffee12' },
      },
    )
    expect(env.stdout.trim()).toBe('worker-c0ffee12 c0ffee12')
  })

  it('leaves out a depends_on that would close a cycle', () => {
    const topology: Topology = {
      name: 'ring',
      roles: {
        a: { entry: 'a.js', bind: { in: 'tcp://0.0.0.0:7001' }, connect: { next: 'role:b/in' } },
        b: { entry: 'b.js', bind: { in: 'tcp://0.0.0.0:7002' }, connect: { next: 'role:a/in' } },
      },
      baseDir: REPO,
    }
    const doc = parse(exportTopology(topology, { format: 'compose', root: REPO })[0].content)
    expect(validateCompose(doc)).toBe(true)
    expect(doc.services.a.depends_on).toEqual(['b'])
    expect(doc.services.b.depends_on).toBeUndefined()
  })

  it('the schema check fails on a service that breaks it', () => {
    const topology: Topology = { name: 'shop', roles: { worker: { entry: 'w.js' } }, baseDir: REPO }
    const doc = parse(exportTopology(topology, { format: 'compose', root: REPO })[0].content)
    expect(validateCompose(doc)).toBe(true)
    doc.services.worker.restrat = 'always'
    expect(validateCompose(doc)).toBe(false)
  })
})

function relativeToOut(outDir: string): string {
  return execFileSync('realpath', ['--relative-to', outDir, REPO], { encoding: 'utf8' }).trim()
}

describe('exportTopology: systemd', () => {
  it('renders per-host template units and a target that systemd-analyze verifies without a warning', async () => {
    const topology = await loadTopology(SHOP)
    const files = exportTopology(topology, {
      format: 'systemd',
      root: REPO,
      workdir: '/srv/shop',
      node: process.execPath,
    })
    expect(files.map((f) => f.path).sort()).toEqual([
      'a/dripdrop-shop-aggregator@.service',
      'a/dripdrop-shop-gateway@.service',
      'a/dripdrop-shop.target',
      'b/dripdrop-shop-gateway@.service',
      'b/dripdrop-shop-worker@.service',
      'b/dripdrop-shop.target',
      'c/dripdrop-shop-worker@.service',
      'c/dripdrop-shop.target',
    ])
    const dir = tempDir()
    writeAll(dir, files)
    for (const host of ['a', 'b', 'c']) {
      const r = verifyUnits(join(dir, host))
      expect(r.stderr).toBe('')
      expect(r.status).toBe(0)
    }
    // instances numbered across hosts as our supervisor numbers them
    expect(one(files, 'b/dripdrop-shop.target')).toContain(
      'Wants=dripdrop-shop-gateway@2.service dripdrop-shop-worker@1.service dripdrop-shop-worker@2.service',
    )
    expect(one(files, 'c/dripdrop-shop.target')).toContain('Wants=dripdrop-shop-worker@3.service')

    const worker = one(files, 'c/dripdrop-shop-worker@.service')
    expect(worker).toContain(
      `ExecStart=${process.execPath} --import tsx /srv/shop/examples/control-app/worker.ts --name "worker one"\n`,
    )
    expect(worker).toContain('WorkingDirectory=/srv/shop\n')
    expect(worker).toContain('Environment="DRIPDROP_INSTANCE=worker-%i"\n')
    expect(worker).toContain('Environment="DRIPDROP_HOST=c"\n')
    // restart mapping: on-failure, 250 ms first delay, 5 restarts in 60 s → 6 starts, SIGTERM then 5 s
    for (const line of [
      'Restart=on-failure',
      'RestartSec=250ms',
      'StartLimitIntervalSec=60s',
      'StartLimitBurst=6',
      'KillSignal=SIGTERM',
      'TimeoutStopSec=5s',
    ])
      expect(worker).toContain(`${line}\n`)
    // The worker on host c reaches each gateway at its host's address, the aggregator on a.
    const addresses = /^Environment="DRIPDROP_ADDRESSES=(.*)"$/m.exec(worker)![1].replace(/\\"/g, '"')
    expect(JSON.parse(addresses)).toEqual({
      bind: {},
      connect: {
        work: ['tcp://10.200.1.2:7301', 'tcp://10.200.2.2:7301'],
        priced: ['tcp://10.200.1.2:7400'],
        collector: ['tcp://10.200.0.1:7100'],
      },
    })
    const gateway = one(files, 'a/dripdrop-shop-gateway@.service')
    for (const line of [
      'Restart=always',
      'StartLimitIntervalSec=30s',
      'StartLimitBurst=4',
      'TimeoutStopSec=2500ms',
      'Environment="PRICE_NOTE=50%% off $today"',
    ])
      expect(gateway).toContain(`${line}\n`)
    expect(one(files, 'a/dripdrop-shop-aggregator@.service')).toContain('Restart=no\n')
  })

  it('gives instances on one host their own ports in drop-ins, and verifies them too', () => {
    const topology: Topology = {
      name: 'shop',
      roles: {
        worker: {
          entry: 'examples/control-app/worker.ts',
          instances: 2,
          bind: { metrics: 'http://0.0.0.0:9100' },
        },
        probe: { entry: 'examples/control-app/worker.ts', connect: { metrics: 'role:worker/metrics' } },
      },
      baseDir: REPO,
    }
    const files = exportTopology(topology, {
      format: 'systemd',
      root: REPO,
      node: process.execPath,
      user: 'shop',
    })
    expect(files.map((f) => f.path)).toEqual([
      'dripdrop-shop-worker@.service',
      'dripdrop-shop-worker@2.service.d/addresses.conf',
      'dripdrop-shop-probe@.service',
      'dripdrop-shop.target',
    ])
    expect(one(files, 'dripdrop-shop-worker@.service')).toContain('User=shop\n')
    expect(one(files, 'dripdrop-shop-worker@.service')).toContain(`WorkingDirectory=${REPO}\n`)
    expect(one(files, 'dripdrop-shop-worker@2.service.d/addresses.conf')).toContain(
      'Environment="DRIPDROP_ADDRESSES={\\"bind\\":{\\"metrics\\":\\"http://0.0.0.0:9101\\"},\\"connect\\":{}}"',
    )
    expect(one(files, 'dripdrop-shop-probe@.service')).toContain(
      '\\"metrics\\":[\\"http://127.0.0.1:9100\\",\\"http://127.0.0.1:9101\\"]',
    )
    const dir = tempDir()
    writeAll(dir, files)
    const r = verifyUnits(dir)
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
  })

  it('the verify check fails on a unit that breaks it', () => {
    const topology: Topology = { name: 'shop', roles: { worker: { entry: 'w.js' } }, baseDir: REPO }
    const files = exportTopology(topology, { format: 'systemd', root: REPO, node: process.execPath })
    const dir = tempDir()
    writeAll(dir, files)
    const unit = join(dir, 'dripdrop-shop-worker@.service')
    writeFileSync(unit, readFileSync(unit, 'utf8').replace('Restart=always', 'Restart=sometimes'))
    expect(verifyUnits(dir).stderr).toMatch(/restart specifier, ignoring: sometimes/)
  })
})

describe('examples/roles/topology.yaml', () => {
  const EXAMPLE = join(REPO, 'examples/roles/topology.yaml')

  it('exports in every format, each valid, the worker connecting to the gateway', async () => {
    const topology = await loadTopology(EXAMPLE)
    const k8s = kubernetesObjects(exportTopology(topology, { format: 'kubernetes', root: REPO })[0].content)
    for (const o of k8s) validateKubernetes(o)
    const worker = k8s.find((o) => o.kind === 'Deployment' && o.metadata.name === 'shop-worker')!
    expect(worker.spec.replicas).toBe(2)
    const k8sAddresses = JSON.parse(envOf(worker).DRIPDROP_ADDRESSES)
    expect(k8sAddresses.connect).toEqual({
      work: ['tcp://shop-gateway:7481'],
      priced: ['tcp://shop-aggregator:7482'],
    })
    const gatewayService = k8s.find((o) => o.kind === 'Service' && o.metadata.name === 'shop-gateway')!
    expect(gatewayService.spec.ports.map((p: any) => `${p.name}:${p.port}`)).toEqual([
      'http:7480',
      'work:7481',
    ])
    // 127.0.0.1 is the pod's own loopback: the gateway listens on every interface of its pod instead
    const gateway = k8s.find((o) => o.kind === 'Deployment' && o.metadata.name === 'shop-gateway')!
    expect(JSON.parse(envOf(gateway).DRIPDROP_ADDRESSES).bind).toEqual({
      http: 'http://0.0.0.0:7480',
      work: 'tcp://0.0.0.0:7481',
    })

    const compose = parse(exportTopology(topology, { format: 'compose', root: REPO })[0].content, {
      version: '1.1',
    })
    expect(validateCompose(compose), JSON.stringify(validateCompose.errors)).toBe(true)
    expect(JSON.parse(compose.services.worker.environment.DRIPDROP_ADDRESSES).connect).toEqual({
      work: ['tcp://gateway:7481'],
      priced: ['tcp://aggregator:7482'],
    })

    const units = exportTopology(topology, { format: 'systemd', root: REPO, node: process.execPath })
    const dir = tempDir()
    writeAll(dir, units)
    const r = verifyUnits(dir)
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    expect(one(units, 'dripdrop-shop.target')).toContain(
      'Wants=dripdrop-shop-aggregator@1.service dripdrop-shop-gateway@1.service dripdrop-shop-worker@1.service dripdrop-shop-worker@2.service',
    )
    expect(one(units, 'dripdrop-shop-worker@.service')).toContain(
      '\\"work\\":[\\"tcp://127.0.0.1:7481\\"],\\"priced\\":[\\"tcp://127.0.0.1:7482\\"]',
    )
  })
})

describe('exportTopology: errors', () => {
  const base: Topology = { name: 'shop', roles: { worker: { entry: 'w.js' } }, baseDir: REPO }

  it('refuses an unknown format and bad options (DD_ERR_EXPORT)', () => {
    expect(() => exportTopology(base, { format: 'nomad' as any })).toThrow(
      expect.objectContaining({
        code: 'DD_ERR_EXPORT',
        message: expect.stringMatching(/options\.format must be one of kubernetes, compose, systemd/),
      }),
    )
    expect(() => exportTopology(base, { format: 'kubernetes', namespace: 'Prod_1' })).toThrow(
      expect.objectContaining({
        code: 'DD_ERR_EXPORT',
        message: expect.stringMatching(/options\.namespace/),
      }),
    )
    expect(() => exportTopology(base, { format: 'systemd', node: 'node' })).toThrow(
      expect.objectContaining({
        code: 'DD_ERR_EXPORT',
        message: expect.stringMatching(/options\.node must be an absolute path/),
      }),
    )
  })

  it('refuses an entry outside the root, naming it', () => {
    expect(() => exportTopology(base, { format: 'compose', root: join(REPO, 'packages') })).toThrow(
      expect.objectContaining({
        code: 'DD_ERR_EXPORT',
        message: expect.stringMatching(/roles\.worker\.entry: .*w\.js is outside the app root/),
      }),
    )
  })

  it('refuses a role: connect to an ipc bind for containers, not for systemd', () => {
    const topology: Topology = {
      name: 'shop',
      roles: {
        gateway: { entry: 'g.js', bind: { work: 'ipc:///tmp/shop-work' } },
        worker: { entry: 'w.js', connect: { work: 'role:gateway/work' } },
      },
      baseDir: REPO,
    }
    for (const format of ['kubernetes', 'compose'] as const)
      expect(() => exportTopology(topology, { format, root: REPO })).toThrow(
        expect.objectContaining({
          code: 'DD_ERR_EXPORT',
          message: expect.stringMatching(
            /roles\.worker\.connect\.work: role:gateway\/work is ipc:\/\/\/tmp\/shop-work/,
          ),
        }),
      )
    expect(exportTopology(topology, { format: 'systemd', root: REPO }).length).toBe(3)
  })

  it('validates the topology first (DD_ERR_TOPOLOGY)', () => {
    const bad = { name: 'shop', roles: { worker: { entry: 'w.js', instances: 0 } } } as Topology
    expect(() => exportTopology(bad, { format: 'kubernetes' })).toThrow(
      expect.objectContaining({
        code: 'DD_ERR_TOPOLOGY',
        message: expect.stringMatching(/roles\.worker\.instances must be >= 1/),
      }),
    )
  })
})
