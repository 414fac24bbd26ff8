import type { Collector, InstanceInfo, Link, RouteRates } from '@dripdrop/monitor'
import { ControlHttpError } from './errors.js'

/** One instance as the dashboard lists it: status and summed rates of its routes (per second). */
export interface InstanceRow {
  instance: string
  role: string
  host: string
  pid: number
  status: string
  lastSeen: number
  startedAt: number
  routes: number
  /** Envelopes in / out per second, bytes in / out per second, errors per second (summed over its routes). */
  msgIn: number
  msgOut: number
  bytesIn: number
  bytesOut: number
  errors: number
  /** Handlers running now + requests waiting for a reply (the closest to a queue depth core reports). */
  inflight: number
  pending: number
  /** Event-loop utilization over the last interval, 0..1. */
  elu: number
  /** Resident memory, bytes. */
  rss: number
}

/** An event of the events log. */
export interface LoggedEvent {
  /** ms since the epoch (collector clock). */
  at: number
  type: string
  instance: string
  role: string
  previous: string | undefined
}

/** A link between two roles: the sum of the instance links between them. */
export interface RoleLink {
  from: string
  to: string
  links: number
  perSecond: number
}

/** The instance rows, rates summed from the collector's route rates. */
export function instanceRows(collector: Collector): InstanceRow[] {
  const rates = new Map<string, RouteRates[]>()
  for (const r of collector.routeRates()) {
    let list = rates.get(r.instance)
    if (list === undefined) rates.set(r.instance, (list = []))
    list.push(r)
  }
  return collector.instances().map((i) => row(i, rates.get(i.instance) ?? []))
}

function row(i: InstanceInfo, rates: RouteRates[]): InstanceRow {
  const r: InstanceRow = {
    instance: i.instance,
    role: i.role,
    host: i.host,
    pid: i.pid,
    status: i.status,
    lastSeen: i.lastSeen,
    startedAt: i.startedAt,
    routes: i.report?.routes.length ?? 0,
    msgIn: 0,
    msgOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    errors: 0,
    inflight: 0,
    pending: 0,
    elu: i.report?.process.eventLoopUtilization ?? 0,
    rss: i.report?.process.rssBytes ?? 0,
  }
  for (const x of rates) {
    r.msgIn += x.rates.messagesIn ?? 0
    r.msgOut += x.rates.messagesOut ?? 0
    r.bytesIn += x.rates.bytesIn ?? 0
    r.bytesOut += x.rates.bytesOut ?? 0
    r.errors += x.rates.errors ?? 0
  }
  for (const route of i.report?.routes ?? []) {
    r.inflight += route.gauges.inflight ?? 0
    r.pending += route.gauges.pendingRequests ?? 0
  }
  return r
}

/** Links summed per pair of roles (what the topology draws when there are too many instances to draw). */
export function roleLinks(links: Link[], roleOf: Map<string, string>): RoleLink[] {
  const out = new Map<string, RoleLink>()
  for (const l of links) {
    const from = roleOf.get(l.from.instance) ?? '?'
    const to = roleOf.get(l.to.instance) ?? '?'
    const key = `${from}\u0000${to}`
    let e = out.get(key)
    if (e === undefined) out.set(key, (e = { from, to, links: 0, perSecond: 0 }))
    e.links++
    e.perSecond += l.outPerSecond + l.inPerSecond
  }
  return [...out.values()]
}

/** Filters, sorts and pages instance rows: `q` (substring of instance, role or host), `role`, `status`. */
export function pageRows(
  rows: InstanceRow[],
  query: Record<string, string | string[]>,
): { total: number; page: number; pageSize: number; items: InstanceRow[] } {
  const q = str(query, 'q')?.toLowerCase()
  const role = str(query, 'role')
  const status = str(query, 'status')
  const page = int(query, 'page', 1, 1, 1_000_000)
  const pageSize = int(query, 'pageSize', 50, 1, 1000)
  const filtered = rows
    .filter(
      (r) =>
        (q === undefined ||
          r.instance.toLowerCase().includes(q) ||
          r.role.toLowerCase().includes(q) ||
          r.host.toLowerCase().includes(q)) &&
        (role === undefined || r.role === role) &&
        (status === undefined || r.status === status),
    )
    .sort((a, b) => a.role.localeCompare(b.role) || a.instance.localeCompare(b.instance))
  return {
    total: filtered.length,
    page,
    pageSize,
    items: filtered.slice((page - 1) * pageSize, page * pageSize),
  }
}

/** A query string parameter, or undefined; a repeated parameter is a 400. */
export function str(query: Record<string, string | string[]>, name: string): string | undefined {
  const v = query[name]
  if (v === undefined || v === '') return undefined
  if (Array.isArray(v)) throw new ControlHttpError(400, 'DD_ERR_CONTROL_BAD_QUERY', `${name} was given twice`)
  if (v.length > 256)
    throw new ControlHttpError(400, 'DD_ERR_CONTROL_BAD_QUERY', `${name} is over 256 characters`)
  return v
}

/** An integer query parameter within [min, max]; anything else is a 400 `DD_ERR_CONTROL_BAD_QUERY`. */
export function int(
  query: Record<string, string | string[]>,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const v = str(query, name)
  if (v === undefined) return fallback
  const n = Number(v)
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ControlHttpError(
      400,
      'DD_ERR_CONTROL_BAD_QUERY',
      `${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`,
    )
  }
  return n
}
