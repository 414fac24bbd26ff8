import { connectAddress, offsetAddress } from '../topology/address.js'
import { resolveTopology } from '../topology/resolve.js'
import type { ResolvedAddresses, ResolvedInstance, Topology } from '../topology/types.js'
import { LOCAL_HOST } from '../topology/types.js'
import { roleLimits } from '../topology/validate.js'

/** Where one instance runs now, and where the topology file put it. */
export interface Placed {
  instance: string
  role: string
  /** The host the topology places it on. */
  home: string
  /** The host it runs on now (differs from `home` after a failover). */
  host: string
  /** Its bind-port offset on `host` (0-based among the role's instances there). */
  index: number
}

/** One failover move. */
export interface Move {
  instance: string
  role: string
  from: string
  to: string
}

/**
 * The placement of every instance across hosts, and the resolution of their addresses from it: the part of
 * the {@link RoleController} that decides, with no sockets (failover, scale, rebalance, reload).
 */
export class InstancePlacement {
  topology: Topology
  /** Instance name → where it runs, in the order the topology resolves them. */
  readonly placed = new Map<string, Placed>()
  // Instance name → its resolution from the file (entry, env, restart…); addresses are recomputed.
  readonly #base = new Map<string, ResolvedInstance>()
  /** Host name → address override given by its agent at registration. */
  readonly addressOverride = new Map<string, string>()

  constructor(topology: Topology) {
    this.topology = topology
    this.reset(topology)
  }

  /** Places every instance where the file says (a reload; moves and scaling are forgotten). */
  reset(topology: Topology): void {
    this.topology = topology
    this.placed.clear()
    this.#base.clear()
    for (const r of resolveTopology(topology)) {
      this.#base.set(r.instance, r)
      this.placed.set(r.instance, {
        instance: r.instance,
        role: r.role,
        home: r.host,
        host: r.host,
        index: r.index,
      })
    }
  }

  /** Every host of the topology (`local` when it has none). */
  hosts(): string[] {
    const hosts = this.topology.hosts
    return hosts === undefined || Object.keys(hosts).length === 0 ? [LOCAL_HOST] : Object.keys(hosts)
  }

  /** Whether `host` may run `role` on failover, scale or rebalance (`hosts.<h>.allow`, default every role). */
  allows(host: string, role: string, agentAllow: readonly string[] = []): boolean {
    const allow = this.topology.hosts?.[host]?.allow
    if (allow !== undefined && !allow.includes(role)) return false
    return agentAllow.length === 0 || agentAllow.includes(role)
  }

  hostAddress(host: string): string {
    return this.addressOverride.get(host) ?? this.topology.hosts?.[host]?.address ?? '127.0.0.1'
  }

  /** Instances placed on `host` now. */
  on(host: string): Placed[] {
    return [...this.placed.values()].filter((p) => p.host === host)
  }

  /**
   * Moves the instances of `lost` to the hosts in `up` that allow their role, the least loaded first, never
   * above a role's `max`. Returns what moved, and what found no host (it stays placed on `lost`).
   */
  failover(
    lost: string,
    up: readonly string[],
    agentAllow: (host: string) => readonly string[],
  ): { moved: Move[]; unplaced: Placed[] } {
    const moved: Move[] = []
    const unplaced: Placed[] = []
    const live = new Set(up.filter((h) => h !== lost))
    for (const p of this.on(lost)) {
      const { max } = this.#limits(p.role)
      const running = [...this.placed.values()].filter((q) => q.role === p.role && live.has(q.host)).length
      const to = this.#leastLoaded([...live].filter((h) => this.allows(h, p.role, agentAllow(h))))
      if (to === undefined || running + 1 > max) {
        unplaced.push(p)
        continue
      }
      moved.push({ instance: p.instance, role: p.role, from: p.host, to })
      this.#move(p, to)
    }
    return { moved, unplaced }
  }

  /** Moves instances back to their home host when it is in `up`. Returns the moves. */
  rebalance(up: readonly string[]): Move[] {
    const moves: Move[] = []
    for (const p of this.placed.values()) {
      if (p.host === p.home || !up.includes(p.home)) continue
      moves.push({ instance: p.instance, role: p.role, from: p.host, to: p.home })
      this.#move(p, p.home)
    }
    return moves
  }

