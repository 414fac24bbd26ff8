import { DripdropError } from '@dripdrop/core'

export { DripdropError } from '@dripdrop/core'

/**
 * Codes a {@link ReportError} can carry.
 *
 * | code | meaning |
 * | --- | --- |
 * | `DD_ERR_MONITOR_SHAPE` | the body is not a report, heartbeat or goodbye (a field missing or of the wrong type) |
 * | `DD_ERR_MONITOR_VERSION` | the body's `v` is not a version this collector reads (it reads `1`) |
 * | `DD_ERR_MONITOR_TOO_LARGE` | a list, map or string is over the collector's limits (`maxRoutes`, `maxNames`, `maxStringLength`, …) |
 * | `DD_ERR_MONITOR_FLOOD` | the instance sent more than `maxMessagesPerSecond` reports + heartbeats in one second |
 * | `DD_ERR_MONITOR_CAPACITY` | a new instance arrived while `maxInstances` are already known |
 * | `DD_ERR_MONITOR_UNKNOWN` | a message name on the monitoring route that is not `dd.mon.*` |
 */
export type ReportErrorCode =
  | 'DD_ERR_MONITOR_SHAPE'
  | 'DD_ERR_MONITOR_VERSION'
  | 'DD_ERR_MONITOR_TOO_LARGE'
  | 'DD_ERR_MONITOR_FLOOD'
  | 'DD_ERR_MONITOR_CAPACITY'
  | 'DD_ERR_MONITOR_UNKNOWN'

/**
 * A message on the monitoring route was refused by the collector. It is counted in
 * `collector.stats.refused[code]` and emitted as `report:error`; the collector goes on serving the others.
 */
export class ReportError extends DripdropError {
  override readonly code: ReportErrorCode
  /** The instance the message claimed to come from, when it could be read. */
  readonly instance: string | undefined
  constructor(message: string, code: ReportErrorCode, instance?: string) {
    super(message, code)
    this.code = code
    this.instance = instance
  }
}

/** The Redis store could not write; the collector keeps serving from memory and buffers (`DD_ERR_MONITOR_STORE`). */
export class StoreError extends DripdropError {
  constructor(message: string, cause?: unknown) {
    super(message, 'DD_ERR_MONITOR_STORE', { cause })
  }
}
