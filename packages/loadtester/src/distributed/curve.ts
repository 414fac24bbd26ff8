import { type CurveOptions, ZMQ_DEFAULTS } from '@dripdrop/zmq'

/**
 * The `curve` option (`CurveOptions` of @dripdrop/zmq) is handed as is to the ZeroMQ route, which validates it
 * (with its path) and runs CURVE: the coordinator binds, so it is the CURVE server (with `allow`, only listed
 * agents get in); an agent connects, so it needs `serverKey`, the coordinator's public key, and talks to no
 * coordinator that does not hold the matching secret key. A @dripdrop/zmq without CURVE would ignore the key
 * and run in clear: refuse rather than pretend.
 */
export function curveOption(curve: CurveOptions | undefined): { curve?: CurveOptions } {
  if (curve === undefined) return {}
  if (curve === null || typeof curve !== 'object')
    throw new TypeError('options.curve must be an object (ZeroMQ CURVE options for @dripdrop/zmq)')
  if (!('curve' in ZMQ_DEFAULTS))
    throw new TypeError(
      'options.curve: this @dripdrop/zmq has no CURVE support yet, the link would not be encrypted',
    )
  return { curve }
}

/** The part of a core `Node` {@link watchHandshakes} listens on. */
interface NodeEvents {
  events: { on(type: 'route:error', fn: (e: { route: string; error: Error }) => void): unknown }
}

/**
 * Counts the CURVE handshake failures of `route` (a `DD_ERR_HANDSHAKE` route error: a peer without a listed
 * key, with a wrong server key, or without CURVE, and on the connecting side a server that does not hold the
 * key it trusts) and reports them without flooding: `count()` on every failure, `report(error, n)` on the
 * 1st, 10th, 100th… failure of one kind (reason, libzmq's cause, client key) — a refused peer retries every reconnect
 * interval. Both callbacks are shielded: a throw never reaches the socket.
 */
export function watchHandshakes(
  node: NodeEvents,
  route: string,
  count: () => void,
  report: (error: Error & { reason?: string; clientKey?: string }, n: number) => void,
): void {
  const seen = new Map<string, number>()
  node.events.on('route:error', ({ route: r, error }) => {
    if (r !== route || (error as { code?: string })?.code !== 'DD_ERR_HANDSHAKE') return
    const e = error as Error & { reason?: string; clientKey?: string }
    const kind = `${e.reason}:${(e.cause as { code?: string } | undefined)?.code ?? ''}:${e.clientKey ?? ''}`
    const n = (seen.get(kind) ?? 0) + 1
    if (seen.has(kind) || seen.size < 1000) seen.set(kind, n)
    try {
      count()
      if (/^10*$/.test(String(n))) report(e, n)
    } catch {}
  })
}
