import { type ChildProcess, spawn } from 'node:child_process'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url))

async function target(): Promise<{ url: string; count: () => number }> {
  let n = 0
  const server = http.createServer((_req, res) => {
    n++
    res.end('ok')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  )
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, count: () => n }
}

async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as AddressInfo
  await new Promise((resolve) => s.close(resolve))
  return port
}

interface Proc {
  child: ChildProcess
  stdout: () => string
  line(re: RegExp): Promise<void>
  exit: Promise<number | null>
}

function start(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  })
  onTestFinished(() => {
    child.kill('SIGKILL')
  })
  let out = ''
  const waiters: [RegExp, () => void][] = []
  const onData = (d: Buffer): void => {
    out += d
    for (const [re, done] of waiters) if (re.test(out)) done()
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  return {
    child,
    stdout: () => out,
    line: (re) => new Promise<void>((resolve) => (re.test(out) ? resolve() : waiters.push([re, resolve]))),
    exit: new Promise((resolve) =>
      child.on('exit', (code) => {
        clearTimeout(timer)
        resolve(code)
      }),
    ),
  }
}

describe('dripdrop-load distributed', () => {
  it('run --threads 2 spreads the rate over two local agent threads, every response counted once', async () => {
    const t = await target()
    const run = start(['run', '--url', t.url, '--rate', '100', '-d', '1s', '--threads', '2', '--json'])
    expect(await run.exit).toBe(0)
    const report = JSON.parse(
      run
        .stdout()
        .split('\n')
        .find((l) => l.startsWith('{')) as string,
    )
    expect(report.settings.agents).toBe(2)
    expect(report.agents.map((a: { kind: string; rate: number }) => [a.kind, a.rate])).toEqual([
      ['thread', 50],
      ['thread', 50],
    ])
    expect(report.counters.responses).toBe(100)
    expect(t.count()).toBe(100)
  })

  it('run --listen waits for remote agents (token checked); a SIGKILLed agent is reported lost and its share moved', async () => {
    const t = await target()
    const port = await freePort()
    const endpoint = `tcp://127.0.0.1:${port}`
    const run = start(
      ['run', '--url', t.url, '--rate', '60', '-d', '6s', '--listen', endpoint, '--agents', '2', '-q'],
      {
        DRIPDROP_LOAD_TOKEN: 'sesame',
      },
    )
    await run.line(/waiting for 2 agent/)
    const keep = start(['agent', '--connect', endpoint, '--token', 'sesame'])
    const doomed = start(['agent', '--connect', endpoint, '--token', 'sesame'])
    const intruder = start(['agent', '--connect', endpoint, '--token', 'guess'])
    await intruder.line(/refused/)
    await doomed.line(/job \w+ started/)
    const doomedId = /agent (\w+):/.exec(doomed.stdout())?.[1] as string
    doomed.child.kill('SIGKILL')
    expect(await run.exit).toBe(0)
    const out = run.stdout()
    expect(out).toMatch(/agents 2/)
    expect(out).toMatch(/LOST at/)
    // Said live on stderr and again under the summary: who, that its share moved, and the gap.
    const said = new RegExp(
      `agent ${doomedId} \\(.*\\) LOST \\(last heard [^)]*\\): its share \\(30\\.0 req/s\\) redistributed to 1 agent\\(s\\) from \\+[1-5]\\.0s; \\d+ scheduled requests unaccounted for`,
      'g',
    )
    expect(out.match(said)?.length).toBe(2)
    expect(out).toMatch(new RegExp(`\\+30\\.0 req/s of ${doomedId} from \\+[1-5]s`))
    expect(out).not.toMatch(/WARNING/)
    await keep.line(/job \w+ done/)
    expect(keep.stdout()).not.toMatch(/refused/)
    keep.child.kill('SIGINT')
    expect(await keep.exit).toBe(0)
  })

  it("--on-agent-lost report leaves the lost share missing, with a warning and the JSON's losses", async () => {
    const t = await target()
    const port = await freePort()
    const endpoint = `tcp://127.0.0.1:${port}`
    const run = start([
      'run',
      '--url',
      t.url,
      '--rate',
      '60',
      '-d',
      '2s',
      '--listen',
      endpoint,
      '--agents',
      '2',
      '--on-agent-lost',
      'report',
      '--json',
      '-q',
    ])
    await run.line(/waiting for 2 agent/)
    start(['agent', '--connect', endpoint])
    const doomed = start(['agent', '--connect', endpoint])
    await doomed.line(/job \w+ started/)
    doomed.child.kill('SIGKILL')
    expect(await run.exit).toBe(0)
    const report = JSON.parse(
      run
        .stdout()
        .split('\n')
        .find((l) => l.startsWith('{')) as string,
    )
    expect(report.lostRate).toBe(30)
    expect(report.losses).toMatchObject([{ redistributed: false, rate: 30, to: [] }])
    expect(run.stdout()).toMatch(/is missing from the results/)
  })

  it('refuses a bad --on-agent-lost', async () => {
    const run = start(['run', '--url', 'http://127.0.0.1:1/', '--threads', '1', '--on-agent-lost', 'ignore'])
    expect(await run.exit).toBe(2)
    expect(run.stdout()).toMatch(/--on-agent-lost.*ignore.*redistribute, report/s)
  })
})
