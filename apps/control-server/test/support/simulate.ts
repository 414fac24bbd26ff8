import { Node } from '@dripdrop/core'
import type { ReportMessage } from '@dripdrop/monitor'
import { zmqTransport } from '@dripdrop/zmq'

/**
 * `n` simulated monitored processes (`sim-<offset + i>`, 4 digits) sending to a collector over one real ZeroMQ PUSH route, as
 * protocol §11 says: a report of `routes` routes every second and a heartbeat every 250 ms each. Every route
 * of `sim-XXXX` counts `perSecond(i)` messages in and out per second.
 */
export async function simulate(
  endpoint: string,
  n: number,
  routes: number,
  perSecond: (i: number) => number = () => 100,
  offset = 0,
): Promise<{
  close(): Promise<void>
  sent(): number
  skipped(): number
  setRate(fn: (i: number) => number): void
}> {
  const node = new Node({ name: 'sim', transports: [zmqTransport({ socketHighWaterMark: 100_000 })] })
  const push = node.route('out', { type: 'push', connect: endpoint, highWaterMark: 100_000 })
  await node.start()
  const startedAt = Date.now()
  let rate = perSecond
  const reports: ReportMessage[] = Array.from({ length: n }, (_, i) => ({
    v: 1,
    instance: `sim-${String(offset + i).padStart(4, '0')}`,
    role: `role-${i % 10}`,
    host: 'sim',
    pid: i,
    startedAt,
    seq: 0,
    at: 0,
    intervalMs: 1000,
    heartbeatIntervalMs: 250,
    process: {
      cpuUserUs: 0,
      cpuSystemUs: 0,
      rssBytes: 1e8,
      heapUsedBytes: 5e7,
      heapTotalBytes: 6e7,
      eventLoopDelayP50Ms: 1,
      eventLoopDelayP99Ms: 2,
      eventLoopDelayMaxMs: 3,
      eventLoopUtilization: 0.1,
    },
    routes: Array.from({ length: routes }, (_, r) => ({
      node: 'app',
      route: `route-${r}`,
      type: 'push',
      bind: [],
      connect: [`tcp://10.0.0.${r}:7000`],
      counters: { messagesIn: 0, messagesOut: 0, bytesIn: 0, bytesOut: 0, errors: 0 },
      errorsByCode: {},
      gauges: { inflight: 0, pendingRequests: 0, peers: 1 },
    })),
    names: [],
    tracked: [],
    monitor: { reportsDropped: 0, heartbeatsDropped: 0 },
  }))
  let sent = 0
  let skipped = 0
  let slot = 0
  const busy = new Uint8Array(n)
  // 40 slots a second: each sends 1/40 of the reports and 1/10 of the heartbeats.
  const timer = setInterval(() => {
    for (let i = slot % 40; i < n; i += 40) {
      const r = reports[i]
      // Bounded: an instance whose previous report is still queued skips this one (a late simulator must not
      // build a queue that delays everything after it).
      if (busy[i]) {
        skipped++
        continue
      }
      r.seq++
      // Counters grow by the rate times the time since this instance's last report, so the rate the collector
      // derives is right even when a busy machine makes the simulator late.
      const now = Date.now()
      const k = r.at === 0 ? rate(i) : Math.round((rate(i) * (now - r.at)) / 1000)
      r.at = now
      for (const route of r.routes) {
        route.counters.messagesIn += k
        route.counters.messagesOut += k
        route.counters.bytesIn += k * 100
        route.counters.bytesOut += k * 100
      }
      busy[i] = 1
      push
        .send('dd.mon.report', r)
        .catch(() => {})
        .finally(() => {
          busy[i] = 0
        })
      sent++
    }
    for (let i = slot % 10; i < n; i += 10) {
      const r = reports[i]
      if (busy[i]) continue
      push
        .send('dd.mon.heartbeat', {
          v: 1,
          instance: r.instance,
          startedAt,
          seq: slot,
          heartbeatIntervalMs: 250,
        })
        .catch(() => {})
    }
    slot++
  }, 25)
  return {
    sent: () => sent,
    skipped: () => skipped,
    setRate(fn) {
      rate = fn
    },
    async close() {
      clearInterval(timer)
      await node.close({ timeoutMs: 500 })
    },
  }
}
