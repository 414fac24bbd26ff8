/**
 * Addresses as a topology writes them: `scheme://host:port[/path]` for tcp, http(s), ws(s), and
 * `ipc://path` / `inproc://name` without a port. Only what resolution needs: the port offset of an instance
 * and the wildcard host replaced by a host's address.
 */

/** A parsed address: `port` is a number, `0`, or `'*'` (any port). */
export type ParsedAddress =
  | { kind: 'net'; scheme: string; host: string; port: number | '*'; rest: string }
  | { kind: 'path'; scheme: 'ipc' | 'inproc'; path: string }

const NET = /^([a-z][a-z0-9+.-]*):\/\/(\[[0-9a-fA-F:.]+\]|[^:/?#\s[\]]+):(\d{1,5}|\*)([/?#]\S*)?$/
const PATH = /^(ipc|inproc):\/\/(\S+)$/

/** Hosts that mean "every interface": replaced by the host's address when someone connects. */
const WILDCARDS = new Set(['0.0.0.0', '*', '::', '[::]'])

/** Parses an address, or returns `undefined` when it is not one this package understands. */
export function parseAddress(address: string): ParsedAddress | undefined {
  const path = PATH.exec(address)
  if (path) return { kind: 'path', scheme: path[1] as 'ipc' | 'inproc', path: path[2] }
  const m = NET.exec(address)
  if (!m) return undefined
  const port = m[3] === '*' ? '*' : Number(m[3])
  if (port !== '*' && port > 65_535) return undefined
  return { kind: 'net', scheme: m[1], host: m[2], port, rest: m[4] ?? '' }
}

/** Whether a bind address leaves its port to the OS (`:0` or `:*`): nobody could connect to it by name. */
export function hasOpenPort(address: string): boolean {
  const a = parseAddress(address)
  return a?.kind === 'net' && (a.port === 0 || a.port === '*')
}

/**
 * The address instance `index` of a role binds on one host: `port + index` (ipc/inproc: `-<index>` appended
 * for index ≥ 1). Open ports (`0`, `*`) stay open.
 */
export function offsetAddress(address: string, index: number): string {
  if (index === 0) return address
  const a = parseAddress(address)
  if (a === undefined) return address
  if (a.kind === 'path') return `${a.scheme}://${a.path}-${index}`
  if (a.port === 0 || a.port === '*') return address
  return `${a.scheme}://${a.host}:${a.port + index}${a.rest}`
}

/** A bind address as a connector on another host reaches it: the wildcard host becomes `hostAddress`. */
export function connectAddress(bindAddress: string, hostAddress: string): string {
  const a = parseAddress(bindAddress)
  if (a === undefined || a.kind === 'path' || !WILDCARDS.has(a.host)) return bindAddress
  const host = hostAddress.includes(':') && !hostAddress.startsWith('[') ? `[${hostAddress}]` : hostAddress
  return `${a.scheme}://${host}:${a.port}${a.rest}`
}

/** The `host:port` key two binds on one host conflict on (`undefined` for ipc/inproc or an open port). */
export function portKey(address: string): string | undefined {
  const a = parseAddress(address)
  if (a === undefined || a.kind === 'path') return a?.kind === 'path' ? `${a.scheme}://${a.path}` : undefined
  if (a.port === 0 || a.port === '*') return undefined
  return String(a.port)
}
