// A distributed run across network namespaces: the coordinator, three agents (each in its own namespace) and the
// target in a fifth, joined by veth pairs to a bridge that lives in a sixth (hub) namespace, so no packet
// touches the host's own network stack. Root only; skipped (with the reason) where `ip netns` is refused.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url))
// Unique per run: pid and random bytes, short enough for interface names (15 characters).
const tag = `${(process.pid % 1000).toString(36)}${randomBytes(2).toString('hex')}`
const ROLES = ['coord', 'a1', 'a2', 'a3', 'target'] as const
type Role = (typeof ROLES)[number]
const NS = Object.fromEntries(ROLES.map((r) => [r, `ddl-${r}-${tag}`])) as Record<Role, string>
const HUB = `ddl-hub-${tag}`
const IP = Object.fromEntries(ROLES.map((r, i) => [r, `10.213.78.${i + 1}`])) as Record<Role, string>
const children: ChildProcess[] = []

function tryRun(cmd: string, args: string[]): string | undefined {
  try {
    execFileSync(cmd, args, { stdio: 'pipe' })
    return undefined
  } catch (err) {
    return String((err as { stderr?: Buffer }).stderr ?? (err as Error).message).trim() || 'failed'
  }
}

function setUp(): string | undefined {
  const denied = tryRun('ip', ['netns', 'add', HUB])
  if (denied) return `ip netns add is not permitted here: ${denied}`
  const steps: string[][] = [
    ['-n', HUB, 'link', 'add', 'br0', 'type', 'bridge'],
    ['-n', HUB, 'link', 'set', 'br0', 'up'],
  ]
  ROLES.forEach((role, i) => {
    const inner = `ddi${i}${tag}`
    const outer = `ddo${i}${tag}`
    steps.push(
      ['netns', 'add', NS[role]],
      ['link', 'add', inner, 'type', 'veth', 'peer', 'name', outer],
      ['link', 'set', inner, 'netns', NS[role]],
      ['link', 'set', outer, 'netns', HUB],
      ['-n', HUB, 'link', 'set', outer, 'master', 'br0'],
      ['-n', HUB, 'link', 'set', outer, 'up'],
      ['-n', NS[role], 'addr', 'add', `${IP[role]}/24`, 'dev', inner],
      ['-n', NS[role], 'link', 'set', inner, 'up'],
      ['-n', NS[role], 'link', 'set', 'lo', 'up'],
    )
  })
  for (const step of steps) {
    const failed = tryRun('ip', step)
    if (failed) return `ip ${step.join(' ')} failed: ${failed}`
  }
  const exec = tryRun('ip', ['netns', 'exec', NS.a1, process.execPath, '-e', 'process.exit(0)'])
  return exec === undefined ? undefined : `ip netns exec failed: ${exec}`
}

function tearDown(): void {
  for (const c of children) c.kill('SIGKILL')
  // Deleting a namespace deletes the veth ends inside it, and with them their peers.
  for (const ns of [...Object.values(NS), HUB]) tryRun('ip', ['netns', 'del', ns])
}

function inNs(
  role: Role,
  args: string[],
): { out: () => string; line(re: RegExp): Promise<void>; exit: Promise<number | null> } {
  const child = spawn('ip', ['netns', 'exec', NS[role], process.execPath, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  let out = ''
  const waiters: [RegExp, () => void][] = []
  const onData = (d: Buffer): void => {
    out += d
    for (const [re, done] of waiters) if (re.test(out)) done()
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  const timer = setTimeout(() => child.kill('SIGKILL'), 45_000)
  return {
    out: () => out,
    line: (re) => new Promise<void>((resolve) => (re.test(out) ? resolve() : waiters.push([re, resolve]))),
    exit: new Promise((resolve) =>
      child.on('exit', (code) => {
        clearTimeout(timer)
        resolve(code)
      }),
    ),
  }
}

const TARGET = `
let n = 0
const server = require('node:http').createServer((req, res) => { n++; res.end('ok') })
server.listen(8080, '${IP.target}', () => console.log('listening'))
process.on('SIGTERM', () => { console.log('count ' + n); process.exit(0) })
`

describe('a distributed run across five network namespaces', () => {
  let skipped: string | undefined
  beforeAll(() => {
    skipped = setUp()
    if (skipped) {
      tearDown()
      console.warn(`netns test skipped: ${skipped}`)
    }
  })
  afterAll(tearDown)

  it('coordinator, three agents and the target each in their own namespace: every response counted once', async (ctx) => {
    if (skipped) {
      ctx.skip(`netns test skipped: ${skipped}`)
      return
    }
    const target = inNs('target', ['-e', TARGET])
    await target.line(/listening/)
    const endpoint = `tcp://${IP.coord}:5600`
    const run = inNs('coord', [
      CLI,
      'run',
      '--url',
      `http://${IP.target}:8080/`,
      '--rate',
      '90',
      '-d',
      '2s',
      '--listen',
      `tcp://${IP.coord}:5600`,
      '--agents',
      '3',
      '--token',
      'netns',
      '--json',
    ])
    await run.line(/waiting for 3 agent/)
    const agents = (['a1', 'a2', 'a3'] as const).map((r) =>
      inNs(r, [CLI, 'agent', '--connect', endpoint, '--token', 'netns']),
    )
    expect(await run.exit).toBe(0)
    const report = JSON.parse(
      run
        .out()
        .split('\n')
        .find((l) => l.startsWith('{')) as string,
    )
    expect(report.agents).toHaveLength(3)
    for (const a of report.agents) expect(a).toMatchObject({ lost: false, rate: 30, kind: 'process' })
    expect(report.counters.responses).toBe(180)
    for (const a of agents) await a.line(/job \w+ done/)
    const counted = target.line(/count \d+/)
    children[0]?.kill('SIGTERM')
    await counted
    // The target (in its own namespace) saw exactly what the coordinator merged.
    expect(Number(/count (\d+)/.exec(target.out())?.[1])).toBe(180)
  }, 60_000)
})
