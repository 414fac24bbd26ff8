import { extname } from 'node:path'
import { pathToFileURL } from 'node:url'
import { parseAddress } from '../topology/address.js'
import { resolveTopology, type ResolveOptions } from '../topology/resolve.js'
import type { ResolvedInstance, Topology } from '../topology/types.js'
import { inprocInstance } from './context.js'

/**
 * The topology with every ZeroMQ-style bind (`tcp://`, `ipc://`) replaced by `inproc://<app>-<role>-<bind>`,
 * so that the roles talk in memory; HTTP and WebSocket binds stay (clients outside reach them).
 */
export function inprocTopology(topology: Topology): Topology {
  const roles: Topology['roles'] = {}
  for (const [name, spec] of Object.entries(topology.roles)) {
    const bind: Record<string, string> = {}
    for (const [bindName, address] of Object.entries(spec.bind ?? {})) {
      const a = parseAddress(address)
      const keep =
        a !== undefined && (a.kind === 'path' ? a.scheme === 'inproc' : /^(https?|wss?)$/.test(a.scheme))
      bind[bindName] = keep ? address : `inproc://${topology.name}-${name}-${bindName}`
    }
    roles[name] = { ...spec, bind }
  }
  const { hosts: _hosts, ...rest } = topology
  return { ...rest, roles }
}

/**
 * Runs every selected instance's entry module in this process (`dripdrop start --inproc`): `role()` in each
 * returns that instance (an AsyncLocalStorage context), addresses are `inproc://` except HTTP/WebSocket. No
 * supervision: an entry that throws fails the whole process. Returns the instances started.
 */
export async function runInProcess(
  topology: Topology,
  select: ResolveOptions = {},
): Promise<ResolvedInstance[]> {
  const { host: _host, ...rest } = select
  const instances = resolveTopology(inprocTopology(topology), rest)
  if (instances.some((i) => /\.[cm]?tsx?$/.test(extname(i.entry)))) {
    const { register } = await import('tsx/esm/api')
    register()
  }
  for (const instance of instances) {
    // A query makes each instance its own module: two workers run the same file twice.
    const url = `${pathToFileURL(instance.entry).href}?dripdrop-instance=${encodeURIComponent(instance.instance)}`
    await inprocInstance.run(instance, () => import(url))
  }
  return instances
}
