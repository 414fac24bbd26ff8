/**
 * Traffic counters of one route. Transports and the route bump the fields directly (plain numbers, no
 * allocation on the hot path); monitoring reads them with {@link RouteStats.snapshot}.
 */
export class RouteStats {
  /** Envelopes received. */
  messagesIn = 0
  /** Envelopes sent (admitted to the transport). */
  messagesOut = 0
  /** Frame bytes received (0 on `inproc://`, which does not encode). */
  bytesIn = 0
  /** Frame bytes sent (0 on `inproc://`). */
  bytesOut = 0
  /** Frames that carried more than one envelope, received. */
  batchesIn = 0
  /** Frames that carried more than one envelope, sent. */
  batchesOut = 0
  /** Transport and handler errors (ours, or a broken peer's). A peer that simply went away is `aborted`. */
  errors = 0
  /** Requests or connections the peer abandoned: a reset, a client hang-up, an upload cut off mid-body. */
  aborted = 0
  /** Requests dropped unanswered because their deadline (`$dl`) had passed before a handler could run. */
  expired = 0
  /** Frames that failed to decode. */
  decodeErrors = 0
  /** Envelopes dropped: by a PUB high-water mark, by `destroy()`, by a slow consumer being cut off. */
  dropped = 0
  /** Requests that timed out. */
  timeouts = 0
  /** Replies whose request id was unknown or had expired. */
  unmatchedReplies = 0
  /** Messages that found no handler. */
  unhandled = 0

  /** A plain copy of the counters. */
  snapshot(): RouteStatsSnapshot {
    return { ...this }
  }
}

/** A plain copy of {@link RouteStats}. */
export type RouteStatsSnapshot = {
  [K in keyof RouteStats as RouteStats[K] extends number ? K : never]: number
}
