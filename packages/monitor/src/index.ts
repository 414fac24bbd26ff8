export {
  Collector,
  type CollectorOptions,
  type CollectorStats,
  type InstanceInfo,
} from './collector/collector.js'
export { type RouteRates, SERIES_METRICS } from './collector/instance-state.js'
export type { DetectorOptions } from './collector/detector.js'
export { type CollectorEventMap, CollectorEvents, type InstanceEvent } from './collector/events.js'
export { PrometheusExporter } from './collector/prometheus.js'
export type { Link } from './collector/topology.js'
export { DripdropError, ReportError, type ReportErrorCode, StoreError } from './errors.js'
export {
  DEFAULT_LIMITS,
  type GoodbyeMessage,
  type HeartbeatMessage,
  MESSAGE,
  MONITOR_PROTOCOL_VERSION,
  type MonitorMessage,
  type NameReport,
  type ProcessGauges,
  type ReportLimits,
  type ReportMessage,
  type RouteReport,
  type TrackedReport,
  validateMessage,
} from './protocol.js'
export { decodeLatency } from './reporter/latency.js'
export { installAuto, monitor, monitorFromEnv, optionsFromEnv } from './reporter/monitor.js'
export { Reporter, type ReporterOptions, type ReporterStats } from './reporter/reporter.js'
export { MemoryStore, type MemoryStoreOptions } from './store/memory-store.js'
export { RedisStore, type RedisStoreOptions } from './store/redis-store.js'
export type { InstanceStatus, Member, MonitorStore, StoreHealth } from './store/store.js'
