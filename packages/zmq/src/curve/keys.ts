import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import * as zmq from 'zeromq'
import { CurveKeyError } from '../errors.js'
import { type CurveOptions, publicKeyOf } from './curve-options.js'
import { isZ85 } from './z85.js'

/** A CURVE key pair in Z85 text. */
export interface KeyPair {
  publicKey: string
  secretKey: string
}

/** A new CURVE key pair (libzmq `zmq_curve_keypair`, through zeromq.js `curveKeyPair()`). */
export function generateKeyPair(): KeyPair {
  return zmq.curveKeyPair()
}

/**
 * Writes a key pair as `<dir>/<name>.key` (the secret key, file mode 0600) and `<dir>/<name>.pub` (the public
 * key, 0644), each one line of Z85 text. Refuses to overwrite either file unless `force`.
 */
export function writeKeyPair(
  dir: string,
  name: string,
  pair: KeyPair,
  force = false,
): { key: string; pub: string } {
  const key = join(dir, `${name}.key`)
  const pub = join(dir, `${name}.pub`)
  for (const file of [key, pub]) {
    if (!existsSync(file)) continue
    if (!force) throw new CurveKeyError(`${file} exists (use --force to overwrite it)`)
    // `mode` only applies when a file is created: an overwritten file would keep its old mode.
    rmSync(file)
  }
  // 'wx': created here with these modes, never through a file or link someone placed meanwhile.
  writeFileSync(key, `${pair.secretKey}\n`, { mode: 0o600, flag: 'wx' })
  writeFileSync(pub, `${pair.publicKey}\n`, { mode: 0o644, flag: 'wx' })
  return { key, pub }
}

function readKey(file: string): string {
  let text: string
  try {
    text = readFileSync(file, 'utf8').trim()
  } catch (err) {
    throw new CurveKeyError(`cannot read CURVE key file ${file}: ${(err as Error).message}`, err)
  }
  if (!isZ85(text)) throw new CurveKeyError(`${file} does not hold a CURVE key in Z85 text (40 characters)`)
  return text
}

/**
 * Reads the key pair `dripdrop keys generate` wrote: `<dir>/<name>.key` and `<dir>/<name>.pub`. Refuses (like
 * ssh) a secret key file that its group or others can read, unless `allowReadableSecret`, and a `.pub` that
 * does not belong to the secret key.
 *
 * @param name file name without extension. @default 'dripdrop'
 * @example `const pair = loadKeyPair('/etc/dripdrop', 'server')`
 */
export function loadKeyPair(
  dir: string,
  name = 'dripdrop',
  options: { allowReadableSecret?: boolean } = {},
): KeyPair {
  const keyFile = join(dir, `${name}.key`)
  const secretKey = readKey(keyFile)
  if (!options.allowReadableSecret && process.platform !== 'win32' && (statSync(keyFile).mode & 0o077) !== 0)
    throw new CurveKeyError(`${keyFile} is readable by its group or others: chmod 600 it`)
  const pubFile = join(dir, `${name}.pub`)
  const publicKey = existsSync(pubFile) ? readKey(pubFile) : publicKeyOf(secretKey)
  if (publicKeyOf(secretKey) !== publicKey)
    throw new CurveKeyError(`${pubFile} is not the public key of ${keyFile}`)
  return { publicKey, secretKey }
}

/**
 * Reads every `*.pub` file of a directory: the public keys of the clients a server allows (`curve.allow`).
 * @example `curve: { ...loadKeyPair('/etc/dripdrop', 'server'), allow: loadPublicKeys('/etc/dripdrop/clients') }`
 */
export function loadPublicKeys(dir: string): string[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (err) {
    throw new CurveKeyError(`cannot read the key directory ${dir}: ${(err as Error).message}`, err)
  }
  return names
    .filter((n) => n.endsWith('.pub'))
    .sort()
    .map((n) => readKey(join(dir, n)))
}

/**
 * CURVE options from environment variables, or `undefined` when `<prefix>_SECRET_KEY` is not set:
 * `<prefix>_SECRET_KEY` (required), `<prefix>_PUBLIC_KEY` (derived from the secret key when absent),
 * `<prefix>_SERVER_KEY` (connecting side), `<prefix>_ALLOW` (client public keys separated by commas or
 * spaces; Z85 has neither character).
 *
 * @param prefix @default 'DRIPDROP_CURVE'
 * @example `zmqTransport({ curve: keysFromEnv() })`
 */
export function keysFromEnv(
  env: Readonly<Record<string, string | undefined>> = process.env,
  prefix = 'DRIPDROP_CURVE',
): CurveOptions | undefined {
  const get = (name: string): string | undefined => {
    const value = env[`${prefix}_${name}`]?.trim()
    return value === undefined || value === '' ? undefined : value
  }
  const secretKey = get('SECRET_KEY')
  if (secretKey === undefined) return undefined
  const check = (value: string, name: string) => {
    if (!isZ85(value))
      throw new CurveKeyError(`${prefix}_${name} is not a CURVE key in Z85 text (40 characters)`)
    return value
  }
  check(secretKey, 'SECRET_KEY')
  const publicKey = check(get('PUBLIC_KEY') ?? publicKeyOf(secretKey), 'PUBLIC_KEY')
  const serverKey = get('SERVER_KEY')
  const allow = get('ALLOW')
  const out: CurveOptions = { publicKey, secretKey }
  if (serverKey !== undefined) out.serverKey = check(serverKey, 'SERVER_KEY')
  if (allow !== undefined)
    out.allow = allow
      .split(/[\s,]+/)
      .filter(Boolean)
      .map((k) => check(k, 'ALLOW'))
  return out
}
