// The control server with a topology: agents register on its agent channel, /api/roles drives them, and the
// `dripdrop` CLI's remote commands talk to that API with the bearer token.
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { Agent, type Topology } from '@dripdrop/roles'
import { afterAll, describe, expect, it, onTestFinished } from 'vitest'
import { ControlServer } from '../src/index.js'
import { launchChromium } from './support/chromium.js'

const run = promisify(execFile)
const REPO = resolve(import.meta.dirname, '../../..')
const DRIPDROP = join(REPO, 'packages/roles/src/cli/dripdrop.ts')
const SVC = join(REPO, 'packages/roles/test/fixtures/control/svc.ts')
const TOKEN = 'roles-test-token'
const logDir = mkdtempSync(join(tmpdir(), 'dd-ctl-roles-'))
afterAll(() => rmSync(logDir, { recursive: true, force: true }))

const topology: Topology = {
  name: 'panel',
  roles: { svc: { entry: SVC, instances: 1, restart: { stopTimeoutMs: 2000 } } },
  hosts: { a: { address: '127.0.0.1', roles: { svc: 1 } } },
}

async function until<T>(
  what: string,
  f: () => Promise<T | undefined | false> | T | undefined | false,
): Promise<T> {
  const end = Date.now() + 20_000
  for (;;) {
    const v = await f()
    if (v !== undefined && v !== false) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function dripdrop(server: string, ...args: string[]) {
  return run(process.execPath, ['--import', 'tsx', DRIPDROP, ...args, '--server', server, '--token', TOKEN], {
    cwd: REPO,
    timeout: 30_000,
  })
}

describe('control server with --topology', () => {
  it('serves /api/roles (token required) and the dripdrop CLI drives instances through the agents', async () => {
    const server = new ControlServer({
      collector: 'tcp://127.0.0.1:*',
      http: 'http://127.0.0.1:0',
      ws: 'ws://127.0.0.1:0',
      token: TOKEN,
      topology,
      roles: { agents: 'tcp://127.0.0.1:*', heartbeatIntervalMs: 200, heartbeatTimeoutMs: 1000 },
    })
    onTestFinished(() => {
      server.destroy()
    })
    await server.start()
    const agent = new Agent({
      control: server.roles!.endpoint,
      host: 'a',
      heartbeatIntervalMs: 200,
      supervisor: { logDir },
    })
    onTestFinished(() => {
      agent.destroy()
    })
    await agent.start()
    const api = server.urls.api
    const auth = { authorization: `Bearer ${TOKEN}` }
    expect((await fetch(`${api}/roles`)).status).toBe(401)
    const status = async () => (await (await fetch(`${api}/roles`, { headers: auth })).json()) as any
    await until('svc-1 running', async () => (await status()).instances[0]?.state === 'running')
    expect(server.live().roles).toMatchObject({ app: 'panel' })

    const base = server.urls.dashboard.replace(/\/$/, '')
    const shown = await dripdrop(base, 'status')
    expect(shown.stdout).toMatch(/^svc-1\s+svc\s+a\s+running/m)

    const pid = (await status()).instances[0].pid
    await dripdrop(base, 'restart', 'svc-1')
    await until('a new pid', async () => {
      const i = (await status()).instances[0]
      return i.state === 'running' && i.pid !== pid
    })
    expect((await dripdrop(base, 'scale', 'svc', '2')).stdout).toMatch(/added \[svc-2\]/)
    await until(
      'svc-2 running',
      async () => (await status()).instances.find((i: any) => i.instance === 'svc-2')?.state === 'running',
    )
    await dripdrop(base, 'stop', 'svc')
    expect(agent.instances().map((i) => i.state)).toEqual(['stopped', 'stopped'])
    await dripdrop(base, 'start', 'svc-1')
    await until(
      'svc-1 running again',
      () => agent.instances().find((i) => i.instance === 'svc-1')?.state === 'running',
    )
    await until('svc-1 logged', async () =>
      (await dripdrop(base, 'logs', 'svc-1')).stdout.includes('up svc-1 on a'),
    )

    const bad = await fetch(`${api}/roles/command`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ op: 'restart', instance: 'nope-9' }),
    })
    expect(bad.status).toBe(409)
    expect(((await bad.json()) as any).error.code).toBe('DD_ERR_CONTROL')
    await expect(dripdrop(base, 'restart', 'nope-9')).rejects.toMatchObject({ code: 1 })
  }, 60_000)

  it('the dashboard shows the Roles panel; its restart button restarts the instance through its agent', async () => {
    const server = new ControlServer({
      collector: 'tcp://127.0.0.1:*',
      http: 'http://127.0.0.1:0',
      ws: 'ws://127.0.0.1:0',
      token: TOKEN,
      pushIntervalMs: 200,
      topology,
      roles: { agents: 'tcp://127.0.0.1:*', heartbeatIntervalMs: 200, heartbeatTimeoutMs: 1000 },
    })
    onTestFinished(() => {
      server.destroy()
    })
    await server.start()
    const agent = new Agent({
      control: server.roles!.endpoint,
      host: 'a',
      heartbeatIntervalMs: 200,
      supervisor: { logDir },
    })
    onTestFinished(() => {
      agent.destroy()
    })
    await agent.start()
    const running = () =>
      server.roles!.status().instances.find((i) => i.instance === 'svc-1' && i.state === 'running')
    const pid = (await until('svc-1 running', running)).pid
    const browser = await launchChromium()
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (e) => errors.push(String(e)))
    await page.goto(`${server.urls.dashboard}?token=${TOKEN}`)
    await page.waitForSelector('#roles-panel:not([hidden]) #roles tbody tr td.state-running')
    expect(await page.textContent('#roles-hosts')).toContain('a 127.0.0.1 · up')
    await page.click('#roles button[data-op="restart"][data-instance="svc-1"]')
    await until('a new pid after the click', () => {
      const i = running()
      return i !== undefined && i.pid !== pid
    })
    await page.waitForFunction(() => document.querySelector('#roles-result')?.textContent?.startsWith('ok'))
    expect(errors).toEqual([])
  }, 60_000)
})
