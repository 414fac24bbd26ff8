import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Node } from '@dripdrop/core'
import { monitor } from '@dripdrop/monitor'
import { zmqTransport } from '@dripdrop/zmq'
import WebSocket from 'ws'
import { describe, expect, it, onTestFinished } from 'vitest'
import { ControlServer, tokenMatches } from '../src/index.js'
import { auth, startServer, TOKEN } from './support/server.js'

const CLI = resolve(import.meta.dirname, '../dist/cli.js')

/** A real monitored process-in-a-node: one pull route, reporting to the server's collector. */
async function monitoredNode(collector: string, instance: string) {
  const node = new Node({ name: 'n', transports: [zmqTransport()] })
  node.route('in', { type: 'pull', bind: 'tcp://127.0.0.1:*' })
  const reporter = monitor(node, { collector, role: 'api', instance, intervalMs: 200 })
  onTestFinished(async () => {
    await reporter.close()
    await node.close()
  })
  await node.start()
  return node
}

async function until<T = any>(fn: () => Promise<T | undefined> | T | undefined): Promise<T> {
  for (;;) {
    const v = await fn()
    if (v !== undefined && v !== false) return v
    await new Promise((r) => setTimeout(r, 50))
  }
}

describe('HTTP API', () => {
  it('refuses requests without the token with 401 JSON, on the API, /metrics and the page', async () => {
    const server = await startServer()
    const base = server.urls.dashboard.replace(/\/$/, '')
    for (const path of ['/api/instances', '/api/overview', '/metrics']) {
      const res = await fetch(base + path)
      expect(res.status).toBe(401)
      expect(await res.json()).toMatchObject({ error: { code: 'DD_ERR_CONTROL_UNAUTHORIZED' } })
      const wrong = await fetch(base + path, { headers: { authorization: 'Bearer nope' } })
      expect(wrong.status).toBe(401)
    }
    expect((await fetch(`${base}/`)).status).toBe(401)
    const page = await fetch(`${base}/?token=${TOKEN}`)
    expect(page.status).toBe(200)
    expect(page.headers.get('set-cookie')).toContain('dd_token=')
    expect(await page.text()).toContain('dripdrop control')
    // The cookie the page set is enough for the API calls the page makes.
    const viaCookie = await fetch(`${base}/api/overview`, { headers: { cookie: `dd_token=${TOKEN}` } })
    expect(viaCookie.status).toBe(200)
  })

  it('lists a monitored instance, its routes, series, topology and Prometheus text', async () => {
    const server = await startServer()
    const base = server.urls.dashboard.replace(/\/$/, '')
    await monitoredNode(server.urls.collector, 'api-a')
    const page = await until(async () => {
      const body: any = await (await fetch(`${base}/api/instances?q=api-a`, { headers: auth })).json()
      return body.total === 1 && body.items[0].routes > 0 ? body : undefined
    })
    expect(page.items[0]).toMatchObject({ instance: 'api-a', role: 'api', status: 'up' })
    const routes: any = await (await fetch(`${base}/api/routes?instance=api-a`, { headers: auth })).json()
    expect(routes.map((r: { route: string }) => r.route)).toContain('n/in')
    const series: any = await (
      await fetch(`${base}/api/series?instance=api-a&route=n/in&metric=messagesIn&windowSeconds=10`, {
        headers: auth,
      })
    ).json()
    expect(series.values).toHaveLength(10)
    const one = await fetch(`${base}/api/instances/api-a`, { headers: auth })
    expect(await one.json()).toMatchObject({ instance: 'api-a', status: 'up' })
    const topo: any = await (await fetch(`${base}/api/topology`, { headers: auth })).json()
    expect(topo.instances).toEqual([{ instance: 'api-a', role: 'api', status: 'up' }])
    const metrics = await fetch(`${base}/metrics`, { headers: auth })
    expect(metrics.headers.get('content-type')).toContain('text/plain')
    expect(await metrics.text()).toContain('dripdrop_instance_up')
  })

  it('answers bad queries and unknown paths with 4xx JSON errors with codes', async () => {
    const server = await startServer()
    const base = server.urls.dashboard.replace(/\/$/, '')
    const cases: [string, number, string][] = [
      ['/api/instances?page=0', 400, 'DD_ERR_CONTROL_BAD_QUERY'],
      ['/api/instances?pageSize=abc', 400, 'DD_ERR_CONTROL_BAD_QUERY'],
      ['/api/instances?role=a&role=b', 400, 'DD_ERR_CONTROL_BAD_QUERY'],
      ['/api/series?metric=messagesIn', 400, 'DD_ERR_CONTROL_BAD_QUERY'],
      ['/api/instances/nobody', 404, 'DD_ERR_CONTROL_NOT_FOUND'],
      ['/api/nothing', 404, 'DD_ERR_CONTROL_NOT_FOUND'],
    ]
    for (const [path, status, code] of cases) {
      const res = await fetch(base + path, { headers: auth })
      expect(res.status, path).toBe(status)
      expect(await res.json(), path).toMatchObject({ error: { code } })
    }
    const post = await fetch(`${base}/api/instances`, { method: 'POST', headers: auth, body: '{' })
    expect(post.status).toBeGreaterThanOrEqual(400)
    expect(post.status).toBeLessThan(500)
    expect(((await post.json()) as any).error.code).toMatch(/^DD_ERR_/)
  })

  it('compares tokens by content, any length', () => {
    expect(tokenMatches('abc', 'abc')).toBe(true)
    expect(tokenMatches('abc', 'abd')).toBe(false)
    expect(tokenMatches('abc', 'abcd')).toBe(false)
    expect(tokenMatches('abc', undefined)).toBe(false)
  })

  it('refuses a non-loopback bind without a token unless insecure', () => {
    expect(() => new ControlServer({ http: 'http://0.0.0.0:0', collector: 'tcp://127.0.0.1:*' })).toThrow(
      expect.objectContaining({ code: 'DD_ERR_CONTROL_INSECURE' }),
    )
    expect(
      () => new ControlServer({ http: 'http://0.0.0.0:0', insecure: true, collector: 'tcp://127.0.0.1:*' }),
    ).not.toThrow()
  })
})

