// The real binaries end to end: `dripdrop-control --topology … --agents-curve-keys … --agents-curve-allow …` and
// two `dripdrop agent` processes, one whose key is in the allow-list (served: its instance runs) and one whose key
// is not (refused at the CURVE handshake: its host never comes up). Then `dripdrop logs svc-1 --follow` through
// the CLI: a line the child prints after the follow started (its restart's `up svc-1 …`) appears.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const REPO = resolve(import.meta.dirname, '../../..')
const CONTROL = resolve(import.meta.dirname, '../dist/cli.js')
const DRIPDROP = join(REPO, 'packages/roles/dist/cli/dripdrop.js')
const SVC = join(REPO, 'packages/roles/test/fixtures/control/svc.ts')
const TOKEN = 'cli-agents-test-token'
const dir = mkdtempSync(join(tmpdir(), 'dd-cli-agents-'))
const children: ChildProcess[] = []
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM')
  rmSync(dir, { recursive: true, force: true })
})

function start(file: string, args: string[]): { child: ChildProcess; out: () => string } {
  const child = spawn(process.execPath, [file, ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let out = ''
  child.stdout!.on('data', (d) => {
    out += d
  })
  child.stderr!.on('data', (d) => {
    out += d
  })
  return { child, out: () => out }
}

async function until<T>(
  what: string,
  f: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 20_000,
): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v !== undefined && v !== false) return v
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('dripdrop-control and dripdrop agent, as processes', () => {
  it('--agents-curve-allow: the listed agent is served, the unlisted one refused; logs --follow shows new lines', async () => {
    const keys = (name: string, out: string) =>
      execFileSync(process.execPath, [DRIPDROP, 'keys', 'generate', '--out', out, '--name', name], {
        cwd: REPO,
      })
    keys('server', join(dir, 'server'))
    keys('a', join(dir, 'a'))
    keys('b', join(dir, 'b'))
    mkdirSync(join(dir, 'allow'))
    copyFileSync(join(dir, 'a', 'a.pub'), join(dir, 'allow', 'a.pub'))
    const port = 20_000 + (process.pid % 20_000)
    const topology = join(dir, 'topology.json')
    writeFileSync(
      topology,
      JSON.stringify({
        name: 'curve',
        roles: { svc: { entry: SVC, restart: { stopTimeoutMs: 2000 } } },
        hosts: {
          a: { address: '127.0.0.1', roles: { svc: 1 } },
          b: { address: '127.0.0.1', roles: { svc: 1 } },
        },
      }),
    )
    const api = `http://127.0.0.1:${port + 1}`
    const control = start(CONTROL, [
      '--topology',
      topology,
      '--agents',
      `tcp://127.0.0.1:${port}`,
      '--agents-curve-keys',
      join(dir, 'server', 'server'),
      '--agents-curve-allow',
      join(dir, 'allow'),
      '--http',
      api,
      '--ws',
      `ws://127.0.0.1:${port + 2}`,
      '--collector',
      `tcp://127.0.0.1:${port + 3}`,
      '--token',
      TOKEN,
    ])
    const roles = async () => {
      try {
        const res = await fetch(`${api}/api/roles`, { headers: { authorization: `Bearer ${TOKEN}` } })
        return res.ok
          ? ((await res.json()) as {
              hosts: { host: string; state: string }[]
              instances: { instance: string; host: string; state: string }[]
            })
          : undefined
      } catch {
        return undefined
      }
    }
    await until(`the control server up (${control.out()})`, roles)
    const agent = (h: string) =>
      start(DRIPDROP, [
        'agent',
        '--control',
        `tcp://127.0.0.1:${port}`,
        '--host',
        h,
        '--log-dir',
        join(dir, `logs-${h}`),
        '--curve-keys',
        join(dir, h, h),
        '--curve-server-key',
        join(dir, 'server', 'server.pub'),
      ])
    agent('a')
    const b = agent('b')
    const st = await until(
      'svc-1 running on a',
      async () => {
        const s = await roles()
        return s?.instances.some((i) => i.instance === 'svc-1' && i.host === 'a' && i.state === 'running')
          ? s
          : undefined
      },
      30_000,
    )
    // b's key is not listed: it never registers (a few seconds more, to be sure), svc-2 never runs.
    await new Promise((r) => setTimeout(r, 3000))
    const after = (await roles())!
    expect(after.hosts.find((h) => h.host === 'b')?.state).not.toBe('up')
    expect(after.instances.find((i) => i.instance === 'svc-2')?.state).not.toBe('running')
    expect(st.hosts.find((h) => h.host === 'a')?.state).toBe('up')
    expect(b.child.exitCode).toBeNull() // refused, not crashed: it keeps retrying

    // logs --follow through the CLI: a restart's new lines appear while following.
    const follow = start(DRIPDROP, ['logs', 'svc-1', '--follow', '--server', api, '--token', TOKEN])
    await until(`the follow printed the tail (${follow.out()})`, () => follow.out().includes('up svc-1'))
    const before = follow.out().split('up svc-1').length
    execFileSync(process.execPath, [DRIPDROP, 'restart', 'svc-1', '--server', api, '--token', TOKEN], {
      cwd: REPO,
    })
    await until(
      `a new "up svc-1" line while following (${follow.out()})`,
      () => follow.out().split('up svc-1').length > before,
    )
    follow.child.kill('SIGINT')
  }, 60_000)
})
