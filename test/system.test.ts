import { spawn } from 'node:child_process'
import { connect } from 'node:net'
import { readFileSync, rmSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '..')

/** Resolves with the connect error code (`ECONNREFUSED` once nothing listens), or 'connected'. */
function probe(url: string): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((done) => {
    const s = connect(Number(port), hostname)
    s.once('connect', () => {
      s.destroy()
      done('connected')
    })
    s.once('error', (e: NodeJS.ErrnoException) => done(e.code ?? 'error'))
  })
}

describe('examples/system/run.ts (pnpm start)', () => {
  let kill: (() => void) | undefined
  afterEach(() => kill?.())

  it('starts the control server, the 4-process app and a load test; prints the URLs and a clean summary; --once exits 0', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'examples/system/run.ts', '--once', '--seconds', '3', '--rate', '100'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    kill = () => child.kill('SIGKILL')
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      err += d
    })
    const code = await new Promise<number | null>((done) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000)
      child.once('exit', (c) => {
        clearTimeout(timer)
        done(c)
      })
    })
    expect(err).toBe('')
    expect(code).toBe(0)
    expect(out).toMatch(/^dashboard: http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{43}$/m)
    expect(out).toMatch(/^gateway: +http:\/\/127\.0\.0\.1:\d+\/orders /m)
    expect(out).toMatch(/^metrics: +http:\/\/127\.0\.0\.1:\d+\/metrics /m)
    const summary = /^load test: (\d+) responses in 3 s .* errors=(\d+) non2xx=(\d+) notSent=(\d+)$/m.exec(
      out,
    )
    expect(summary).not.toBeNull()
    const [, responses, errors, non2xx, notSent] = summary!.map(Number)
    expect(responses).toBeGreaterThan(0)
    expect({ errors, non2xx, notSent }).toEqual({ errors: 0, non2xx: 0, notSent: 0 })
    const report = /^report: +(\S+\.html)$/m.exec(out)![1]!
    const html = readFileSync(resolve(ROOT, report), 'utf8')
    rmSync(resolve(ROOT, report))
    expect(html).toContain('<html')
    // The README's Quick start shows this output.
    const readme = readFileSync(resolve(ROOT, 'README.md'), 'utf8')
    expect(readme).toContain('npx -y pnpm@12.4.2 start')
    expect(readme).toMatch(/^load test: \d+ responses in 10 s .* errors=0 non2xx=0 notSent=0$/m)
  }, 120_000)

  it('without --once keeps running until SIGTERM, then stops every process, frees the ports and exits 0', async () => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'examples/system/run.ts', '--seconds', '1', '--rate', '50'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    kill = () => child.kill('SIGKILL')
    let out = ''
    const running = new Promise<void>((done, fail) => {
      child.stdout.on('data', (d) => {
        out += d
        if (out.includes('\nrunning: ')) done()
      })
      child.once('exit', (c) => fail(new Error(`exited ${c} before running: ${out}`)))
    })
    await running
    const dashboard = /^dashboard: (\S+)\?token=/m.exec(out)![1]!
    const gateway = /^gateway: +(\S+)\/orders /m.exec(out)![1]!
    expect(await probe(dashboard)).toBe('connected')
    expect(await probe(gateway)).toBe('connected')
    const exited = new Promise<number | null>((done) => child.once('exit', done))
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    // The control server (this process) and the gateway (a child) no longer listen.
    expect(await probe(dashboard)).toBe('ECONNREFUSED')
    expect(await probe(gateway)).toBe('ECONNREFUSED')
    const report = /^report: +(\S+\.html)$/m.exec(out)![1]!
    rmSync(resolve(ROOT, report))
  }, 120_000)
})
