/**
 * The topology file's shape: which roles an app has, what each runs and where. Written as YAML, JSON or a
 * TS/JS module whose default export is the object ({@link defineTopology} types it). The full reference, with
 * every default, is docs/deploying.md § Topology file reference.
 */

/** What to do when an instance's process exits: `always` restart, restart `on-failure` (exit code ≠ 0 or a
 * signal), or `never`. */
export type RestartPolicyName = 'always' | 'on-failure' | 'never'

/**
 * How a role's processes are restarted and stopped. Every field is optional; {@link RESTART_DEFAULTS} fills
 * the rest.
 */
export interface RestartPolicy {
  /** @default 'always' */
  policy?: RestartPolicyName
  /** First restart delay, ms. @default 100 */
  minDelayMs?: number
  /** Each further restart waits `factor` times longer. @default 2 */
  factor?: number
  /** Upper bound of the delay, ms. @default 15000 */
  maxDelayMs?: number
  /** An instance up this long has its delay reset to `minDelayMs`, ms. @default 30000 */
  resetAfterMs?: number
  /** Intensity limit: more than this many restarts within `withinMs` and the instance is FAILED (no more
   * restarts, `instance:failed`). @default 5 */
  maxRestarts?: number
  /** The intensity window, ms. @default 60000 */
  withinMs?: number
  /** Graceful stop: SIGTERM, then SIGKILL after this many ms. @default 5000 */
  stopTimeoutMs?: number
}

/** A {@link RestartPolicy} with every field filled. */
export type FilledRestartPolicy = Required<RestartPolicy>

/** The restart policy a role gets when it says nothing (docs/deploying.md lists them). */
export const RESTART_DEFAULTS: Readonly<FilledRestartPolicy> = Object.freeze({
  policy: 'always',
  minDelayMs: 100,
  factor: 2,
  maxDelayMs: 15_000,
  resetAfterMs: 30_000,
  maxRestarts: 5,
  withinMs: 60_000,
  stopTimeoutMs: 5_000,
})

/** One role: the module its processes run, how many, and the addresses it binds and connects to. */
export interface RoleSpec {
  /** The module each process runs, relative to the topology file. `.ts`/`.mts`/`.cts` run through tsx. */
  entry: string
  /** Instances when no `hosts` are given, and on a host that lists the role without a count. ≥ 1. @default 1 */
  instances?: number
  /** Failover keeps at least this many instances across all hosts. @default the instances placed */
  min?: number
  /** Failover never runs more than this many instances across all hosts. @default the instances placed */
  max?: number
  /** Extra arguments after the entry module. @default [] */
  args?: string[]
  /** Extra environment variables (numbers and booleans are written as text). */
  env?: Record<string, string | number | boolean>
  /**
   * Name → address this role binds (`tcp://0.0.0.0:7301`, `http://0.0.0.0:8080`, `ipc:///tmp/x`,
   * `inproc://x`). When several instances of the role run on one host, instance `index` binds
   * `port + index` (ipc/inproc: the path or name gets `-<index>` for index ≥ 1).
   */
  bind?: Record<string, string>
  /**
   * Name → where this role connects: `role:<role>/<bindName>` (resolved to every instance of that role, the
   * wildcard host replaced by the instance's host address), or literal address(es).
   */
  connect?: Record<string, string | string[]>
  /** Restart and stop behaviour; see {@link RESTART_DEFAULTS}. */
  restart?: RestartPolicy
}

/** One host the app runs on. */
export interface HostSpec {
  /** The address others use to reach this host's roles (replaces `0.0.0.0`/`*` in their bind addresses). */
  address: string
  /** Role → instances on this host; a list of names means each role's `instances`. */
  roles: Record<string, number> | string[]
  /** Roles this host may take over on failover. @default every role */
  allow?: string[]
}

/** A whole app: its roles and, optionally, the hosts they run on. */
export interface Topology {
  /** The app's name (lowercase letters, digits, `-`). */
  name: string
  /** The control server's agent channel (`tcp://control:7200`), for agents and `DRIPDROP_CONTROL`. */
  control?: string
  /** Role name → what it runs. */
  roles: Record<string, RoleSpec>
  /** Host name → address and roles. Without hosts every role runs on this host (`local`, 127.0.0.1). */
  hosts?: Record<string, HostSpec>
  /**
   * Directory `entry` paths are relative to. Set by {@link loadTopology} to the file's directory; defaults to
   * the current directory. Not part of the file.
   */
  baseDir?: string
}

/** Resolved addresses of one instance: what it binds, and every address behind each connect name. */
export interface ResolvedAddresses {
  bind: Record<string, string>
  connect: Record<string, string[]>
}

/** One process to run: a role's instance on a host, with everything resolved. */
export interface ResolvedInstance {
  /** The topology's `name`. */
  app: string
  role: string
  /** `<role>-<n>`, n from 1 across all hosts in the order hosts are declared (`worker-3`). */
  instance: string
  /** 0-based position among this role's instances on this host: the bind port offset. */
  index: number
  /** Host name (`local` when the topology has no hosts). */
  host: string
  /** The host's address (127.0.0.1 for `local`). */
  hostAddress: string
  addresses: ResolvedAddresses
  /** Absolute path of the entry module. */
  entry: string
  args: string[]
  /** The role's own `env`, as text (the `DRIPDROP_*` variables are added when the process is started). */
  env: Record<string, string>
  restart: FilledRestartPolicy
  /** The topology's `control`, when it has one. */
  control?: string
}

/** The host name used when a topology has no `hosts`. */
export const LOCAL_HOST = 'local'
/** The address of {@link LOCAL_HOST}. */
export const LOCAL_ADDRESS = '127.0.0.1'

/**
 * Types a topology written as a TS module (`export default defineTopology({ … })`). Returns its argument.
 *
 * @example
 * ```ts
 * export default defineTopology({
 *   name: 'shop',
 *   roles: { worker: { entry: './worker.ts', instances: 2 } },
 * })
 * ```
 */
export function defineTopology<T extends Topology>(topology: T): T {
  return topology
}
