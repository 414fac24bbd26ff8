import {
  type EventLoopUtilization,
  type IntervalHistogram,
  monitorEventLoopDelay,
  performance,
} from 'node:perf_hooks'
import type { ProcessGauges } from '../protocol.js'

/**
 * Samples the process: CPU and memory from `process`, event-loop delay from perf_hooks
 * `monitorEventLoopDelay` (a libuv timer sampled at 20 ms resolution), utilization from
 * `performance.eventLoopUtilization`. Delay and utilization cover the time since the previous sample.
 */
export class ProcessSampler {
  readonly #delay: IntervalHistogram
  #elu: EventLoopUtilization

  constructor() {
    this.#delay = monitorEventLoopDelay({ resolution: 20 })
    this.#delay.enable()
    this.#elu = performance.eventLoopUtilization()
  }

  sample(): ProcessGauges {
    const cpu = process.cpuUsage()
    const mem = process.memoryUsage()
    const elu = performance.eventLoopUtilization(this.#elu)
    this.#elu = performance.eventLoopUtilization()
    const d = this.#delay
    // An empty histogram reports NaN/huge sentinels; a report carries finite numbers only.
    const ms = (ns: number) => (Number.isFinite(ns) && d.count > 0 ? ns / 1e6 : 0)
    const gauges: ProcessGauges = {
      cpuUserUs: cpu.user,
      cpuSystemUs: cpu.system,
      rssBytes: mem.rss,
      heapUsedBytes: mem.heapUsed,
      heapTotalBytes: mem.heapTotal,
      eventLoopDelayP50Ms: ms(d.percentile(50)),
      eventLoopDelayP99Ms: ms(d.percentile(99)),
      eventLoopDelayMaxMs: ms(d.max),
      eventLoopUtilization: Number.isFinite(elu.utilization) ? elu.utilization : 0,
    }
    d.reset()
    return gauges
  }

  stop(): void {
    this.#delay.disable()
  }
}
