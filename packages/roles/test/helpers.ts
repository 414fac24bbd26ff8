import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { onTestFinished } from 'vitest'
import type { Supervisor, SupervisorEventMap } from '../src/index.js'

export const FIXTURES = resolve(import.meta.dirname, 'fixtures')

/** Lines a child prints on stdout, one at a time, each awaited with a deadline. */
export class Lines {
  readonly #buffered: string[] = []
  readonly #waiters: ((line: string | undefined) => void)[] = []
  #ended = false
  #partial = ''

  constructor(stream: NodeJS.ReadableStream) {
    stream.setEncoding?.('utf8')
    stream.on('data', (chunk: string) => {
      this.#partial += chunk
      let nl = this.#partial.indexOf('\n')
      while (nl !== -1) {
        this.#push(this.#partial.slice(0, nl))
        this.#partial = this.#partial.slice(nl + 1)
        nl = this.#partial.indexOf('\n')
      }
    })
    stream.on('end', () => {
      this.#ended = true
      for (const w of this.#waiters.splice(0)) w(undefined)
    })
  }

  #push(line: string): void {
    const w = this.#waiters.shift()
    if (w) w(line)
    else this.#buffered.push(line)
  }

  /** The next line (`undefined` at the end of the stream); rejects after `timeoutMs`. */
  next(timeoutMs = 10_000): Promise<string | undefined> {
    const line = this.#buffered.shift()
    if (line !== undefined) return Promise.resolve(line)
    if (this.#ended) return Promise.resolve(undefined)
    return new Promise((res, rej) => {
      const timer = setTimeout(() => {
        this.#waiters.splice(this.#waiters.indexOf(done), 1)
        rej(new Error(`no line within ${timeoutMs} ms`))
      }, timeoutMs)
      const done = (l: string | undefined) => {
        clearTimeout(timer)
        res(l)
      }
      this.#waiters.push(done)
    })
  }

  /** Lines until one matches `test` (at most `max` lines, each within `timeoutMs`). */
  async until(test: (line: string) => boolean, timeoutMs = 10_000, max = 10_000): Promise<string> {
    for (let i = 0; i < max; i++) {
      const line = await this.next(timeoutMs)
      if (line === undefined) throw new Error('the stream ended before a matching line')
      if (test(line)) return line
    }
    throw new Error(`no matching line in ${max} lines`)
  }

  /** The next line, parsed as JSON. */
  async json(timeoutMs?: number): Promise<any> {
    const line = await this.next(timeoutMs)
    if (line === undefined) throw new Error('the stream ended')
    return JSON.parse(line)
  }
}

/** Spawns `node <file>` with extra env (and an IPC channel when `ipc`); killed when the test ends. */
export function spawnNode(
  file: string,
  options: { env?: Record<string, string>; ipc?: boolean; args?: string[]; cwd?: string } = {},
): {
  child: ChildProcess
  lines: Lines
  stderr: () => string
  exit: Promise<{ code: number | null; signal: string | null }>
} {
  const child = spawn(process.execPath, [file, ...(options.args ?? [])], {
    env: { ...process.env, ...options.env },
    cwd: options.cwd,
    stdio: ['ignore', 'pipe', 'pipe', ...(options.ipc ? (['ipc'] as const) : [])],
  })
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let err = ''
  child.stderr!.on('data', (d) => {
    err += d
  })
  const exit = new Promise<{ code: number | null; signal: string | null }>((res) =>
    child.once('exit', (code, signal) => res({ code, signal })),
  )
  return { child, lines: new Lines(child.stdout!), stderr: () => err, exit }
}

/** A fresh temporary directory, removed when the test ends. */
export function tempDir(prefix = 'dd-roles-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** The next `event` of `emitter` whose payload passes `test`; rejects after `timeoutMs`. */
export function nextEvent<K extends keyof SupervisorEventMap>(
  emitter: Supervisor,
  event: K,
  test: (payload: SupervisorEventMap[K]) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<SupervisorEventMap[K]> {
  return new Promise((res, rej) => {
    const timer = setTimeout(() => {
      emitter.off(event, on)
      rej(new Error(`no ${event} within ${timeoutMs} ms`))
    }, timeoutMs)
    const on = (payload: SupervisorEventMap[K]) => {
      if (!test(payload)) return
      clearTimeout(timer)
      emitter.off(event, on)
      res(payload)
    }
    emitter.on(event, on)
  })
}

/** Records every event of a supervisor, in order, as `event instance detail`. */
export function record(supervisor: Supervisor): string[] {
  const seen: string[] = []
  supervisor.on('instance:up', (e) => seen.push(`up ${e.instance}`))
  supervisor.on('instance:down', (e) =>
    seen.push(`down ${e.instance} ${e.signal ?? e.code}${e.expected ? ' expected' : ''}`),
  )
  supervisor.on('instance:restart', (e) => seen.push(`restart ${e.instance} ${e.delayMs}`))
  supervisor.on('instance:failed', (e) => seen.push(`failed ${e.instance} ${e.restarts}`))
  return seen
}

/**
 * examples/roles/topology.yaml with free ports: a copy in a temp dir, entries made absolute, the example's
 * fixed ports (7480 http, 7481 work, 7482 in) replaced by ports the OS has just handed out, so the tests that run
 * the example app never race each other (or a `pnpm start`) for the same ports.
 */
export async function exampleTopology(): Promise<{ file: string; http: string }> {
  const text = readFileSync(resolve(import.meta.dirname, '../../../examples/roles/topology.yaml'), 'utf8')
  const ports: number[] = []
  for (let i = 0; i < 3; i++) {
    const server = createServer()
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok))
    ports.push((server.address() as AddressInfo).port)
    await new Promise((ok) => server.close(ok))
  }
  const entries = resolve(import.meta.dirname, '../../../examples/control-app')
  const copy = text
    .replaceAll('../control-app/', `${entries}/`)
    .replaceAll(':7480', `:${ports[0]}`)
    .replaceAll(':7481', `:${ports[1]}`)
    .replaceAll(':7482', `:${ports[2]}`)
  const file = join(tempDir('dd-roles-topology-'), 'topology.yaml')
  writeFileSync(file, copy)
  return { file, http: `http://127.0.0.1:${ports[0]}` }
}
