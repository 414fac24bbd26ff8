// Three hosts as network namespaces (a, b, c) on one bridge in the root namespace, where the control server
// runs: shared by the netns tests. Names and the subnet carry the test process's pid, so parallel runs don't
// collide; `tearDown()` kills what still runs in the namespaces and removes every link, even after a failure.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export const HOSTS = ['a', 'b', 'c'] as const
export type Host = (typeof HOSTS)[number]

/** `ip …`; returns its error text, or undefined when it succeeded. */
export function ip(...args: string[]): string | undefined {
  try {
    execFileSync('ip', args, { stdio: 'pipe' })
    return undefined
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string }
    return e.stderr?.toString().trim() || e.message
  }
}

/** Polls `f` every 25 ms until it returns a value (not undefined/false); rejects after `ms`. */
export async function until<T>(what: string, f: () => T | undefined | false, ms = 20_000): Promise<T> {
  const end = Date.now() + ms
  for (;;) {
    const v = f()
    if (v !== undefined && v !== false) return v
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

export interface ThreeHostsOptions {
  /** Short prefix of every namespace and link name (unique per test file), e.g. `ddr`. */
  prefix: string
  /** The /16 the file's /24 is taken from, e.g. `10.199` (unique per test file). */
  subnet: string
  /** Added to the pid before it becomes the names' tag (keeps files apart when prefixes share letters). */
  tagOffset?: number
}

export class ThreeHosts {
  readonly NS: Record<Host, string>
  readonly IP: Record<Host, string>
  readonly CONTROL_IP: string
  readonly dir = mkdtempSync(join(tmpdir(), 'dd-netns-'))
  readonly agents = new Map<Host, ChildProcess>()
  readonly #vethRoot: Record<Host, string>
  readonly #vethNs: Record<Host, string>
  readonly #bridge: string

  constructor({ prefix, subnet, tagOffset = 0 }: ThreeHostsOptions) {
    const tag = ((process.pid + tagOffset) % 10000).toString()
    const net = `${subnet}.${process.pid % 250}`
    const each = (f: (h: Host) => string) => ({ a: f('a'), b: f('b'), c: f('c') })
    this.NS = each((h) => `${prefix}-${h}-${tag}`)
    this.IP = { a: `${net}.2`, b: `${net}.3`, c: `${net}.4` }
    this.CONTROL_IP = `${net}.1`
    this.#vethRoot = each((h) => `${prefix}${h}${tag}`)
    this.#vethNs = each((h) => `${prefix}${h}${tag}n`)
    this.#bridge = `${prefix}br${tag}`
  }

  /** The agent's log directory on host `h`. */
  logDir(h: Host): string {
    return join(this.dir, `logs-${h}`)
  }

  /** Builds the namespaces and links; returns why it cannot (not root, not permitted), or undefined. */
  setUp(): string | undefined {
    if (process.getuid?.() !== 0) return 'needs root (ip netns)'
    const { NS, IP } = this
    const denied = ip('netns', 'add', NS.a)
    if (denied) return `ip netns add is not permitted here: ${denied}`
    const steps: string[][] = [
      ['netns', 'add', NS.b],
      ['netns', 'add', NS.c],
      ['link', 'add', this.#bridge, 'type', 'bridge'],
      ['addr', 'add', `${this.CONTROL_IP}/24`, 'dev', this.#bridge],
      ['link', 'set', this.#bridge, 'up'],
    ]
    for (const h of HOSTS)
      steps.push(
        ['link', 'add', this.#vethRoot[h], 'type', 'veth', 'peer', 'name', this.#vethNs[h]],
        ['link', 'set', this.#vethNs[h], 'netns', NS[h]],
        ['link', 'set', this.#vethRoot[h], 'master', this.#bridge],
        ['link', 'set', this.#vethRoot[h], 'up'],
        ['-n', NS[h], 'addr', 'add', `${IP[h]}/24`, 'dev', this.#vethNs[h]],
        ['-n', NS[h], 'link', 'set', this.#vethNs[h], 'up'],
        ['-n', NS[h], 'link', 'set', 'lo', 'up'],
      )
    for (const step of steps) {
      const failed = ip(...step)
      if (failed) return `ip ${step.join(' ')} failed: ${failed}`
    }
    return undefined
  }

  /** Takes host `h`'s link (its bridge port) down or up: the host drops off the network, no reset sent. */
  link(h: Host, state: 'up' | 'down'): string | undefined {
    return ip('link', 'set', this.#vethRoot[h], state)
  }

  /**
   * Starts an agent process inside host `h`'s namespace: `command` (node arguments up to the agent's own
   * flags), then `--control control --host h --log-dir <logDir(h)>`. Its output is printed if it dies.
   */
  startAgent(h: Host, control: string, command: string[], cwd?: string): ChildProcess {
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        this.NS[h],
        process.execPath,
        ...command,
        '--control',
        control,
        '--host',
        h,
        '--log-dir',
        this.logDir(h),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], ...(cwd === undefined ? {} : { cwd }) },
    )
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
    })
    child.stderr!.on('data', (d) => {
      out += d
    })
    child.on('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGKILL' && signal !== 'SIGTERM')
        console.error(`agent ${h} exited ${code ?? signal}:\n${out}`)
    })
    this.agents.set(h, child)
    return child
  }

  tearDown(): void {
    for (const child of this.agents.values()) child.kill('SIGKILL')
    // The agents' children run in their own process groups: kill what still runs in the namespaces.
    for (const h of HOSTS) {
      try {
        const pids = execFileSync('ip', ['netns', 'pids', this.NS[h]], { stdio: 'pipe' })
          .toString()
          .split(/\s+/)
          .filter(Boolean)
        for (const pid of pids) {
          try {
            process.kill(Number(pid), 'SIGKILL')
          } catch {}
        }
      } catch {}
      ip('netns', 'del', this.NS[h])
    }
    ip('link', 'del', this.#bridge)
    for (const h of HOSTS) ip('link', 'del', this.#vethRoot[h])
    rmSync(this.dir, { recursive: true, force: true })
  }
}
