/**
 * What every exporter needs about a topology, engine-neutral: per role, how many instances run, what each
 * process runs (entry relative to the app root, node flags, args), its env and restart policy, what it binds
 * and where it connects. The engines differ only in how they name things and reach each other.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path'
import { ExportError } from '../errors.js'
import { ROLE_ENV } from '../protocol.js'
import { parseAddress } from '../topology/address.js'
import { resolveTopology } from '../topology/resolve.js'
import {
  type FilledRestartPolicy,
  RESTART_DEFAULTS,
  type ResolvedInstance,
  type Topology,
} from '../topology/types.js'

/** One role, as the exporters see it. */
export interface RolePlan {
  role: string
  /** Instances across every host (the topology's placement). */
  instances: number
  /** The entry module relative to the app root, `/`-separated (`examples/control-app/worker.ts`). */
  entry: string
  /** Flags `node` needs before the entry: `--import tsx` for TypeScript entries. */
  nodeArgs: string[]
  args: string[]
  /** The role's own `env`, as text. */
  env: Record<string, string>
  restart: FilledRestartPolicy
  /** Bind name → address, as the file writes it. */
  bind: Record<string, string>
  /** Connect name → targets as the file writes them (`role:gateway/work` or literal addresses). */
  connect: Record<string, string[]>
  /** Every instance of the role, resolved for the topology's own hosts (systemd uses these). */
  resolved: ResolvedInstance[]
  /** Whether another role connects to it by `role:` while it has several instances: each instance then needs
   * an address of its own (a StatefulSet in Kubernetes, per-container names in compose). */
  addressedPerInstance: boolean
}

/** A whole topology, as the exporters see it. */
export interface AppPlan {
  app: string
  control: string | undefined
  /** Absolute app root: entry paths are written relative to it. */
  root: string
  roles: RolePlan[]
  /** Whether the topology declares `hosts` (systemd renders one directory per host then). */
  hasHosts: boolean
}

/** `role:<role>/<bindName>` → its parts; `undefined` for a literal address. */
export function roleRef(target: string): { role: string; bind: string } | undefined {
  const m = /^role:([^/]+)\/(.+)$/.exec(target)
  return m ? { role: m[1], bind: m[2] } : undefined
}

/** Entries that run through tsx (as the supervisor runs them). */
const TS_ENTRY = /\.(ts|mts|cts|tsx)$/

/**
 * Builds the plan: validates and resolves the topology (a {@link TopologyError} when it is not valid), then
 * checks what only an export needs (entries inside `root`).
 */
export function planTopology(topology: Topology, root: string): AppPlan {
  const instances = resolveTopology(topology)
  const baseDir = topology.baseDir ?? process.cwd()
  const absRoot = resolve(root)
  const roles: RolePlan[] = []
  const referenced = new Set<string>()
  for (const spec of Object.values(topology.roles))
    for (const value of Object.values(spec.connect ?? {}))
      for (const target of Array.isArray(value) ? value : [value]) {
        const ref = roleRef(target)
        if (ref) referenced.add(ref.role)
      }
  for (const [role, spec] of Object.entries(topology.roles)) {
    const abs = isAbsolute(spec.entry) ? spec.entry : resolve(baseDir, spec.entry)
    const rel = relative(absRoot, abs)
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel))
      throw new ExportError(
        `roles.${role}.entry: ${abs} is outside the app root ${absRoot} (set root to a directory that holds every entry module)`,
      )
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(spec.env ?? {})) env[k] = String(v)
    const connect: Record<string, string[]> = {}
    for (const [name, value] of Object.entries(spec.connect ?? {}))
      connect[name] = Array.isArray(value) ? [...value] : [value]
    const resolved = instances.filter((i) => i.role === role)
    roles.push({
      role,
      instances: resolved.length,
      entry: rel.split(sep).join('/'),
      nodeArgs: TS_ENTRY.test(abs) ? ['--import', 'tsx'] : [],
      args: [...(spec.args ?? [])],
      env,
      restart: { ...RESTART_DEFAULTS, ...spec.restart },
      bind: { ...(spec.bind ?? {}) },
      connect,
      resolved,
      addressedPerInstance: resolved.length > 1 && referenced.has(role),
    })
  }
  return {
    app: topology.name,
    control: topology.control,
    root: absRoot,
    roles,
    hasHosts: topology.hosts !== undefined && Object.keys(topology.hosts).length > 0,
  }
}

