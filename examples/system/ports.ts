/**
 * Free ports for `pnpm start` (examples/system/run.ts): the defaults when they are free, other free ports when
 * something already listens there (a second `pnpm start`, a `dripdrop start` of the same topology…).
 *
 * The topology's own bind ports are kept when free. When one is taken, the run works on a COPY of the loaded
 * topology (the same object a file would give: `loadTopology()` plus `baseDir`) with that role's port moved to a
 * free one, and passes the copy to the control server (`topology` option): the controller resolves `role:…`
 * connects from it, so every instance and every agent sees the moved port. The file is never rewritten.
 */
import { createServer } from 'node:net'
import { parseAddress, type Topology } from '@dripdrop/roles'

const HOST = '127.0.0.1'

/** True when `port` can be bound on 127.0.0.1 right now. */
export function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = createServer()
    s.once('error', () => done(false))
    s.listen(port, HOST, () => s.close(() => done(true)))
  })
}

/** A port the OS says is free on 127.0.0.1 now. */
function osPort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer()
    s.once('error', fail)
    s.listen(0, HOST, () => {
      const { port } = s.address() as { port: number }
      s.close(() => done(port))
    })
  })
}

/** `wanted`, or the first of `count` consecutive free ports (`port + index` for several instances). */
async function freeRun(wanted: number, count: number, taken: Set<number>): Promise<number> {
  const runFree = async (p: number) => {
    for (let i = 0; i < count; i++) {
      if (p + i > 65_535 || taken.has(p + i) || !(await portFree(p + i))) return false
    }
    return true
  }
  if (await runFree(wanted)) return wanted
  // Bounded: the OS hands out free ports; a run of `count` after one of them is almost always free too.
  for (let attempt = 0; attempt < 50; attempt++) {
    const p = await osPort()
    if (await runFree(p)) return p
  }
  throw new Error(`no ${count} consecutive free ports on ${HOST} after 50 tries`)
}

/** What {@link withFreePorts} changed: `role/bind` → [topology's address, address used]. */
export type Moved = Record<string, [from: string, to: string]>

/**
 * A copy of `topology` whose bind ports are all free on this host (those already free are kept), with what moved.
 * Only topologies without `hosts` (everything on this host) are handled: the demo's case.
 */
export async function withFreePorts(topology: Topology): Promise<{ topology: Topology; moved: Moved }> {
  const copy = structuredClone(topology)
  const moved: Moved = {}
  const taken = new Set<number>()
  for (const [name, spec] of Object.entries(copy.roles)) {
    const count = spec.instances ?? 1
    for (const [bind, address] of Object.entries(spec.bind ?? {})) {
      const a = parseAddress(address)
      if (a?.kind !== 'net' || a.port === 0 || a.port === '*') continue
      const port = await freeRun(a.port, count, taken)
      for (let i = 0; i < count; i++) taken.add(port + i)
      if (port === a.port) continue
      const to = `${a.scheme}://${a.host}:${port}${a.rest}`
      spec.bind![bind] = to
      moved[`${name}/${bind}`] = [address, to]
    }
  }
  return { topology: copy, moved }
}
