// Shared by the dripdrop-load CURVE tests (curve-cli.test.ts, curve-flags.test.ts): the built CLI, a counting
// HTTP target, a child-process runner that waits for output lines, and a directory of key pairs.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPair, type KeyPair, writeKeyPair } from '@dripdrop/zmq'
import { onTestFinished } from 'vitest'

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url))

export async function target(): Promise<{ url: string; count: () => number }> {
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

export async function freePort(): Promise<number> {
  const s = net.createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as AddressInfo
  await new Promise((resolve) => s.close(resolve))
  return port
}

export interface Proc {
  child: ChildProcess
  output: () => string
  /** Resolves when the output matches `re` (at most 20 s, then rejects with the output). */
  line(re: RegExp): Promise<void>
  exit: Promise<number | null>
}

export const outputs: (() => string)[] = []

export function start(args: string[], env: Record<string, string> = {}): Proc {
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

export function keys(): { dir: string; pairs: Record<'coord' | 'agent' | 'outsider' | 'rogue', KeyPair> } {
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