/** A network bind's port, or `undefined` for ipc/inproc and OS-chosen ports (nobody connects to those by name). */
export function bindPort(address: string): number | undefined {
  const a = parseAddress(address)
  if (a === undefined || a.kind === 'path' || a.port === '*' || a.port === 0) return undefined
  return a.port
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '*', '::', '[::]'])

/**
 * A bind address inside a container or pod: each has its own network, and the topology's host addresses do not
 * exist there, so a network bind listens on every interface of it (`0.0.0.0`); ipc/inproc stay as they are.
 */
export function containerBind(address: string): string {
  const a = parseAddress(address)
  if (a === undefined || a.kind === 'path' || WILDCARD_HOSTS.has(a.host)) return address
  return `${a.scheme}://0.0.0.0:${a.port}${a.rest}`
}

/**
 * Resolves a role's connects for a container engine: a literal address is kept; `role:<r>/<bind>` becomes the
 * bind's scheme and port at each name `hostsOf(r)` gives (a Service name, per-instance DNS names).
 * Throws {@link ExportError} for a `role:` connect to an ipc/inproc bind: those cannot cross containers.
 */
export function resolveConnects(
  plan: AppPlan,
  role: RolePlan,
  hostsOf: (target: RolePlan) => string[],
): Record<string, string[]> {
  const out: Record<string, string[]> = {}
  for (const [name, targets] of Object.entries(role.connect)) {
    const list: string[] = []
    for (const target of targets) {
      const ref = roleRef(target)
      if (ref === undefined) {
        list.push(target)
        continue
      }
      const other = plan.roles.find((r) => r.role === ref.role)
      const address = other?.bind[ref.bind]
      // The topology was validated: an unknown role or bind cannot reach here.
      if (other === undefined || address === undefined)
        throw new ExportError(`roles.${role.role}.connect.${name}: ${target} is not declared`)
      const a = parseAddress(address)
      if (a === undefined || a.kind === 'path')
        throw new ExportError(
          `roles.${role.role}.connect.${name}: ${target} is ${address}, which cannot be reached from another container (bind a tcp address)`,
        )
      for (const host of hostsOf(other)) list.push(`${a.scheme}://${host}:${a.port}${a.rest}`)
    }
    out[name] = list
  }
  return out
}

/** The roles `role` connects to by `role:` (itself excluded), in declaration order. */
export function connectedRoles(plan: AppPlan, role: RolePlan): string[] {
  const out: string[] = []
  for (const targets of Object.values(role.connect))
    for (const target of targets) {
      const ref = roleRef(target)
      if (ref && ref.role !== role.role && !out.includes(ref.role)) out.push(ref.role)
    }
  return plan.roles.map((r) => r.role).filter((r) => out.includes(r))
}

/**
 * Kubernetes port names (IANA service names): lowercase letters, digits and `-`, at most 15 characters, at
 * least one letter. Bind names may hold `_` and capitals: `_` becomes `-`, capitals are lowered; a name that
 * still does not fit is an {@link ExportError}.
 */
export function portName(role: string, bind: string): string {
  const name = bind.toLowerCase().replace(/_/g, '-').replace(/-+/g, '-').replace(/^-|-$/g, '')
  if (name.length === 0 || name.length > 15 || !/[a-z]/.test(name))
    throw new ExportError(
      `roles.${role}.bind.${bind}: a bind name must make a port name of 1-15 lowercase letters, digits and "-" with a letter (got "${name}")`,
    )
  return name
}

/** The role's own env without the `DRIPDROP_*` variables the exporter sets itself (those win, as under the
 * supervisor). */
export function ownEnv(role: RolePlan): [string, string][] {
  const ours = new Set<string>(Object.values(ROLE_ENV))
  return Object.entries(role.env).filter(([k]) => !ours.has(k))
}

/** ms → seconds, rounded up (engines that count whole seconds). */
export function ceilSeconds(ms: number): number {
  return Math.ceil(ms / 1000)
}

/** `5000` → `5s`, `1500` → `1500ms` (compose and systemd both read these). */
export function duration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`
}
