/**
 * Kinds of failed requests. `refused`: the connection was refused (nothing listens); `reset`: the peer closed
 * or reset the connection mid-request; `timeout`: no headers or no body progress within `timeoutMs`, or the
 * connect timed out; `tls`: the TLS handshake failed (unknown CA, bad certificate, protocol); `other`: anything else.
 */
export type ErrorKind = 'refused' | 'reset' | 'timeout' | 'tls' | 'other'

/** Every {@link ErrorKind}, in report order. */
export const ERROR_KINDS: readonly ErrorKind[] = ['refused', 'reset', 'timeout', 'tls', 'other']

/** The counts of one interval, one request name, or a whole run. All merge by addition. */
export interface Counters {
  /** Requests handed to a connection. */
  sent: number
  /** Responses received, whatever their status. */
  responses: number
  /** Responses by HTTP status (`{ "200": 980, "503": 20 }`). */
  statuses: Record<string, number>
  /** Failed requests by kind (no response). */
  errors: Record<ErrorKind, number>
  /**
   * Requests the schedule called for that were never sent: every connection was busy and the backlog
   * (`highWaterMark`) was full, or the run ended while they waited. Open model only.
   */
  notSent: number
  /** Response body bytes received. */
  bytes: number
}

/** Fresh zeroed counters. */
export function emptyCounters(): Counters {
  return {
    sent: 0,
    responses: 0,
    statuses: {},
    errors: { refused: 0, reset: 0, timeout: 0, tls: 0, other: 0 },
    notSent: 0,
    bytes: 0,
  }
}

/** Adds `from` into `into` (mutates and returns `into`). */
export function addCounters(into: Counters, from: Counters): Counters {
  into.sent += from.sent
  into.responses += from.responses
  into.notSent += from.notSent
  into.bytes += from.bytes
  for (const [status, n] of Object.entries(from.statuses))
    into.statuses[status] = (into.statuses[status] ?? 0) + n
  for (const kind of ERROR_KINDS) into.errors[kind] += from.errors[kind] ?? 0
  return into
}

/** Total failed requests of every kind. */
export function errorCount(c: Counters): number {
  let n = 0
  for (const kind of ERROR_KINDS) n += c.errors[kind]
  return n
}

/**
 * Maps a request failure to its {@link ErrorKind} from Node's and undici's error codes.
 */
export function errorKindOf(err: unknown): ErrorKind {
  const code = String((err as { code?: unknown } | null)?.code ?? '')
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused'
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'reset'
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout'
  }
  if (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    code.includes('CERT') ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' ||
    code === 'EPROTO'
  )
    return 'tls'
  return 'other'
}
