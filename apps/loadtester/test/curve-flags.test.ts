// dripdrop-load over CURVE, the flags themselves (issue 10; split from curve-cli.test.ts to keep each file
// short): local agent threads under CURVE, bad flags, --help. The original header follows.
// dripdrop-load over CURVE with real processes: `run --curve-keys/--curve-allow` (the coordinator)
// and `agent --curve-keys/--curve-server-key`. An agent runs jobs only from the coordinator whose key it
// trusts: an untrusted coordinator gets nothing run (its target sees zero requests) and the refusal is said on
// both sides; agents with no keys, the wrong coordinator key or an unlisted key are refused and reported while
// the listed agent's run completes. Secret keys never reach any output.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPair, type KeyPair, writeKeyPair } from '@dripdrop/zmq'
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

interface Proc {
  child: ChildProcess
  output: () => string
  /** Resolves when the output matches `re` (at most 20 s, then rejects with the output). */
  line(re: RegExp): Promise<void>
  exit: Promise<number | null>
}

const outputs: (() => string)[] = []

function start(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // No CURVE from the test's own environment.
    env: { ...process.env, DRIPDROP_CURVE_SECRET_KEY: '', ...env },
  })
  onTestFinished(() => {
    child.kill('SIGKILL')
  })
  let out = ''
  outputs.push(() => out)
  const waiters: [RegExp, () => void][] = []
  const onData = (d: Buffer): void => {
    out += d
    for (const [re, done] of waiters) if (re.test(out)) done()
  }
  child.stdout?.on('data', onData)
  child.stderr?.on('data', onData)
  const timer = setTimeout(() => child.kill('SIGKILL'), 35_000)
  return {
    child,
    output: () => out,
    line: (re) =>
      new Promise<void>((resolve, reject) => {
        if (re.test(out)) return resolve()
        const t = setTimeout(() => reject(new Error(`no ${re} in:\n${out}`)), 20_000)
        waiters.push([
          re,
          () => {
            clearTimeout(t)
            resolve()
          },
        ])
      }),
    exit: new Promise((resolve) =>
      child.on('exit', (code) => {
        clearTimeout(timer)
        resolve(code)
      }),
    ),
  }
}

function keys(): { dir: string; pairs: Record<'coord' | 'agent' | 'outsider' | 'rogue', KeyPair> } {
  const dir = mkdtempSync(join(tmpdir(), 'dd-load-curve-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  const pairs = {
    coord: generateKeyPair(),
    agent: generateKeyPair(),
    outsider: generateKeyPair(),
    rogue: generateKeyPair(),
  }
  for (const [name, pair] of Object.entries(pairs)) writeKeyPair(dir, name, pair)
  mkdirSync(join(dir, 'agents'))
  writeKeyPair(join(dir, 'agents'), 'agent', pairs.agent)
  rmSync(join(dir, 'agents', 'agent.key'))
  return { dir, pairs }
}

describe('dripdrop-load over CURVE: flags', () => {
  it('run --threads with --curve-keys/--curve-allow: the local agent threads get a key of their own and run the test', async () => {
    const { dir } = keys()
    const t = await target()
    const run = start([
      'run',
      '--url',
      t.url,
      '--rate',
      '20',
      '-d',
      '1s',
      '--threads',
      '1',
      '-q',
      '--curve-keys',
      join(dir, 'coord'),
      '--curve-allow',
      join(dir, 'agents'),
    ])
    expect(await run.exit).toBe(0)
    expect(t.count()).toBe(20)
    expect(run.output()).not.toMatch(/refused/)
  })

  it('bad curve flags exit 2 with a clear message; --help lists them', async () => {
    const { dir } = keys()
    // Three processes at once: a shared machine starts node slowly.
    const half = start(['agent', '--connect', 'tcp://127.0.0.1:1', '--curve-keys', join(dir, 'agent')])
    const help = start(['agent', '--help'])
    const runHelp = start(['run', '--help'])
    expect(await half.exit).toBe(2)
    expect(half.output()).toContain('--curve-keys needs --curve-server-key')
    expect(await help.exit).toBe(0)
    expect(help.output()).toContain('--curve-server-key')
    expect(await runHelp.exit).toBe(0)
    expect(runHelp.output()).toContain('--curve-allow')
  })
})
