import type { NameReport, ReportMessage } from '../protocol.js'
import type { Member, MonitorStore } from '../store/store.js'
import { GAP_HISTORY } from './detector.js'

/** Per-second rates of one route of one instance, over its last report interval. */
export interface RouteRates {
  instance: string
  role: string
  /** `node/route`. */
  route: string
  type: string
  rates: Record<string, number>
}

/** Counters turned into per-second series and rates. */
export const SERIES_METRICS = ['messagesIn', 'messagesOut', 'bytesIn', 'bytesOut', 'errors'] as const

/** What the collector keeps per instance. */
export interface InstanceState {
  member: Member
  /** performance.now() of the last message: the detector's clock. */
  seenAt: number
  heartbeatIntervalMs: number
  intervalMs: number
  floodSecond: number
  floodCount: number
  prevAt: number
  /** Per `node/route`: the previous cumulative counters and the series keys of this instance's route. */
  prev: Map<string, { counters: Record<string, number>; keys: string[] }>
  prevNames: Map<string, { count: number; errors: number }>
  rates: Map<string, RouteRates>
  /** The last gaps between messages, ms (a ring), and the longest of them: the detector's adaptive floor. */
  gaps: Float64Array
  gapIndex: number
  longestGap: number
}

/** Records the gap before a message (capped at `capMs`, so one long outage does not blind the detector). */
export function recordGap(s: InstanceState, gapMs: number, capMs: number): void {
  const evicted = s.gaps[s.gapIndex]
  const gap = Math.min(Math.max(0, gapMs), capMs)
  s.gaps[s.gapIndex] = gap
  s.gapIndex = (s.gapIndex + 1) % GAP_HISTORY
  if (gap >= s.longestGap) s.longestGap = gap
  else if (evicted >= s.longestGap) {
    let max = 0
    for (const g of s.gaps) if (g > max) max = g
    s.longestGap = max
  }
}

/** A fresh state for an instance first heard of (or loaded from the store) at `now` (performance.now()). */
export function newInstanceState(member: Member, now: number): InstanceState {
  return {
    member,
    seenAt: now,
    heartbeatIntervalMs: 250,
    intervalMs: 1000,
    floodSecond: 0,
    floodCount: 0,
    prevAt: 0,
    prev: new Map(),
    prevNames: new Map(),
    rates: new Map(),
    gaps: new Float64Array(GAP_HISTORY),
    gapIndex: 0,
    longestGap: 0,
  }
}

/**
 * Applies one report to an instance: counter deltas into the store's per-second series (a first report, or
 * counters lower than before, count from zero), rates over the interval between this report and the previous
 * one, the snapshot and the member record. Returns the latency deltas to merge.
 */
export function applyReport(
  s: InstanceState,
  r: ReportMessage,
  second: number,
  store: MonitorStore,
): NameReport[] {
  const m = s.member
  m.role = r.role
  m.host = r.host
  m.pid = r.pid
  s.heartbeatIntervalMs = r.heartbeatIntervalMs
  s.intervalMs = r.intervalMs
  // The first report of a process counts from zero; a collector that joins later starts from the next one.
  const fromZero = r.seq === 1
  const dt = s.prevAt > 0 && r.at > s.prevAt ? (r.at - s.prevAt) / 1000 : r.intervalMs / 1000
  s.prevAt = r.at
  for (const route of r.routes) {
    const key = `${route.node}/${route.route}`
    let prevEntry = s.prev.get(key)
    const prev = prevEntry?.counters
    if (prevEntry === undefined) {
      prevEntry = {
        counters: route.counters,
        keys: SERIES_METRICS.map((metric) => `${m.instance}|${key}|${metric}`),
      }
      s.prev.set(key, prevEntry)
    }
    const rates: Record<string, number> = {}
    for (let i = 0; i < SERIES_METRICS.length; i++) {
      const metric = SERIES_METRICS[i]
      const cur = route.counters[metric] ?? 0
      const before = prev?.[metric]
      const delta = before === undefined ? (fromZero ? cur : 0) : cur >= before ? cur - before : cur
      rates[metric] = before === undefined && !fromZero ? 0 : delta / dt
      if (delta > 0) store.add(second, prevEntry.keys[i], delta)
    }
    prevEntry.counters = route.counters
    s.rates.set(key, { instance: m.instance, role: m.role, route: key, type: route.type, rates })
  }
  const latency: NameReport[] = []
  for (const n of r.names) {
    const key = `${n.node}/${n.route}#${n.name}`
    const prev = s.prevNames.get(key)
    const delta =
      prev === undefined ? (fromZero ? n.count : 0) : n.count >= prev.count ? n.count - prev.count : n.count
    if (delta > 0) store.add(second, `${m.instance}|${key}|count`, delta)
    s.prevNames.set(key, { count: n.count, errors: n.errors })
    if (n.latencyUs !== '') latency.push({ ...n, route: `${n.node}/${n.route}` })
  }
  store.putSnapshot(m.instance, r)
  store.setMember({ ...m })
  return latency
}
