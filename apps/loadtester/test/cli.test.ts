import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url))

async function target(handler?: http.RequestListener): Promise<string> {
  const server = http.createServer(handler ?? ((_req, res) => res.end('ok')))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dripdrop-load-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Runs the CLI in a child process; resolves with its exit code and output (killed after 30 s). */
function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    onTestFinished(() => {
      child.kill('SIGKILL')
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

describe('dripdrop-load run', () => {
  it('exits 0 when every threshold holds and prints the summary naming them', async () => {
    const url = await target()
    const r = await cli([
      'run',
      '--url',
      `${url}/`,
      '-c',
      '2',
      '-n',
      '50',
      '-q',
      '-t',
      'p99<10s',
      '-t',
      'errors<1%',
    ])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain('✓ p99<10s')
    expect(r.stdout).toContain('✓ errors<1%')
    expect(r.stdout).toMatch(/responses\.+: 50 /)
  })

  it('exits 1 when a threshold breaks, and the summary names the broken one', async () => {
    const url = await target((_req, res) => {
      res.statusCode = 500
      res.end()
    })
    const r = await cli([
      'run',
      '--url',
      `${url}/`,
      '-c',
      '2',
      '-n',
      '20',
      '-q',
      '-t',
      'p99<10s',
      '-t',
      'rate>1000000',
    ])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('✓ p99<10s')
    expect(r.stdout).toMatch(/✗ rate>1000000 .* BROKEN/)
    expect(r.stdout).toContain('500=20')
    expect(r.stderr).toContain('thresholds broken: rate>1000000')
  })

  it('counts connection errors against an errors threshold', async () => {
    const probe = http.createServer()
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
    const port = (probe.address() as AddressInfo).port
    await new Promise<void>((resolve) => probe.close(() => resolve()))
    const r = await cli([
      'run',
      '--url',
      `http://127.0.0.1:${port}/`,
      '-c',
      '1',
      '-n',
      '5',
      '-q',
      '-t',
      'errors<0.1%',
    ])
    expect(r.code).toBe(1)
    expect(r.stdout).toContain('refused=5')
    expect(r.stdout).toMatch(/✗ errors<0.1%/)
  })

  it('--json prints the report on stdout; --report and --html write files', async () => {
    const url = await target()
    const dir = tmp()
    const r = await cli([
      'run',
      '--url',
      `${url}/x`,
      '--rate',
      '50',
      '-d',
      '1s',
      '--json',
      '--report',
      join(dir, 'r.json'),
      '--html',
      join(dir, 'r.html'),
    ])
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report.settings.model).toBe('open')
    expect(report.counters.sent + report.counters.notSent).toBe(50)
    expect(Object.keys(report.latency.percentiles)).toEqual(['50', '75', '90', '95', '99', '99.9', '99.99'])
    expect(report.names['GET /x'].counters.responses).toBe(report.counters.responses)
    expect(report.series.length).toBeGreaterThanOrEqual(1)
    expect(JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')).counters).toEqual(report.counters)
    expect(readFileSync(join(dir, 'r.html'), 'utf8')).toContain('uPlot')
  })

  it('runs a YAML scenario of weighted requests with per-name stats', async () => {
    const url = await target()
    const dir = tmp()
    const file = join(dir, 's.yaml')
    writeFileSync(
      file,
      `target: ${url}\nrequests:\n  - { name: home, url: /, weight: 3 }\n  - { name: post, method: POST, url: /p, body: { a: 1 } }\n`,
    )
    const r = await cli(['run', file, '-c', '2', '-n', '100', '--json', '--seed', '1'])
    expect(r.code).toBe(0)
    const report = JSON.parse(r.stdout)
    expect(report.names.home.counters.responses + report.names.post.counters.responses).toBe(100)
    expect(report.names.home.counters.responses).toBeGreaterThan(report.names.post.counters.responses)
  })

  it('runs a JS module scenario', async () => {
    const seen: string[] = []
    const url = await target((req, res) => {
      seen.push(`${req.method} ${req.url}`)
      res.end('ok')
    })
    const dir = tmp()
    const file = join(dir, 's.mjs')
    writeFileSync(
      file,
      `export const target = '${url}'\nexport default (ctx) => ({ name: 'item', method: 'PUT', path: '/items/' + ctx.iteration, body: { n: ctx.iteration } })\n`,
    )
    const r = await cli(['run', file, '-c', '1', '-n', '3', '-q'])
    expect(r.code).toBe(0)
    expect(seen).toEqual(['PUT /items/0', 'PUT /items/1', 'PUT /items/2'])
  })

  it('runs a TypeScript module scenario', async () => {
    const seen: string[] = []
    const url = await target((req, res) => {
      seen.push(`${req.method} ${req.url}`)
      res.end('ok')
    })
    const dir = tmp()
    const file = join(dir, 's.ts')
    writeFileSync(
      file,
      `interface Ctx { iteration: number }\nexport default (ctx: Ctx) => ({ method: 'DELETE', path: \`/t/\${ctx.iteration}\` })\n`,
    )
    const r = await cli(['run', file, '--target', url, '-c', '1', '-n', '2', '-q'])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(seen).toEqual(['DELETE /t/0', 'DELETE /t/1'])
  })

  it('runs on one agent thread per core by default, with the live line on stderr; --threads 0 runs in-process', async () => {
    const url = await target()
    const cores = availableParallelism()
    const r = await cli(['run', '--url', `${url}/`, '--rate', '20', '-d', '2s'])
    expect(r.code).toBe(0)
    // Not a terminal: one live line per second (a terminal redraws it in place).
    expect(r.stderr).toMatch(
      /\[[=> ]{20}\] \ds\/2s {2}\d+ req\/s {2}p50 [\d.]+ms {2}p99 [\d.]+ms {2}errors 0 \(0\.00%\)/,
    )
    expect(r.stdout).toMatch(/responses\.+: 40 /)
    if (cores > 1) expect(r.stdout).toContain(`agents ${cores}\n`)
    const bare = JSON.parse(
      (await cli(['run', '--url', `${url}/`, '--rate', '20', '-d', '1s', '--json', '--threads'])).stdout,
    )
    expect(bare.settings.agents).toBe(cores)
    expect(bare.agents.map((a: { kind: string }) => a.kind)).toEqual(Array(cores).fill('thread'))
    const inProcess = await cli([
      'run',
      '--url',
      `${url}/`,
      '--rate',
      '20',
      '-d',
      '1s',
      '--threads',
      '0',
      '--json',
    ])
    const report = JSON.parse(inProcess.stdout)
    expect(report.settings.agents).toBe(1)
    expect(report.agents).toBeUndefined()
    expect(report.counters.sent).toBe(20)
  })

  it('a bad scenario exits 2 with the path and the reason', async () => {
    const dir = tmp()
    const file = join(dir, 'bad.yaml')
    writeFileSync(file, 'requests:\n  - url: /\n  - url: /b\n    method: "GE T"\n')
    const r = await cli(['run', file, '--target', 'http://127.0.0.1:1'])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('bad.yaml: /requests/1/method: must match pattern')
  })

  it('bad arguments exit 2; --help exits 0 on every command', async () => {
    const bad = await cli(['run', '--url', 'http://127.0.0.1:1/', '--threshold', 'p99<fast'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('threshold "p99<fast"')
    for (const args of [
      ['--help'],
      ['run', '--help'],
      ['help', 'run'],
      ['agent', '--help'],
      ['ui', '--help'],
    ]) {
      const r = await cli(args)
      expect(r.code).toBe(0)
      expect(r.stdout).toContain('Usage: dripdrop-load')
    }
  })
})
