// CURVE on the control server's collector through the real CLI (issue 10): `--curve-keys` / `--curve-allow`
// (and their config-file keys and environment variables). A reporter with a listed key is seen; one with no
// keys, with a wrong server key, or with a valid but unlisted key is refused at the handshake and counted
// (API and /metrics), while the listed one keeps reporting. Secret keys never reach the process's output.
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Node } from '@dripdrop/core'
import { Reporter } from '@dripdrop/monitor'
import { type CurveOptions, generateKeyPair, type KeyPair, writeKeyPair, zmqTransport } from '@dripdrop/zmq'
import { describe, expect, it, onTestFinished } from 'vitest'

const CLI = resolve(import.meta.dirname, '../dist/cli.js')
const TOKEN = 'curve-test-token-0123456789'
let debugOut: (() => string) | undefined
const auth = { authorization: `Bearer ${TOKEN}` }

async function until<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
): Promise<T> {
  const end = Date.now() + 15_000
  for (;;) {
    const v = await fn()
    if (v !== undefined && v !== false) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${debugOut ? `\n${debugOut()}` : ''}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

function keysDir(): { dir: string; collector: KeyPair; member: KeyPair; outsider: KeyPair } {
  const dir = mkdtempSync(join(tmpdir(), 'dd-control-curve-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  const collector = generateKeyPair()
  const member = generateKeyPair()
  const outsider = generateKeyPair()
  writeKeyPair(dir, 'collector', collector)
  mkdirSync(join(dir, 'reporters'))
  writeKeyPair(join(dir, 'reporters'), 'member', member)
  // The allow-list directory holds public keys only.
  rmSync(join(dir, 'reporters', 'member.key'))
  writeKeyPair(dir, 'outsider', outsider)
  return { dir, collector, member, outsider }
}

function start(args: string[], env: Record<string, string> = {}) {
  let out = ''
  debugOut = () => out
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    [
      CLI,
      'start',
      '--json',
      '--http',
      'http://127.0.0.1:0',
      '--ws',
      'ws://127.0.0.1:0',
      '--token',
      TOKEN,
      ...args,
    ],
    { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] },
  )
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  const lines = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, string>)
  return { child, output: () => out, lines }
}

/** A real monitored node reporting to `collector` every 100 ms with `curve` (or none). */
async function reporter(collector: string, instance: string, curve?: CurveOptions) {
  const node = new Node({ name: instance, transports: [zmqTransport()] })
  node.route('in', { type: 'pull', bind: 'tcp://127.0.0.1:*' })
  // A Reporter each (monitor() shares one per collector address in a process).
  const r = new Reporter({ collector, role: 'api', instance, intervalMs: 100, ...(curve ? { curve } : {}) })
  r.add(node)
  onTestFinished(() => {
    r.destroy()
    node.destroy()
  })
  await node.start()
  await r.start()
  return r
}

describe('dripdrop-control start --curve-keys/--curve-allow', () => {
  it('serves a listed reporter; refuses and counts no keys, a wrong server key and an unlisted key', async () => {
    const { dir, collector, member, outsider } = keysDir()
    const control = start([
      '--collector',
      'tcp://127.0.0.1:*',
      '--curve-keys',
      join(dir, 'collector'),
      '--curve-allow',
      join(dir, 'reporters'),
    ])
    const listening = await until(
      () => control.lines().find((l) => l.msg === 'dripdrop-control listening'),
      'listening',
    )
    expect(listening.curve).toBe('on')
    expect(listening.curvePublicKey).toBe(collector.publicKey)
    expect(listening.curveAllow).toBe(1)
    const at = listening.collector as string
    const api = new URL('/api/', listening.api.replace(/\/api$/, '/'))
    const get = async (path: string) =>
      (await fetch(new URL(path, api), { headers: auth })).json() as Promise<any>
    const refused = async (): Promise<number> =>
      (await get('overview')).collector.refused.DD_ERR_HANDSHAKE ?? 0
    const reportSeq = async (id: string): Promise<number> => (await get(`instances/${id}`)).report?.seq ?? -1

    // The listed reporter is seen first…
    await reporter(at, 'member', { ...member, serverKey: collector.publicKey })
    await until(
      async () => (await get('instances')).items.some((i: any) => i.instance === 'member'),
      'the member',
    )

    // …then the three intruders, one at a time: each is refused at the handshake and counted (API), and
    // logged once with why. (A NULL peer shows as a mechanism mismatch, or as a broken pipe when libzmq drops
    // the connection first: either way a refusal, never a report.)
    let counted = await refused()
    const intruder = async (instance: string, curve?: CurveOptions) => {
      const r = await reporter(at, instance, curve)
      await until(async () => (await refused()) > counted || undefined, `${instance} refused`)
      r.destroy()
      counted = await refused()
    }
    await intruder('plain')
    await intruder('wrong', { ...member, serverKey: outsider.publicKey })
    await intruder('outsider', { ...outsider, serverKey: collector.publicKey })
    await until(
      () =>
        control
          .lines()
          .some(
            (l) =>
              l.msg.startsWith('reporter refused') &&
              l.reason === 'auth' &&
              l.clientKey === outsider.publicKey,
          ),
      'the unlisted reporter logged with its key',
    )

    // Counted where an operator looks: the API and /metrics.
    const count = await until(
      async () => ((await refused()) >= 3 ? refused() : undefined),
      'three refusals counted',
    )
    const metrics = await (await fetch(listening.metrics, { headers: auth })).text()
    const line = metrics
      .split('\n')
      .find((l) => l.startsWith('dripdrop_collector_refused_total{code="DD_ERR_HANDSHAKE"}'))
    expect(Number(line?.split(' ')[1])).toBeGreaterThanOrEqual(count)

    // The member keeps reporting while the intruders keep retrying; none of them is known.
    const before = await reportSeq('member')
    await until(
      async () => (await reportSeq('member')) >= before + 3 || undefined,
      'the member still reporting',
    )
    expect((await get('instances')).items.map((i: any) => i.instance)).toEqual(['member'])

    // Public keys may be printed; secret keys never.
    control.child.kill('SIGTERM')
    expect((await once(control.child, 'exit'))[0]).toBe(0)
    for (const secret of [collector.secretKey, member.secretKey, outsider.secretKey])
      expect(control.output()).not.toContain(secret)
  })

  it('takes the keys from the environment and the allow-list from the config file; bad keys exit with a clear error', async () => {
    const { dir, collector, member } = keysDir()
    const config = join(dir, 'control.json')
    writeFileSync(config, JSON.stringify({ curveAllow: [member.publicKey], collector: 'tcp://127.0.0.1:*' }))
    const control = start(['--config', config], { DRIPDROP_CONTROL_CURVE_KEYS: join(dir, 'collector.key') })
    const listening = await until(
      () => control.lines().find((l) => l.msg === 'dripdrop-control listening'),
      'listening',
    )
    expect(listening.curvePublicKey).toBe(collector.publicKey)
    expect(listening.curveAllow).toBe(1)
    await reporter(listening.collector, 'member', { ...member, serverKey: collector.publicKey })
    const api = listening.api
    await until(async () => {
      const body: any = await (await fetch(`${api}/instances`, { headers: auth })).json()
      return body.items.some((i: any) => i.instance === 'member') || undefined
    }, 'the member')

    // A secret key readable by others is refused (like ssh), the message names the file, never the key.
    writeFileSync(join(dir, 'loose.key'), `${collector.secretKey}\n`, { mode: 0o644 })
    const loose = start(['--collector', 'tcp://127.0.0.1:*', '--curve-keys', join(dir, 'loose')])
    expect((await once(loose.child, 'exit'))[0]).toBe(1)
    expect(loose.output()).toContain('loose.key is readable by its group or others')
    expect(loose.output()).not.toContain(collector.secretKey)
    expect(readFileSync(join(dir, 'loose.key'), 'utf8')).toContain(collector.secretKey)
    // --curve-allow alone: the keys are missing.
    const half = start(['--collector', 'tcp://127.0.0.1:*', '--curve-allow', member.publicKey])
    expect((await once(half.child, 'exit'))[0]).toBe(1)
    expect(half.output()).toContain('--curve-allow needs --curve-keys')
  })

  it('warns when the collector takes plain-text reports from other hosts', async () => {
    const open = start(['--collector', 'tcp://0.0.0.0:*'])
    const warning = await until(
      () => open.lines().find((l) => l.msg.startsWith('warning: the collector')),
      'the warning',
    )
    expect(warning.msg).toContain('give --curve-keys')
    const local = start(['--collector', 'tcp://127.0.0.1:*'])
    await until(() => local.lines().find((l) => l.msg === 'dripdrop-control listening'), 'listening')
    expect(local.output()).not.toContain('warning')
  })

  it('--help lists the curve flags', async () => {
    const help = spawn(process.execPath, [CLI, 'start', '--help'])
    let out = ''
    help.stdout.on('data', (d) => (out += d))
    await once(help, 'exit')
    expect(out).toContain('--curve-keys')
    expect(out).toContain('--curve-allow')
    expect(out).toContain('DRIPDROP_CONTROL_CURVE_KEYS')
  })
})
