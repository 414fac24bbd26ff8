import { createPrivateKey, createPublicKey } from 'node:crypto'
import { inspect } from 'node:util'
import { isZ85, z85Decode, z85Encode } from './z85.js'

/**
 * CURVE security for a ZeroMQ route (libzmq's CurveZMQ: Curve25519 key exchange, then every frame encrypted
 * and authenticated). One shape for every channel that runs over @dripdrop/zmq: a route, a whole transport
 * (`zmqTransport({ curve })`), the worker pool's `listen` and `dripdrop-worker`.
 *
 * Keys are Z85 text, 40 characters (`dripdrop keys generate`, {@link loadKeyPair}, {@link keysFromEnv}).
 *
 * The role follows the route: a route that **binds** is a CURVE server with its own key pair (`serverKey` is
 * ignored); a route that only **connects** is a CURVE client and needs `serverKey`, the server's public key,
 * besides its own pair. With `allow`, a server refuses every client whose public key is not on it, during the
 * handshake, through ZAP (see `docs/protocol.md`, CURVE and ZAP): a refused peer gets nothing and can send
 * nothing. Without `allow`, any client that knows the server's public key may connect (the link is still
 * encrypted and the server authenticated).
 *
 * The secret key is never printed: `util.inspect`, `JSON.stringify` and error messages show `[redacted]`.
 *
 * @example
 * ```ts
 * const server = loadKeyPair('/etc/dripdrop', 'server')
 * node.route('jobs', { type: 'pull', bind: 'tcp://0.0.0.0:5555', curve: { ...server, allow: loadPublicKeys('/etc/dripdrop/clients') } })
 * // on the other host
 * node.route('jobs', { type: 'push', connect: 'tcp://10.0.0.1:5555', curve: { ...loadKeyPair('.', 'client'), serverKey: server.publicKey } })
 * ```
 */
export interface CurveOptions {
  /** This side's public key (Z85, 40 characters). */
  publicKey: string
  /** This side's secret key (Z85, 40 characters). Must belong to `publicKey`. */
  secretKey: string
  /** Connecting routes: the server's public key (Z85). Required on a route that only connects. */
  serverKey?: string
  /**
   * Binding routes: the client public keys (Z85) allowed to connect, or a function that decides (a throw
   * refuses). Checked by the process's ZAP handler at every handshake.
   * @default undefined (any client that knows the server's public key)
   */
  allow?: readonly string[] | ((publicKey: string) => boolean)
  /**
   * The ZAP domain the route's socket announces (`ZMQ_ZAP_DOMAIN`); routes that share one share its
   * allow-list (they must pass the same `allow`).
   * @default a domain of its own per route socket (`dripdrop/<route>/<n>`)
   */
  zapDomain?: string
}

/** The CURVE settings of a route, validated. The secret key is kept out of inspection and JSON. */
export class CurveSettings {
  readonly publicKey: string
  readonly serverKey: string | undefined
  readonly allow: ((publicKey: string) => boolean) | undefined
  readonly zapDomain: string | undefined
  readonly #secretKey: string
  // The options object it came from: two routes with the same object share a ZAP domain without conflict.
  readonly source: CurveOptions

  constructor(options: CurveOptions, path: string) {
    if (options === null || typeof options !== 'object') throw new TypeError(`${path} must be an object`)
    for (const key of Object.keys(options))
      if (!['publicKey', 'secretKey', 'serverKey', 'allow', 'zapDomain'].includes(key))
        throw new TypeError(`${path}.${key} is not a CURVE option`)
    this.publicKey = checkKey(options.publicKey, `${path}.publicKey`)
    this.#secretKey = checkKey(options.secretKey, `${path}.secretKey`, true)
    if (publicKeyOf(this.#secretKey) !== this.publicKey)
      throw new TypeError(
        `${path}.publicKey does not belong to ${path}.secretKey (give both keys of one pair)`,
      )
    this.serverKey =
      options.serverKey === undefined ? undefined : checkKey(options.serverKey, `${path}.serverKey`)
    const allow = options.allow
    if (allow === undefined) this.allow = undefined
    else if (typeof allow === 'function') this.allow = allow
    else if (Array.isArray(allow)) {
      const keys = new Set(allow.map((k, i) => checkKey(k, `${path}.allow[${i}]`)))
      this.allow = (key) => keys.has(key)
    } else throw new TypeError(`${path}.allow must be an array of Z85 public keys or a function`)
    if (
      options.zapDomain !== undefined &&
      (typeof options.zapDomain !== 'string' || options.zapDomain === '')
    )
      throw new TypeError(`${path}.zapDomain must be a non-empty string`)
    this.zapDomain = options.zapDomain
    this.source = options
  }

  /** The secret key, for the socket option only. */
  get secretKey(): string {
    return this.#secretKey
  }

  toJSON(): Record<string, unknown> {
    return { publicKey: this.publicKey, secretKey: '[redacted]', serverKey: this.serverKey }
  }

  [inspect.custom](): string {
    return `CurveSettings { publicKey: '${this.publicKey}', secretKey: '[redacted]', serverKey: ${this.serverKey === undefined ? 'undefined' : `'${this.serverKey}'`}, allow: ${this.allow === undefined ? 'any' : 'a list'} }`
  }
}

// Never echoes a secret: a bad secret key is described by its length only.
function checkKey(value: unknown, path: string, secret = false): string {
  if (typeof value === 'string' && isZ85(value)) return value
  const got =
    typeof value !== 'string'
      ? typeof value
      : secret
        ? `a string of ${value.length} characters`
        : `"${value.length > 48 ? `${value.slice(0, 48)}…` : value}"`
  throw new TypeError(`${path} must be a CURVE key in Z85 text (40 characters), got ${got}`)
}

/** The Z85 public key of a Z85 CURVE secret key (Curve25519 / X25519, through node's crypto). */
export function publicKeyOf(secretKey: string): string {
  const d = Buffer.from(z85Decode(secretKey)).toString('base64url')
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d, x: '' }, format: 'jwk' })
  const { x } = createPublicKey(key).export({ format: 'jwk' })
  return z85Encode(Buffer.from(x as string, 'base64url'))
}

/** Validates `curve` route/transport options: `false`/`undefined` means none. */
export function fillCurve(value: unknown, path: string): CurveSettings | undefined {
  if (value === undefined || value === false) return undefined
  if (value instanceof CurveSettings) return value
  return new CurveSettings(value as CurveOptions, path)
}
