// Spawns roles of examples/zmq/app.ts as OS processes (optionally inside a network namespace) and reads their
// JSON lines.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { onTestFinished } from 'vitest'

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '../../..')
const RUN = join(REPO, 'examples/zmq/run.ts')

export interface Addresses {
  jobs: string
  results: string
  math: string
  events: string
  control: string
}

export interface Summary {
  count: number
  sum: number
}

export interface AppResult {
  collector: Summary
  auditors: (Summary & { agrees: boolean })[]
}

/** The example app's module, loaded by path (it lives outside this package). */
export interface App {
  runAll(addr: Addresses, jobs?: number): Promise<AppResult>
  expectedSum(jobs: number): number
  collector(addr: Addresses, jobs: number, auditors: number): Promise<{ node: any; done: Promise<Summary> }>
  math(addr: Addresses): Promise<{ node: any }>
}

export async function loadApp(): Promise<App> {
  const path = join(REPO, 'examples/zmq/app.ts')
  return (await import(path)) as App
}

/** One role running in its own process. */
export class RoleProcess {
  readonly child: ChildProcess
  readonly role: string
  readonly output: string[] = []
  readonly #ready: Promise<Record<string, string[]>>
  readonly #result: Promise<unknown>
  readonly exited: Promise<number | null>

  constructor(role: string, addr: Partial<Addresses>, arg = '', netns?: string) {
    this.role = role
    const args = ['--import', 'tsx', RUN, role, JSON.stringify(addr), arg]
    this.child = netns
      ? spawn('ip', ['netns', 'exec', netns, process.execPath, ...args], { cwd: REPO })
      : spawn(process.execPath, args, { cwd: REPO })
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)))
    let buffered = ''
    const lines: ((line: Record<string, unknown>) => void)[] = []
    this.child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString()
      let at = buffered.indexOf('\n')
      while (at >= 0) {
        const line = buffered.slice(0, at)
        buffered = buffered.slice(at + 1)
        this.output.push(line)
        try {
          const parsed = JSON.parse(line) as Record<string, unknown>
          for (const l of lines) l(parsed)
        } catch {}
        at = buffered.indexOf('\n')
      }
    })
    this.child.stderr!.on('data', (chunk: Buffer) => this.output.push(chunk.toString()))
    const failed = this.exited.then((code) => {
      throw new Error(`${role} exited with ${code} before finishing:\n${this.output.join('\n')}`)
    })
    failed.catch(() => {})
    this.#ready = Promise.race([
      new Promise<Record<string, string[]>>((resolve) =>
        lines.push((l) => l.ready && resolve(l.endpoints as Record<string, string[]>)),
      ),
      failed,
    ])
    this.#result = Promise.race([
      new Promise((resolve) => lines.push((l) => 'result' in l && resolve(l.result))),
      failed,
    ])
    // Servers never report a result; nobody awaits theirs, so mark both as handled.
    this.#ready.catch(() => {})
    this.#result.catch(() => {})
    onTestFinished(() => this.stop())
  }

  /** The real endpoints of its routes once they are open. */
  ready(): Promise<Record<string, string[]>> {
    return this.#ready
  }

  result<R>(): Promise<R> {
    return this.#result as Promise<R>
  }

  kill(): void {
    this.child.kill('SIGKILL')
  }

  /** SIGTERM (graceful close), SIGKILL after 3 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    this.child.kill('SIGTERM')
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000)
    await this.exited
    clearTimeout(timer)
  }
}

/**
 * Runs the app as seven processes: collector, math and producer bind on `bindHost` (in `servers` netns if
 * given), workers and auditors connect to what they report (in `clients` netns if given).
 */
export async function runCluster(
  bindHost: string,
  jobs: number,
  netns?: { servers: string; clients: string },
): Promise<AppResult> {
  const any = `tcp://${bindHost}:*`
  const c = new RoleProcess(
    'collector',
    { results: any, events: any, control: any },
    `${jobs},2`,
    netns?.servers,
  )
  const m = new RoleProcess('math', { math: any }, '', netns?.servers)
  const [ce, me] = await Promise.all([c.ready(), m.ready()])
  const addr: Addresses = {
    jobs: any,
    results: ce.results[0],
    events: ce.events[0],
    control: ce.control[0],
    math: me.math[0],
  }
  const p = new RoleProcess('producer', addr, String(jobs), netns?.servers)
  addr.jobs = (await p.ready()).jobs[0]
  const clients = [
    new RoleProcess('worker', addr, '1', netns?.clients),
    new RoleProcess('worker', addr, '2', netns?.clients),
    new RoleProcess('auditor', addr, '1', netns?.clients),
    new RoleProcess('auditor', addr, '2', netns?.clients),
  ]
  const [collector, a1, a2] = await Promise.all([
    c.result<Summary>(),
    clients[2].result<AppResult['auditors'][number]>(),
    clients[3].result<AppResult['auditors'][number]>(),
  ])
  await Promise.all([c, m, p, ...clients].map((r) => r.stop()))
  return { collector, auditors: [a1, a2] }
}

/** Runs a command, returns undefined on success or the error text. */
export function tryRun(cmd: string, args: string[]): string | undefined {
  try {
    execFileSync(cmd, args, { stdio: 'pipe' })
    return undefined
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string }
    return e.stderr?.toString().trim() || e.message
  }
}
