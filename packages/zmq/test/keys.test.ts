// Key helpers and Z85: files, environment, modes; the secret key never shows in errors or inspection.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { describe, expect, it, onTestFinished } from 'vitest'
import { CurveSettings } from '../src/curve/curve-options.js'
import {
  generateKeyPair,
  isZ85,
  keysFromEnv,
  loadKeyPair,
  loadPublicKeys,
  writeKeyPair,
  z85Decode,
  z85Encode,
} from '../src/index.js'

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dd-keys-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

describe('Z85', () => {
  it('matches the RFC 32 example and round-trips a key', () => {
    const bytes = Uint8Array.from([0x86, 0x4f, 0xd2, 0x6f, 0xb5, 0x59, 0xf7, 0x5b])
    expect(z85Encode(bytes)).toBe('HelloWorld')
    expect(z85Decode('HelloWorld')).toEqual(bytes)
    const { publicKey } = generateKeyPair()
    expect(z85Encode(z85Decode(publicKey))).toBe(publicKey)
    expect(isZ85(publicKey)).toBe(true)
    expect(isZ85(`${publicKey.slice(0, 39)} `)).toBe(false)
    expect(isZ85('#'.repeat(40))).toBe(false) // each group must fit in 32 bits
  })
})

describe('key files and environment', () => {
  it('loadKeyPair refuses a secret key file its group or others can read, and a .pub of another pair', () => {
    const dir = tempDir()
    const pair = generateKeyPair()
    writeKeyPair(dir, 'a', pair)
    expect(loadKeyPair(dir, 'a')).toEqual(pair)
    chmodSync(join(dir, 'a.key'), 0o640)
    expect(() => loadKeyPair(dir, 'a')).toThrow(expect.objectContaining({ code: 'DD_ERR_CURVE_KEY' }))
    expect(loadKeyPair(dir, 'a', { allowReadableSecret: true })).toEqual(pair)
    chmodSync(join(dir, 'a.key'), 0o600)
    writeFileSync(join(dir, 'a.pub'), `${generateKeyPair().publicKey}\n`)
    expect(() => loadKeyPair(dir, 'a')).toThrow(/a\.pub is not the public key of/)
    writeFileSync(join(dir, 'bad.key'), 'not a key\n', { mode: 0o600 })
    expect(() => loadKeyPair(dir, 'bad')).toThrow(/does not hold a CURVE key/)
  })

  it('loadPublicKeys reads every .pub of a directory (an allow-list)', () => {
    const dir = tempDir()
    const a = generateKeyPair()
    const b = generateKeyPair()
    writeKeyPair(dir, 'a', a)
    writeKeyPair(dir, 'b', b)
    expect(loadPublicKeys(dir)).toEqual([a.publicKey, b.publicKey])
  })

  it('keysFromEnv reads the secret, derives the public key, splits the allow-list; undefined when unset', () => {
    const server = generateKeyPair()
    const c1 = generateKeyPair()
    const c2 = generateKeyPair()
    expect(keysFromEnv({})).toBeUndefined()
    expect(
      keysFromEnv({
        DRIPDROP_CURVE_SECRET_KEY: server.secretKey,
        DRIPDROP_CURVE_ALLOW: `${c1.publicKey}, ${c2.publicKey}`,
      }),
    ).toEqual({ ...server, allow: [c1.publicKey, c2.publicKey] })
    expect(keysFromEnv({ X_SECRET_KEY: c1.secretKey, X_SERVER_KEY: server.publicKey }, 'X')).toEqual({
      ...c1,
      serverKey: server.publicKey,
    })
    let message = ''
    try {
      keysFromEnv({ DRIPDROP_CURVE_SECRET_KEY: `${server.secretKey}x` })
    } catch (err) {
      message = (err as Error).message
    }
    expect(message).toBe('DRIPDROP_CURVE_SECRET_KEY is not a CURVE key in Z85 text (40 characters)')
  })

  it('validated settings print [redacted] for the secret key in inspect and JSON', () => {
    const pair = generateKeyPair()
    const settings = new CurveSettings(pair, 'options.curve')
    expect(inspect(settings)).not.toContain(pair.secretKey)
    expect(JSON.stringify(settings)).not.toContain(pair.secretKey)
    expect(inspect(settings)).toContain('[redacted]')
    expect(settings.secretKey).toBe(pair.secretKey)
  })
})
