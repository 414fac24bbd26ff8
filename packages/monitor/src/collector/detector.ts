import type { InstanceStatus } from '../store/store.js'

/** Parameters of the k-missed-intervals failure detector. */
export interface DetectorOptions {
  /**
   * Missed heartbeat intervals (of the interval the instance advertises) after which an instance is `suspect`.
   * @default 2
   */
  suspectAfterMissed?: number
  /**
   * Missed heartbeat intervals after which an instance is `down`. With the default 250 ms heartbeat, a
   * SIGKILLed process is `down` 1 s after its last beat (plus at most one `checkIntervalMs`).
   * @default 4
   */
  downAfterMissed?: number
  /** How often the detector looks, ms. @default 50 (ms) */
  checkIntervalMs?: number
}

export type FilledDetectorOptions = Required<DetectorOptions>

export function fillDetector(o: DetectorOptions = {}): FilledDetectorOptions {
  const out = { suspectAfterMissed: 2, downAfterMissed: 4, checkIntervalMs: 50, ...o }
  for (const k of ['suspectAfterMissed', 'downAfterMissed', 'checkIntervalMs'] as const) {
    if (typeof out[k] !== 'number' || !Number.isFinite(out[k]) || out[k] <= 0) {
      throw new TypeError(`options.detector.${k} must be a positive number`)
    }
  }
  if (out.downAfterMissed <= out.suspectAfterMissed) {
    throw new TypeError('options.detector.downAfterMissed must be greater than suspectAfterMissed')
  }
  return out
}

/**
 * The status an instance silent for `silentMs` should have. k-missed-intervals was chosen over phi-accrual
 * because its parameters read as time ("down after 4 missed beats of 250 ms") and it needs no history to
 * be right on the first beat; the collector compensates its own stalls (see `Collector`), which is where
 * a fixed threshold would otherwise give false `down`s under load.
 */
export function judge(silentMs: number, intervalMs: number, o: FilledDetectorOptions): InstanceStatus {
  if (silentMs >= o.downAfterMissed * intervalMs) return 'down'
  if (silentMs >= o.suspectAfterMissed * intervalMs) return 'suspect'
  return 'up'
}
