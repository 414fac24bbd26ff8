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
  /**
   * The adaptive floor: an instance is never `down` (or `suspect`) before `jitterFactor` times the longest of
   * the last 32 gaps between its messages, scaled like the two thresholds above. On a quiet machine gaps are one
   * heartbeat interval and the floor changes nothing; on a saturated one, where beats arrive late, it raises
   * the thresholds so that a slow process is not declared dead. `0` turns it off.
   * @default 2
   */
  jitterFactor?: number
}

/** Gaps between messages remembered per instance for the adaptive floor. */
export const GAP_HISTORY = 32

export type FilledDetectorOptions = Required<DetectorOptions>

export function fillDetector(o: DetectorOptions = {}): FilledDetectorOptions {
  const out = { suspectAfterMissed: 2, downAfterMissed: 4, checkIntervalMs: 50, jitterFactor: 2, ...o }
  for (const k of ['suspectAfterMissed', 'downAfterMissed', 'checkIntervalMs'] as const) {
    if (typeof out[k] !== 'number' || !Number.isFinite(out[k]) || out[k] <= 0) {
      throw new TypeError(`options.detector.${k} must be a positive number`)
    }
  }
  if (typeof out.jitterFactor !== 'number' || !Number.isFinite(out.jitterFactor) || out.jitterFactor < 0) {
    throw new TypeError('options.detector.jitterFactor must be a non-negative number')
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
export function judge(
  silentMs: number,
  intervalMs: number,
  o: FilledDetectorOptions,
  longestGapMs = 0,
): InstanceStatus {
  const down = o.downAfterMissed * intervalMs
  const scale = Math.max(1, (o.jitterFactor * longestGapMs) / down)
  if (silentMs >= down * scale) return 'down'
  if (silentMs >= o.suspectAfterMissed * intervalMs * scale) return 'suspect'
  return 'up'
}
