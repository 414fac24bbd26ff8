// The same entry module runs unchanged under each exported engine: every test exports
// export-fixtures/run.yaml, then starts test/export-fixtures/whoami.ts as that engine would start the
// instance (the kubelet: the container's command, args and env with the downward API filled in; compose: its
// `$$` interpolation, then the service's command through a real `sh`; systemd: the unit's ExecStart,
// WorkingDirectory and Environment lines with `%i` and the quoting undone as systemd.syntax(7) says), and
// reads back what role() told the process about itself.
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { parse, parseAllDocuments } from 'yaml'
import { describe, expect, it } from 'vitest'
import { exportTopology, loadTopology } from '../src/index.js'

const ROOT = resolve(import.meta.dirname, '..')
const TOPOLOGY = resolve(import.meta.dirname, 'export-fixtures/run.yaml')
const NOTE = '50% "off" $HOME $(HOME) \\ back'

interface Whoami {
  app: string
  role: string
  instance: string
  host: string
  control: string | undefined
  addresses: { bind: Record<string, string>; connect: Record<string, string[]> }
  args: string[]
  note: string
  cwd: string
}

/** Runs a command to completion (bounded) and parses the one JSON line whoami.ts prints. */
function run(command: string, args: string[], cwd: string, env: Record<string, string>): Whoami {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: 20_000 })
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${r.status}: ${r.stderr}`)
  return JSON.parse(r.stdout.trim()) as Whoami
}

// Each test starts 2-3 node processes through tsx: seconds each on a loaded 2-core machine.
describe('an exported role runs unchanged', { timeout: 60_000 }, () => {
  it('as a Kubernetes container', async () => {
    const files = exportTopology(await loadTopology(TOPOLOGY), {
      format: 'kubernetes',
      root: ROOT,
      workdir: ROOT,
    })
    const objects = parseAllDocuments(files[0].content, { version: '1.1' }).map((d) => d.toJS())
    const podOf = (name: string) => objects.find((o) => o?.kind === 'Deployment' && o.metadata.name === name)
    const started: Whoami[] = []
    for (const [name, pod] of [
      ['shop-gateway', 'shop-gateway-6f7b9c-x2x9q'],
      ['shop-worker', 'shop-worker-5d8c7f-k7p2m'],
    ]) {
      const container = podOf(name).spec.template.spec.containers[0]
      // What the kubelet does: fill in the downward API, turn `$$(` back into `$(`.
      const env: Record<string, string> = { PATH: process.env.PATH ?? '' }
      const kubeletExpand = (v: string) => v.replace(/\$\$\(/g, '$(')
      for (const e of container.env)
        env[e.name] =
          e.value !== undefined
            ? kubeletExpand(e.value)
            : e.valueFrom.fieldRef.fieldPath === 'metadata.name'
              ? pod
              : 'node-1'
      const [cmd, ...cmdArgs] = [...container.command, ...(container.args ?? [])].map(kubeletExpand)
      expect(cmd).toBe('node')
      started.push(run(process.execPath, cmdArgs, container.workingDir, env))
    }
    const [gateway, worker] = started
    expect(gateway).toMatchObject({
      app: 'shop',
      role: 'gateway',
      instance: 'shop-gateway-6f7b9c-x2x9q',
      host: 'node-1',
      note: NOTE,
    })
    expect(gateway.addresses).toEqual({ bind: { work: 'tcp://0.0.0.0:7301' }, connect: {} })
    expect(worker).toMatchObject({
      role: 'worker',
      instance: 'shop-worker-5d8c7f-k7p2m',
      control: 'tcp://10.200.0.1:7200',
    })
    expect(worker.args).toEqual(['--name', 'worker one', '$HOME'])
    expect(worker.addresses).toEqual({
      bind: { metrics: 'http://0.0.0.0:9100' },
      connect: { work: ['tcp://shop-gateway:7301'] },
    })
  })

  it('as a compose service', async () => {
    const files = exportTopology(await loadTopology(TOPOLOGY), {
      format: 'compose',
      root: ROOT,
      workdir: ROOT,
    })
    const doc = parse(files[0].content, { version: '1.1' })
    // compose's interpolation: `$$` is a literal `$`.
    const interpolate = (v: string) => v.replace(/\$\$/g, '$')
    const startService = (name: string, hostname: string) => {
      const service = doc.services[name]
      const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOSTNAME: hostname }
      for (const [k, v] of Object.entries(service.environment as Record<string, string>))
        env[k] = interpolate(v)
      const [cmd, ...cmdArgs] = (service.command as string[]).map(interpolate)
      expect(cmd).toBe('sh')
      return run('sh', cmdArgs, service.working_dir, env)
    }
    const gateway = startService('gateway', '3f2a1b9c0d1e')
    expect(gateway).toMatchObject({
      role: 'gateway',
      instance: 'gateway-3f2a1b9c0d1e',
      host: '3f2a1b9c0d1e',
      note: NOTE,
    })
    const worker = startService('worker', '77aa01bc93fe')
    expect(worker).toMatchObject({
      role: 'worker',
      instance: 'worker-77aa01bc93fe',
      control: 'tcp://10.200.0.1:7200',
    })
    expect(worker.args).toEqual(['--name', 'worker one', '$HOME'])
    expect(worker.addresses.connect).toEqual({ work: ['tcp://gateway:7301'] })
  })

  it('as a systemd template unit instance', async () => {
    const files = exportTopology(await loadTopology(TOPOLOGY), {
      format: 'systemd',
      root: ROOT,
      node: process.execPath,
    })
    const startUnit = (role: string, n: number) => {
      const template = files.find((f) => f.path === `dripdrop-shop-${role}@.service`)!.content
      const dropIn =
        files.find((f) => f.path === `dripdrop-shop-${role}@${n}.service.d/addresses.conf`)?.content ?? ''
      const lines = `${template}\n${dropIn}`.split('\n')
      const value = (key: string) =>
        lines.filter((l) => l.startsWith(`${key}=`)).map((l) => l.slice(key.length + 1))
      // Specifiers: %i is the instance, %% a literal %.
      const specifiers = (v: string) =>
        v.replace(/%(.)/g, (_, c: string) => (c === 'i' ? String(n) : c === '%' ? '%' : `%${c}`))
      const env: Record<string, string> = { PATH: process.env.PATH ?? '' }
      for (const raw of value('Environment'))
        for (const word of words(specifiers(raw))) {
          const eq = word.indexOf('=')
          env[word.slice(0, eq)] = word.slice(eq + 1)
        }
      const [exec, ...execArgs] = words(specifiers(value('ExecStart')[0])).map((w) => w.replace(/\$\$/g, '$'))
      return run(exec, execArgs, value('WorkingDirectory')[0], env)
    }
    const gateway = startUnit('gateway', 1)
    expect(gateway).toMatchObject({
      role: 'gateway',
      instance: 'gateway-1',
      host: 'local',
      note: NOTE,
      cwd: ROOT,
    })
    const second = startUnit('worker', 2)
    expect(second).toMatchObject({ role: 'worker', instance: 'worker-2', control: 'tcp://10.200.0.1:7200' })
    expect(second.args).toEqual(['--name', 'worker one', '$HOME'])
    // The second worker on this host binds port + 1 (its drop-in); both connect to the gateway on this host.
    expect(second.addresses).toEqual({
      bind: { metrics: 'http://0.0.0.0:9101' },
      connect: { work: ['tcp://127.0.0.1:7301'] },
    })
    expect(startUnit('worker', 1).addresses.bind).toEqual({ metrics: 'http://0.0.0.0:9100' })
  })
})

/**
 * Splits a unit file value into words as systemd.syntax(7) says: blanks separate words, a word may be
 * double-quoted, and inside quotes `\"` and `\\` (and C escapes such as `\n`) stand for the character.
 */
function words(value: string): string[] {
  const out: string[] = []
  let i = 0
  while (i < value.length) {
    while (value[i] === ' ') i++
    if (i >= value.length) break
    let word = ''
    if (value[i] === '"') {
      i++
      while (i < value.length && value[i] !== '"') {
        if (value[i] === '\\') {
          i++
          word += value[i] === 'n' ? '\n' : value[i]
        } else word += value[i]
        i++
      }
      i++
    } else while (i < value.length && value[i] !== ' ') word += value[i++]
    out.push(word)
  }
  return out
}