  /**
   * Runs `n` instances of `role` in all: new ones (`<role>-<k>`, the next free k) on the least loaded hosts in
   * `up` that allow the role; removes the highest-numbered ones first. Returns the names added and removed.
   */
  scale(
    role: string,
    n: number,
    up: readonly string[],
    agentAllow: (host: string) => readonly string[],
  ): { added: string[]; removed: string[] } {
    const mine = [...this.placed.values()].filter((p) => p.role === role)
    const num = (p: Placed) => Number(p.instance.slice(role.length + 1))
    const added: string[] = []
    const removed: string[] = []
    if (n < mine.length) {
      for (const p of mine.sort((a, b) => num(b) - num(a)).slice(0, mine.length - n)) {
        this.placed.delete(p.instance)
        removed.push(p.instance)
      }
      return { added, removed }
    }
    const template = this.#template(role)
    let k = Math.max(0, ...mine.map(num))
    for (let i = mine.length; i < n; i++) {
      const to = this.#leastLoaded(up.filter((h) => this.allows(h, role, agentAllow(h))))
      if (to === undefined) break
      const name = `${role}-${++k}`
      this.#base.set(name, { ...template, instance: name })
      const p: Placed = { instance: name, role, home: to, host: to, index: 0 }
      this.placed.set(name, p)
      p.index = this.#freeIndex(role, to, p)
      added.push(name)
    }
    return { added, removed }
  }

  /** Every instance resolved against the current placement (addresses recomputed from where each runs). */
  resolve(): ResolvedInstance[] {
    const out: ResolvedInstance[] = []
    for (const p of this.placed.values()) {
      const base = this.#base.get(p.instance)!
      out.push({
        ...base,
        host: p.host,
        hostAddress: this.hostAddress(p.host),
        index: p.index,
        addresses: this.#addresses(p),
      })
    }
    return out
  }

  /** The resolved instances of one host. */
  resolveHost(host: string): ResolvedInstance[] {
    return this.resolve().filter((r) => r.host === host)
  }

  #addresses(p: Placed): ResolvedAddresses {
    const spec = this.topology.roles[p.role]
    const bind: Record<string, string> = {}
    for (const [name, address] of Object.entries(spec.bind ?? {}))
      bind[name] = offsetAddress(address, p.index)
    const connect: Record<string, string[]> = {}
    for (const [name, value] of Object.entries(spec.connect ?? {})) {
      const list: string[] = []
      for (const target of Array.isArray(value) ? value : [value]) {
        const m = /^role:([^/]+)\/(.+)$/.exec(target)
        if (!m) {
          list.push(target)
          continue
        }
        const address = this.topology.roles[m[1]]?.bind?.[m[2]]
        if (address === undefined) continue
        for (const q of this.placed.values())
          if (q.role === m[1])
            list.push(connectAddress(offsetAddress(address, q.index), this.hostAddress(q.host)))
      }
      connect[name] = list
    }
    return { bind, connect }
  }

  #limits(role: string): { min: number; max: number } {
    return roleLimits(this.topology, role)
  }

  #leastLoaded(hosts: string[]): string | undefined {
    let best: string | undefined
    let load = Number.POSITIVE_INFINITY
    for (const h of hosts) {
      const n = this.on(h).length
      if (n < load) {
        best = h
        load = n
      }
    }
    return best
  }

  #move(p: Placed, to: string): void {
    p.host = to
    p.index = this.#freeIndex(p.role, to, p)
  }

  // The smallest bind offset no other instance of the role uses on `host`.
  #freeIndex(role: string, host: string, self: Placed): number {
    const used = new Set(
      [...this.placed.values()]
        .filter((q) => q !== self && q.role === role && q.host === host)
        .map((q) => q.index),
    )
    let i = 0
    while (used.has(i)) i++
    return i
  }

  #template(role: string): ResolvedInstance {
    for (const [name, base] of this.#base)
      if (this.placed.get(name)?.role === role || base.role === role) return base
    const [first] = resolveTopology({ ...this.topology, hosts: undefined } as Topology, { role })
    return first
  }
}
