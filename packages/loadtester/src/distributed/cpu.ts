import { isMainThread } from 'node:worker_threads'
import { performance } from 'node:perf_hooks'

/**
 * Measures how busy this agent is, 0..1, since the previous call. A process agent reports its process CPU
 * time over wall time (one core = 1); a thread agent reports its event loop's utilisation, because the
 * process's CPU time also counts its sibling threads. Either way an engine near 1 cannot keep its schedule.
 */
export class CpuMeter {
  #cpu = process.cpuUsage()
  #wall = performance.now()
  #elu = performance.eventLoopUtilization()

  /** Busy fraction since the last call (or construction). */
  sample(): number {
    if (!isMainThread) {
      const now = performance.eventLoopUtilization()
      const d = performance.eventLoopUtilization(now, this.#elu)
      this.#elu = now
      return round(d.utilization)
    }
    const wall = performance.now()
    const cpu = process.cpuUsage(this.#cpu)
    const elapsed = (wall - this.#wall) * 1000
    this.#cpu = process.cpuUsage()
    this.#wall = wall
    return elapsed <= 0 ? 0 : round((cpu.user + cpu.system) / elapsed)
  }
}

const round = (x: number): number => Math.round(x * 1000) / 1000
