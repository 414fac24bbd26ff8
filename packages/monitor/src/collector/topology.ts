import type { ReportMessage } from '../protocol.js'
import type { RouteRates } from './instance-state.js'

/** A link the dashboard draws: one instance's route connected to another's bound endpoint. */
export interface Link {
  /** The connecting side. */
  from: { instance: string; route: string }
  /** The binding side. */
  to: { instance: string; route: string }
  /** The endpoint as the connecting side wrote it. */
  endpoint: string
  /** Envelopes per second the connecting route sent / received over its last report interval (all its peers). */
  outPerSecond: number
  inPerSecond: number
}

const WILDCARD_HOSTS = new Set(['*', '0.0.0.0', '[::]', '::'])

function split(endpoint: string): { scheme: string; host: string; port: string } | undefined {
  const m = /^([a-z]+):\/\/(.*):(\d+)$/.exec(endpoint)
  return m === null ? undefined : { scheme: m[1], host: m[2], port: m[3] }
}

/**
 * Matches every `connect` endpoint to a bound endpoint of another instance: exactly, or a bind on a wildcard
 * host (`tcp://0.0.0.0:7100`) with the same port on the binding instance's host (or a loopback address).
 */
export function findLinks(
  instances: {
    instance: string
    host: string
    report: ReportMessage | undefined
    rates: Map<string, RouteRates>
  }[],
): Link[] {
  const exact = new Map<string, { instance: string; route: string }>()
  const byPort = new Map<string, { instance: string; route: string; host: string }[]>()
  for (const i of instances) {
    for (const r of i.report?.routes ?? []) {
      for (const b of r.bind) {
        const owner = { instance: i.instance, route: `${r.node}/${r.route}` }
        exact.set(b, owner)
        const p = split(b)
        if (p !== undefined && WILDCARD_HOSTS.has(p.host)) {
          const key = `${p.scheme}:${p.port}`
          const list = byPort.get(key) ?? []
          list.push({ ...owner, host: i.host })
          byPort.set(key, list)
        }
      }
    }
  }
  const links: Link[] = []
  for (const i of instances) {
    for (const r of i.report?.routes ?? []) {
      const route = `${r.node}/${r.route}`
      for (const c of r.connect) {
        let to = exact.get(c)
        if (to === undefined) {
          const p = split(c)
          const candidates = p === undefined ? undefined : byPort.get(`${p.scheme}:${p.port}`)
          to = candidates?.find(
            (o) => o.host === p?.host || p?.host === '127.0.0.1' || p?.host === 'localhost',
          )
        }
        if (to === undefined || to.instance === i.instance) continue
        const rates = i.rates.get(route)?.rates
        links.push({
          from: { instance: i.instance, route },
          to: { instance: to.instance, route: to.route },
          endpoint: c,
          outPerSecond: rates?.messagesOut ?? 0,
          inPerSecond: rates?.messagesIn ?? 0,
        })
      }
    }
  }
  return links
}
