import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { resolve } from 'node:path'
import { expect, it, onTestFinished } from 'vitest'
import { TOKEN } from './support/server.js'

const ROOT = resolve(import.meta.dirname, '../../..')

it('examples/control-app/run.ts starts the control server and the 4-process app with one command', async () => {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'examples/control-app/run.ts',
      TOKEN,
      'tcp://127.0.0.1:*',
      'http://127.0.0.1:0',
      'ws://127.0.0.1:0',
    ],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  )
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  await expect.poll(() => /dashboard: (\S+)/.exec(out)?.[1], { timeout: 60_000 }).toBeTruthy()
  const dashboard = new URL(/dashboard: (\S+)/.exec(out)![1])
  expect(dashboard.searchParams.get('token')).toBe(TOKEN)
  const headers = { authorization: `Bearer ${TOKEN}` }
  // Every process reports, with the traffic run.ts sends flowing through gateway -> workers -> aggregator.
  await expect
    .poll(
      async () => {
        const body: any = await (await fetch(new URL('/api/instances', dashboard), { headers })).json()
        return body.items
          .filter((i: { status: string; msgIn: number }) => i.status === 'up' && i.msgIn > 0)
          .map((i: { role: string }) => i.role)
          .sort()
      },
      { timeout: 30_000 },
    )
    .toEqual(['aggregator', 'gateway', 'worker', 'worker'])
  child.kill('SIGTERM')
  const [code] = await once(child, 'exit')
  expect(code).toBe(0)
}, 90_000)