describe('WebSocket', () => {
  function open(url: string): Promise<WebSocket> {
    const ws = new WebSocket(url)
    onTestFinished(() => ws.terminate())
    return new Promise((res, rej) => {
      ws.once('open', () => res(ws))
      ws.once('unexpected-response', (_req, r) =>
        rej(Object.assign(new Error('refused'), { status: r.statusCode })),
      )
      ws.once('error', rej)
    })
  }

  it('refuses the upgrade without the token, and pushes the live view to an authorized client', async () => {
    const server = await startServer({ pushIntervalMs: 100 })
    await expect(open(server.urls.ws)).rejects.toMatchObject({ status: 401 })
    const ws = await open(`${server.urls.ws}/?token=${TOKEN}`)
    const [data] = await once(ws, 'message')
    const frame = JSON.parse(String(data))
    expect(JSON.stringify(frame)).toContain('"live"')
  })

  it('closes only the socket that sends a malformed or huge message', async () => {
    const server = await startServer({ pushIntervalMs: 100, maxMessageBytes: 1024 })
    const good = await open(`${server.urls.ws}/?token=${TOKEN}`)
    const bad = await open(`${server.urls.ws}/?token=${TOKEN}`)
    const huge = await open(`${server.urls.ws}/?token=${TOKEN}`)
    const badClosed = once(bad, 'close')
    bad.send('{not json')
    const [badCode] = await badClosed
    expect(badCode).toBe(1007)
    const hugeClosed = once(huge, 'close')
    huge.send('x'.repeat(4096))
    const [hugeCode] = await hugeClosed
    expect(hugeCode).toBe(1009)
    // The other dashboard still gets pushes after both closes.
    const pushes: unknown[] = []
    await new Promise<void>((r) =>
      good.on('message', (d) => {
        if (String(d).includes('live')) pushes.push(d)
        if (pushes.length === 2) r()
      }),
    )
    expect(good.readyState).toBe(WebSocket.OPEN)
    expect(server.stats.wsRefused).toBeGreaterThan(0)
  })
})

