import { type CurveOptions, CurveSettings, fillCurve } from './curve-options.js'
import { type Refusal, zapHandler } from './zap-handler.js'

let domains = 0

/** The CURVE role of a socket: a server (binds) announces its ZAP domain; a client (connects) does not. */
export type CurveRole = { server: true; zapDomain: string } | { server: false }

/** The zeromq.js socket options of a CURVE role (libzmq `ZMQ_CURVE_*`, `ZMQ_ZAP_DOMAIN`). */
export function curveSocketOptions(curve: CurveSettings, role: CurveRole): Record<string, string | boolean> {
  // libzmq: ZMQ_CURVE_SERVERKEY makes a socket a client, ZMQ_CURVE_SERVER=1 a server; the ZAP domain tells
  // the process's ZAP handler which allow-list applies.
  if (role.server)
    return {
      curveServer: true,
      curveSecretKey: curve.secretKey,
      curvePublicKey: curve.publicKey,
      zapDomain: role.zapDomain,
    }
  return {
    curveServerKey: curve.serverKey as string,
    curvePublicKey: curve.publicKey,
    curveSecretKey: curve.secretKey,
  }
}

/**
 * Validates `curve` options once (in a constructor), with `path` in messages; `undefined`/`false` → none.
 * For packages that open zeromq.js sockets of their own beside routes (see {@link openCurve}).
 */
export function validateCurve(
  value: unknown,
  path: string,
  role: 'server' | 'client',
): CurveSettings | undefined {
  const curve = fillCurve(value, path)
  if (curve !== undefined && role === 'client' && curve.serverKey === undefined)
    throw new TypeError(`${path}.serverKey is required on a connecting side (the CURVE server's public key)`)
  return curve
}

/** A raw socket's CURVE: the options to give the zeromq.js socket, refusals, and the allow-list to release. */
export interface CurveSocket {
  /** Options for the zeromq.js socket constructor (`new zmq.Router({ ...curve.options })`). */
  readonly options: Record<string, string | boolean>
  /** The oldest refusal by the allow-list not reported yet (for a `handshake:error:auth` event). */
  refusal(): Refusal | undefined
  /** Gives the allow-list back to the ZAP handler (the last one unbinds it). Call after closing the socket. */
  release(): Promise<void>
}

/**
 * CURVE for a zeromq.js socket that a package opens itself (the worker pool's remote link), with the same
 * options and the same ZAP handler as routes: a server with `allow` registers its allow-list before the
 * socket binds. `name` makes the default ZAP domain readable (`dripdrop/<name>/<n>`).
 *
 * @example
 * ```ts
 * const curve = await openCurve(settings, 'server', 'pool')
 * const router = new zmq.Router({ ...curve.options })
 * await router.bind(address)
 * // … on close
 * router.close(); await curve.release()
 * ```
 */
export async function openCurve(
  settings: CurveSettings | CurveOptions,
  role: 'server' | 'client',
  name: string,
): Promise<CurveSocket> {
  const curve = settings instanceof CurveSettings ? settings : new CurveSettings(settings, 'options.curve')
  if (role === 'client') {
    return {
      options: curveSocketOptions(curve, { server: false }),
      refusal: () => undefined,
      release: async () => {},
    }
  }
  const zapDomain = curve.zapDomain ?? `dripdrop/${name}/${++domains}`
  const allow = curve.allow
  if (allow !== undefined) await zapHandler.acquire(zapDomain, allow, curve.source)
  let released = false
  return {
    options: curveSocketOptions(curve, { server: true, zapDomain }),
    refusal: () => zapHandler.takeRefusal(zapDomain),
    release: async () => {
      if (released || allow === undefined) return
      released = true
      await zapHandler.release(zapDomain)
    },
  }
}

/** A unique default ZAP domain for a route socket. */
export function nextZapDomain(name: string): string {
  return `dripdrop/${name}/${++domains}`
}
