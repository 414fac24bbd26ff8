import { existsSync, readFileSync, statSync } from 'node:fs'
import { basename, dirname } from 'node:path'
import { type CurveOptions, keysFromEnv, loadKeyPair, loadPublicKeys } from '@dripdrop/zmq'

/** The `--curve-*` flags of `dripdrop agent` and `dripdrop-control` (the worker's spelling). */
export interface CurveFlags {
  /** `DIR` (DIR/dripdrop.key + .pub) or `DIR/NAME`. */
  curveKeys?: string
  /** The server's public key: Z85 text or a `.pub` file (connecting side). */
  curveServerKey?: string
  /** A directory of the clients' `.pub` files (binding side). */
  curveAllow?: string
}

/**
 * CURVE options from the flags, or from `DRIPDROP_CURVE_*` variables when no flag is given (`keysFromEnv`).
 * `side` says which key the flags need besides the pair: the server key (agent) or the allow-list (control).
 */
export function curveFromFlags(flags: CurveFlags, side: 'client' | 'server'): CurveOptions | undefined {
  const { curveKeys, curveServerKey, curveAllow } = flags
  if (curveKeys === undefined && curveServerKey === undefined && curveAllow === undefined)
    return keysFromEnv()
  if (curveKeys === undefined) throw new TypeError('--curve-keys is required with the other --curve-* flags')
  const pair =
    existsSync(curveKeys) && statSync(curveKeys).isDirectory()
      ? loadKeyPair(curveKeys)
      : loadKeyPair(dirname(curveKeys), basename(curveKeys).replace(/\.(key|pub)$/, ''))
  if (side === 'client') {
    if (curveServerKey === undefined) throw new TypeError('--curve-server-key is required with --curve-keys')
    const serverKey =
      curveServerKey.length !== 40 && existsSync(curveServerKey)
        ? readFileSync(curveServerKey, 'utf8').trim()
        : curveServerKey
    return { ...pair, serverKey }
  }
  return curveAllow === undefined ? pair : { ...pair, allow: loadPublicKeys(curveAllow) }
}
