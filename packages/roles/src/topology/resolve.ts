import { isAbsolute, resolve } from 'node:path'
import { TopologyError } from '../errors.js'
import { connectAddress, offsetAddress } from './address.js'
import {
  type FilledRestartPolicy,
  RESTART_DEFAULTS,
  type ResolvedAddresses,
  type ResolvedInstance,
  type Topology,
} from './types.js'
import { type Placement, placements, validateTopology } from './validate.js'

/** Options of {@link resolveTopology}. */
export interface ResolveOptions {
  /** Only the instances placed on this host (all addresses are still resolved against every host). */
  host?: string
  /** Only this role's instances. */
  role?: string
  /**
   * Run this many instances of each selected role on each selected host instead of what the file says
   * (`dripdrop start --instances N`).
   */
  instances?: number
  /**
   * Role → instances on the selected host (every host when `host` is not given), replacing what the file says;
   * `0` runs none. A role the file does not place on that host is added there. Used by `Supervisor.scale()`.
   */
  scale?: Record<string, number>
}

/** Where instance `index` of `p` binds, name → address. */
function bindsOf(topology: Topology, p: Placement, index: number): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [name, address] of Object.entries(topology.roles[p.role].bind ?? {}))
    out[name] = offsetAddress(address, index)
  return out
}

/**
 * Turns a topology into the processes to run: every instance of every role on every host (or on `host`), with
 * its name (`worker-2`), host, entry (absolute), env, restart policy, and addresses — what it binds (port +
 * index when a role has several instances on one host) and, per connect name, every address behind it
 * (`role:gateway/work` → each gateway instance's `work` address, the wildcard host replaced by the address of
 * the host it runs on).
 *
 * Validates first; throws {@link TopologyError} (`DD_ERR_TOPOLOGY`), also for an unknown `host` or `role`.
 */
export function resolveTopology(topology: Topology, options: ResolveOptions = {}): ResolvedInstance[] {
  validateTopology(topology)
  if (
    options.host !== undefined &&
    topology.hosts?.[options.host] === undefined &&
    !(options.host === 'local' && topology.hosts === undefined)
  )
    throw new TopologyError([
      `host "${options.host}" is not declared (hosts: ${Object.keys(topology.hosts ?? { local: 0 }).join(', ')})`,
    ])
  if (options.role !== undefined && topology.roles[options.role] === undefined)
    throw new TopologyError([
      `role "${options.role}" is not declared (roles: ${Object.keys(topology.roles).join(', ')})`,
    ])
  if (options.instances !== undefined && !(Number.isInteger(options.instances) && options.instances >= 1))
    throw new TopologyError([`instances must be an integer >= 1, got ${options.instances}`])

  const all = placements(topology)
  for (const [role, n] of Object.entries(options.scale ?? {})) {
    if (topology.roles[role] === undefined) throw new TopologyError([`scale: role "${role}" is not declared`])
    if (!(Number.isInteger(n) && n >= 0))
      throw new TopologyError([`scale.${role} must be an integer >= 0, got ${n}`])
    const hosts = options.host === undefined ? [...new Set(all.map((p) => p.host))] : [options.host]
    for (const host of hosts) {
      const found = all.filter((p) => p.role === role && p.host === host)
      if (found.length > 0) for (const [i, p] of found.entries()) p.count = i === 0 ? n : 0
      else
        all.push({
          host,
          hostAddress:
            topology.hosts?.[host]?.address ?? all.find((p) => p.host === host)?.hostAddress ?? '127.0.0.1',
          role,
          count: n,
        })
    }
  }
  // Every instance everywhere, numbered per role across hosts: the connect lists need all of them.
  const everywhere: { p: Placement; index: number; n: number }[] = []
  const counter = new Map<string, number>()
  for (const p of all) {
    const selected =
      (options.host === undefined || p.host === options.host) &&
      (options.role === undefined || p.role === options.role)
    const count = selected && options.instances !== undefined ? options.instances : p.count
    for (let index = 0; index < count; index++) {
      const n = (counter.get(p.role) ?? 0) + 1
      counter.set(p.role, n)
      everywhere.push({ p, index, n })
    }
  }
  const baseDir = topology.baseDir ?? process.cwd()
  const out: ResolvedInstance[] = []
  for (const { p, index, n } of everywhere) {
    if (options.host !== undefined && p.host !== options.host) continue
    if (options.role !== undefined && p.role !== options.role) continue
    const spec = topology.roles[p.role]
    const addresses: ResolvedAddresses = { bind: bindsOf(topology, p, index), connect: {} }
    for (const [name, value] of Object.entries(spec.connect ?? {})) {
      const list: string[] = []
      for (const target of Array.isArray(value) ? value : [value]) {
        const m = /^role:([^/]+)\/(.+)$/.exec(target)
        if (!m) {
          list.push(target)
          continue
        }
        for (const other of everywhere)
          if (other.p.role === m[1])
            list.push(connectAddress(bindsOf(topology, other.p, other.index)[m[2]], other.p.hostAddress))
      }
      addresses.connect[name] = list
    }
    const env: Record<string, string> = {}
    for (const [k, v] of Object.entries(spec.env ?? {})) env[k] = String(v)
    const restart: FilledRestartPolicy = { ...RESTART_DEFAULTS, ...spec.restart }
    out.push({
      app: topology.name,
      role: p.role,
      instance: `${p.role}-${n}`,
      index,
      host: p.host,
      hostAddress: p.hostAddress,
      addresses,
      entry: isAbsolute(spec.entry) ? spec.entry : resolve(baseDir, spec.entry),
      args: [...(spec.args ?? [])],
      env,
      restart,
      ...(topology.control === undefined ? {} : { control: topology.control }),
    })
  }
  return out
}
