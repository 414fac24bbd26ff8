import { existsSync, readFileSync, statSync } from 'node:fs'
import { basename, dirname } from 'node:path'
import { CurveKeyError } from '../errors.js'
import type { CurveOptions } from './curve-options.js'
import { keysFromEnv, loadKeyPair, loadPublicKeys } from './keys.js'
import { isZ85 } from './z85.js'

/**
 * The values of the `--curve-*` flags every dripdrop command line shares (`dripdrop-worker`,
 * `dripdrop-control`, `dripdrop-load run|agent`), as strings, before they are read.
 */
export interface CurveFlags {
  /**
   * `--curve-keys`: this side's key pair as `dripdrop keys generate` wrote it: a directory (its
   * `dripdrop.key` / `dripdrop.pub`) or `DIR/NAME` (`DIR/NAME.key` / `DIR/NAME.pub`; a trailing `.key` or
   * `.pub` is ignored).
   */
  keys?: string | undefined
  /** `--curve-server-key`: the server's public key (connecting side), Z85 text or a `.pub` file. */
  serverKey?: string | undefined
  /**
   * `--curve-allow` (binding side, repeatable): the client public keys allowed in. Each value is a
   * directory (every `*.pub` in it), a file (one key per line; lines starting with `#` are comments), or Z85 text; a value may
   * list several, separated by commas (Z85 has no comma).
   */
  allow?: string | readonly string[] | undefined
}

/** How {@link curveFromFlags} reads the flags. */
export interface CurveFlagsOptions {
  /**
   * `server`: the command binds (takes `allow`, refuses `serverKey`); `client`: it connects (needs
   * `serverKey`, refuses `allow`).
   */
  role: 'server' | 'client'
  /**
   * Where to look when no flag is given: `DRIPDROP_CURVE_*` ({@link keysFromEnv}); `false` reads no
   * environment. @default process.env
   */
  env?: Readonly<Record<string, string | undefined>> | false
  /** The flags' prefix in messages. @default '--curve-' */
  flagPrefix?: string
}

/**
 * CURVE options from the `--curve-keys` / `--curve-server-key` / `--curve-allow` flags of a command line,
 * or from `DRIPDROP_CURVE_*` ({@link keysFromEnv}) when none is given; `undefined` when neither is set (no
 * CURVE). One implementation for every dripdrop CLI. Errors are {@link CurveKeyError}s
 * (`DD_ERR_CURVE_KEY`) that name files and flags, never a secret key.
 *
 * @example
 * ```ts
 * // dripdrop-control start --curve-keys /etc/dripdrop/control --curve-allow /etc/dripdrop/reporters
 * const curve = curveFromFlags({ keys: '/etc/dripdrop/control', allow: '/etc/dripdrop/reporters' }, { role: 'server' })
 * ```
 */
export function curveFromFlags(flags: CurveFlags, options: CurveFlagsOptions): CurveOptions | undefined {
  const p = options.flagPrefix ?? '--curve-'
  const allowValues =
    flags.allow === undefined ? [] : typeof flags.allow === 'string' ? [flags.allow] : flags.allow
  const given = flags.keys !== undefined || flags.serverKey !== undefined || allowValues.length > 0
  if (!given) {
    if (options.env === false) return undefined
    const curve = keysFromEnv(options.env ?? process.env)
    if (curve === undefined) return undefined
    if (options.role === 'client' && curve.serverKey === undefined)
      throw new CurveKeyError(
        'DRIPDROP_CURVE_SECRET_KEY is set but not DRIPDROP_CURVE_SERVER_KEY (the public key of the server to trust)',
      )
    if (options.role === 'server') delete curve.serverKey
    if (options.role === 'client') delete curve.allow
    return curve
  }
  if (flags.keys === undefined || flags.keys === '')
    throw new CurveKeyError(
      `${p}${flags.serverKey !== undefined ? 'server-key' : 'allow'} needs ${p}keys (this side's key pair)`,
    )
  if (options.role === 'client') {
    if (allowValues.length > 0)
      throw new CurveKeyError(
        `${p}allow is for the side that binds; this side connects (give ${p}server-key)`,
      )
    if (flags.serverKey === undefined || flags.serverKey === '')
      throw new CurveKeyError(`${p}keys needs ${p}server-key (the public key of the server to trust)`)
  } else if (flags.serverKey !== undefined)
    throw new CurveKeyError(`${p}server-key is for the side that connects; this side binds (give ${p}allow)`)
  const pair = keyPairAt(flags.keys)
  const out: CurveOptions = { ...pair }
  if (flags.serverKey !== undefined) out.serverKey = publicKeyAt(flags.serverKey, `${p}server-key`)
  if (allowValues.length > 0) out.allow = allowList(allowValues, `${p}allow`)
  return out
}

/** `DIR` → `DIR/dripdrop.*`; `DIR/NAME[.key|.pub]` → `DIR/NAME.*`. */
function keyPairAt(value: string) {
  if (existsSync(value) && statSync(value).isDirectory()) return loadKeyPair(value)
  return loadKeyPair(dirname(value), basename(value).replace(/\.(key|pub)$/, ''))
}

/** Z85 text, or a file holding it. */
function publicKeyAt(value: string, flag: string): string {
  if (existsSync(value)) {
    const text = readFileSync(value, 'utf8').trim()
    if (!isZ85(text))
      throw new CurveKeyError(`${flag}: ${value} does not hold a CURVE public key in Z85 text`)
    return text
  }
  if (isZ85(value)) return value
  throw new CurveKeyError(
    `${flag}: "${value}" is neither a file nor a CURVE public key in Z85 text (40 characters)`,
  )
}

function allowList(values: readonly string[], flag: string): string[] {
  const keys = new Set<string>()
  for (const value of values.flatMap((v) => v.split(',')).map((v) => v.trim())) {
    if (value === '') continue
    if (existsSync(value)) {
      if (statSync(value).isDirectory()) {
        for (const k of loadPublicKeys(value)) keys.add(k)
        continue
      }
      const lines = readFileSync(value, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        // '#' is a Z85 character: a line is a comment when it starts with '#' and is not a key.
        .filter((l) => l !== '' && (isZ85(l) || !l.startsWith('#')))
      for (const line of lines) {
        if (!isZ85(line))
          throw new CurveKeyError(`${flag}: ${value} has a line that is not a CURVE public key`)
        keys.add(line)
      }
      continue
    }
    if (!isZ85(value))
      throw new CurveKeyError(
        `${flag}: "${value}" is neither a file, a directory nor a CURVE public key in Z85 text (40 characters)`,
      )
    keys.add(value)
  }
  if (keys.size === 0) throw new CurveKeyError(`${flag} lists no key (every client would be refused)`)
  return [...keys]
}
