import { DripdropError, TransportError } from '@dripdrop/core'

export {
  AddressInUseError,
  ClosedError,
  DecodeError,
  DestroyedError,
  DripdropError,
  EncodeError,
  TimeoutError,
  TransportError,
} from '@dripdrop/core'

/**
 * A ZMTP handshake with a peer failed (`DD_ERR_HANDSHAKE`): the peer speaks another protocol version, a
 * mechanism mismatch (a NULL peer on a CURVE route), a CURVE failure (a wrong server key), a client key not on
 * the route's allow-list (`reason: 'auth'`), or it is not ZeroMQ at all. The connection is dropped; the route keeps serving others.
 * The libzmq error is the `cause`.
 */
export class HandshakeError extends TransportError {
  /** The endpoint of the failed connection. */
  readonly endpoint: string
  /**
   * libzmq's class of failure: `auth` (refused by the ZAP allow-list), `protocol` (ZMTP or CURVE broken:
   * a NULL peer on a CURVE route, a wrong server key), `other`.
   */
  readonly reason: 'auth' | 'protocol' | 'other'
  /** `auth`: the refused client's public key (Z85), when the ZAP handler saw one. */
  readonly clientKey: string | undefined
  constructor(
    message: string,
    endpoint: string,
    cause?: unknown,
    reason: 'auth' | 'protocol' | 'other' = 'other',
    clientKey?: string,
  ) {
    super(message, cause, 'DD_ERR_HANDSHAKE')
    this.endpoint = endpoint
    this.reason = reason
    this.clientKey = clientKey
  }
}

/**
 * A `sendTo()` (a reply on `rep`, a raw `router` send) named a peer that is not connected, or one that stopped
 * reading (its pipe full past `maxPeerQueueBytes`) (`DD_ERR_UNROUTABLE`). The envelopes are dropped and counted
 * in `stats.dropped`; {@link UnroutableError.peer} says whose they were, so an owner that must not lose them
 * (a work dispatcher) can fail or re-send them.
 */
export class UnroutableError extends TransportError {
  /** The routing parts of the peer the dropped envelopes were for (the `from` its messages gave), when known. */
  readonly peer: readonly Uint8Array[] | undefined
  /** Envelopes dropped with this error (a batch frame holds several). @default 1 */
  readonly count: number
  constructor(message: string, cause?: unknown, peer?: readonly Uint8Array[], count = 1) {
    super(message, cause, 'DD_ERR_UNROUTABLE')
    this.peer = peer
    this.count = count
  }
}

/** True for a {@link DripdropError}. */
export function isDripdropError(err: unknown): err is DripdropError {
  return err instanceof DripdropError
}

/**
 * A request was refused because its peer already holds `maxPeerQueueBytes` of unanswered requests on the
 * route (`DD_ERR_PEER_QUEUE_FULL`). The requester gets it as an error reply at once; the route counts it in
 * `stats.dropped` and reports it as `route:error`, and goes on serving the other peers.
 */
export class PeerQueueFullError extends TransportError {
  constructor(message: string) {
    super(message, undefined, 'DD_ERR_PEER_QUEUE_FULL')
  }
}

/**
 * A CURVE key file or variable could not be used (`DD_ERR_CURVE_KEY`): missing, not a Z85 key, a secret key
 * file others can read, or a key pair that would overwrite existing files. The message names the file or
 * variable, never the secret.
 */
export class CurveKeyError extends DripdropError {
  constructor(message: string, cause?: unknown) {
    super(message, 'DD_ERR_CURVE_KEY', { cause })
  }
}