describe('CLI', () => {
  function run(args: string[], env: Record<string, string> = {}) {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    onTestFinished(() => {
      if (child.exitCode === null) child.kill('SIGKILL')
    })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    return { child, output: () => out }
  }

  it('start prints where the dashboard and the collector listen (JSON logs), and a generated token once', async () => {
    const tokenFile = `/tmp/dd-control-${process.pid}-${Date.now()}/token`
    const args = [
      'start',
      '--json',
      '--collector',
      'tcp://127.0.0.1:*',
      '--http',
      'http://127.0.0.1:0',
      '--ws',
      'ws://127.0.0.1:0',
    ]
    const first = run(args, { DRIPDROP_CONTROL_TOKEN_FILE: tokenFile })
    const line = await until(() =>
      first
        .output()
        .split('\n')
        .find((l) => l.includes('listening')),
    )
    const listening = JSON.parse(line)
    expect(listening.dashboard).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=/)
    expect(listening.collector).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
    expect(first.output()).toContain('a token was generated')
    first.child.kill('SIGTERM')
    expect((await once(first.child, 'exit'))[0]).toBe(0)
    const second = run(args, { DRIPDROP_CONTROL_TOKEN_FILE: tokenFile })
    await until(() => second.output().includes('listening') || undefined)
    expect(second.output()).not.toContain('a token was generated')
    const again = JSON.parse(
      second
        .output()
        .split('\n')
        .find((l) => l.includes('listening'))!,
    )
    // The token kept in the file is used again.
    expect(new URL(again.dashboard).searchParams.get('token')).toBe(
      new URL(listening.dashboard).searchParams.get('token'),
    )
  })

  it('takes its settings from a config file and the environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dd-control-'))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const config = join(dir, 'control.json')
    writeFileSync(
      config,
      JSON.stringify({ json: true, token: 'from-config-0123456789', ws: 'ws://127.0.0.1:0' }),
    )
    const child = run(['start', '--config', config, '--collector', 'tcp://127.0.0.1:*'], {
      DRIPDROP_CONTROL_HTTP: 'http://127.0.0.1:0',
    })
    const line = await until(() =>
      child
        .output()
        .split('\n')
        .find((l) => l.includes('listening')),
    )
    const listening = JSON.parse(line)
    expect(new URL(listening.dashboard).searchParams.get('token')).toBe('from-config-0123456789')
    expect(listening.dashboard).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//)
    const res = await fetch(new URL('/api/overview', listening.dashboard), {
      headers: { authorization: 'Bearer from-config-0123456789' },
    })
    expect(res.status).toBe(200)
  })

  it('--help lists the flags', async () => {
    const help = run(['start', '--help'])
    await once(help.child, 'exit')
    for (const flag of ['--collector', '--redis', '--token', '--insecure', '--json', '--config']) {
      expect(help.output()).toContain(flag)
    }
  })

  it('top --once prints a table of instances and routes from the API', async () => {
    const server = await startServer()
    await monitoredNode(server.urls.collector, 'api-top')
    const base = server.urls.dashboard.replace(/\/$/, '')
    await until(async () => {
      const body: any = await (await fetch(`${base}/api/instances`, { headers: auth })).json()
      return body.items[0]?.routes > 0 || undefined
    })
    const top = run(['top', '--once', '--url', base, '--token', TOKEN])
    const [code] = await once(top.child, 'exit')
    expect(code).toBe(0)
    expect(top.output()).toMatch(/api-top\s+api\s+up/)
    expect(top.output()).toContain('n/in')
    const refused = run(['top', '--once', '--url', base])
    expect((await once(refused.child, 'exit'))[0]).toBe(1)
    expect(refused.output()).toContain('401')
  })
})
