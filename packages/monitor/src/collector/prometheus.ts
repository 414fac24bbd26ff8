import { Counter, Gauge, Registry } from 'prom-client'
import type { Collector } from './collector.js'

/** Route counters exported as Prometheus counters: report field → metric name (base units, `_total`). */
const ROUTE_COUNTERS: [string, string, string][] = [
  ['messagesIn', 'dripdrop_route_messages_received_total', 'Envelopes received.'],
  ['messagesOut', 'dripdrop_route_messages_sent_total', 'Envelopes sent.'],
  ['bytesIn', 'dripdrop_route_received_bytes_total', 'Frame bytes received.'],
  ['bytesOut', 'dripdrop_route_sent_bytes_total', 'Frame bytes sent.'],
  ['errors', 'dripdrop_route_errors_total', 'Transport and handler errors.'],
  ['aborted', 'dripdrop_route_aborted_total', 'Requests or connections the peer abandoned.'],
  ['expired', 'dripdrop_route_expired_total', 'Requests dropped because their deadline had passed.'],
  ['decodeErrors', 'dripdrop_route_decode_errors_total', 'Frames that failed to decode.'],
  ['dropped', 'dripdrop_route_dropped_total', 'Envelopes dropped.'],
  ['timeouts', 'dripdrop_route_timeouts_total', 'Requests that timed out.'],
]
const ROUTE_GAUGES: [string, string, string][] = [
  ['inflight', 'dripdrop_route_handlers_inflight', 'Async handlers running.'],
  ['pendingRequests', 'dripdrop_route_pending_requests', 'Requests waiting for a reply.'],
  ['peers', 'dripdrop_route_peers', 'Connected peers.'],
]

/**
 * The collector's Prometheus exposition, built with prom-client: one `Registry`, metrics whose `collect()`
 * reads the collector's latest snapshots at scrape time. Labels are `role`, `instance`, `route` (`node/route`).
 */
export class PrometheusExporter {
  readonly registry = new Registry()

  constructor(collector: Collector) {
    const r = this.registry
    const routeLabels = ['role', 'instance', 'route'] as const
    const procLabels = ['role', 'instance'] as const
    const live = () => collector.instances().filter((i) => i.status !== 'left' && i.report !== undefined)

    new Gauge({
      name: 'dripdrop_instance_up',
      help: 'Whether the instance is heard from: 1 up or suspect, 0 down (left instances are not exported).',
      labelNames: [...procLabels, 'status'],
      registers: [r],
      collect() {
        this.reset()
        for (const i of collector.instances()) {
          if (i.status === 'left') continue
          this.set({ role: i.role, instance: i.instance, status: i.status }, i.status === 'down' ? 0 : 1)
        }
      },
    })
    for (const [field, name, help] of ROUTE_COUNTERS) {
      new Counter({
        name,
        help,
        labelNames: routeLabels,
        registers: [r],
        collect() {
          this.reset()
          for (const i of live()) {
            for (const route of i.report?.routes ?? []) {
              const v = route.counters[field]
              if (v !== undefined && v > 0)
                this.inc({ role: i.role, instance: i.instance, route: `${route.node}/${route.route}` }, v)
            }
          }
        },
      })
    }
    for (const [field, name, help] of ROUTE_GAUGES) {
      new Gauge({
        name,
        help,
        labelNames: routeLabels,
        registers: [r],
        collect() {
          this.reset()
          for (const i of live()) {
            for (const route of i.report?.routes ?? []) {
              this.set(
                { role: i.role, instance: i.instance, route: `${route.node}/${route.route}` },
                route.gauges[field] ?? 0,
              )
            }
          }
        },
      })
    }
    new Counter({
      name: 'dripdrop_process_cpu_seconds_total',
      help: 'User and system CPU time of the process.',
      labelNames: procLabels,
      registers: [r],
      collect() {
        this.reset()
        for (const i of live()) {
          const p = i.report?.process
          if (p !== undefined)
            this.inc({ role: i.role, instance: i.instance }, (p.cpuUserUs + p.cpuSystemUs) / 1e6)
        }
      },
    })
    const procGauge = (
      name: string,
      help: string,
      read: (p: NonNullable<ReturnType<typeof live>[number]['report']>['process']) => number,
    ) =>
      new Gauge({
        name,
        help,
        labelNames: procLabels,
        registers: [r],
        collect() {
          this.reset()
          for (const i of live())
            if (i.report !== undefined)
              this.set({ role: i.role, instance: i.instance }, read(i.report.process))
        },
      })
    procGauge('dripdrop_process_resident_memory_bytes', 'Resident set size.', (p) => p.rssBytes)
    procGauge('dripdrop_process_heap_used_bytes', 'V8 heap used.', (p) => p.heapUsedBytes)
    procGauge(
      'dripdrop_process_event_loop_delay_p99_seconds',
      'Event-loop delay p99 over the last interval.',
      (p) => p.eventLoopDelayP99Ms / 1000,
    )
    procGauge(
      'dripdrop_process_event_loop_utilization_ratio',
      'Event-loop utilization over the last interval, 0..1.',
      (p) => p.eventLoopUtilization,
    )
    new Gauge({
      name: 'dripdrop_handler_latency_seconds',
      help: 'Handler latency per role, route and message name, merged over instances since the collector started.',
      labelNames: ['role', 'route', 'name', 'quantile'],
      registers: [r],
      collect() {
        this.reset()
        for (const l of collector.latency()) {
          this.set({ role: l.role, route: l.route, name: l.name, quantile: '0.5' }, l.p50Us / 1e6)
          this.set({ role: l.role, route: l.route, name: l.name, quantile: '0.99' }, l.p99Us / 1e6)
        }
      },
    })
    new Counter({
      name: 'dripdrop_collector_refused_total',
      help: 'Monitoring messages the collector refused, by error code.',
      labelNames: ['code'],
      registers: [r],
      collect() {
        this.reset()
        for (const [code, n] of Object.entries(collector.stats.refused)) this.inc({ code }, n)
      },
    })
    new Counter({
      name: 'dripdrop_collector_messages_total',
      help: 'Monitoring messages the collector accepted, by type.',
      labelNames: ['type'],
      registers: [r],
      collect() {
        this.reset()
        this.inc({ type: 'report' }, collector.stats.reports)
        this.inc({ type: 'heartbeat' }, collector.stats.heartbeats)
        this.inc({ type: 'goodbye' }, collector.stats.goodbyes)
      },
    })
  }

  get contentType(): string {
    return this.registry.contentType
  }

  metrics(): Promise<string> {
    return this.registry.metrics()
  }
}
