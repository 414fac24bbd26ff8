// `dripdrop-keys generate` (the same command as `dripdrop keys generate` of @dripdrop/roles) in a child process: files, modes, key format, no overwrite without --force.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { isZ85, loadKeyPair, publicKeyOf } from '../src/index.js'

const BIN = resolve(import.meta.dirname, '../dist/cli/dripdrop-keys.js')

function dripdropKeys(...args: string[]) {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 })
  return { code: r.status, out: r.stdout, err: r.stderr }
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dd-keys-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

describe('dripdrop-keys generate', () => {
  it('writes <name>.key (0600) and <name>.pub in Z85, prints the public key and never the secret', () => {
    const dir = join(tempDir(), 'nested')
    const r = dripdropKeys('generate', '--out', dir, '--name', 'server')
    expect(r.code).toBe(0)
    const secret = readFileSync(join(dir, 'server.key'), 'utf8')
    const pub = readFileSync(join(dir, 'server.pub'), 'utf8')
    expect(secret).toMatch(/^.{40}\n$/)
    expect(pub).toMatch(/^.{40}\n$/)
    expect(isZ85(secret.trim())).toBe(true)
    expect(publicKeyOf(secret.trim())).toBe(pub.trim())
    expect(statSync(join(dir, 'server.key')).mode & 0o777).toBe(0o600)
    expect(r.out).toContain(pub.trim())
    expect(r.out + r.err).not.toContain(secret.trim())
    expect(loadKeyPair(dir, 'server')).toEqual({ publicKey: pub.trim(), secretKey: secret.trim() })
  })

  it('refuses to overwrite an existing pair without --force, and replaces it with --force', () => {
    const dir = tempDir()
    expect(dripdropKeys('generate', '--out', dir).code).toBe(0)
    const before = readFileSync(join(dir, 'dripdrop.key'), 'utf8')
    const again = dripdropKeys('generate', '--out', dir)
    expect(again.code).toBe(1)
    expect(again.err).toMatch(/DD_ERR_CURVE_KEY: .*dripdrop\.key exists \(use --force/)
    expect(readFileSync(join(dir, 'dripdrop.key'), 'utf8')).toBe(before)
    expect(dripdropKeys('generate', '--out', dir, '--force').code).toBe(0)
    expect(readFileSync(join(dir, 'dripdrop.key'), 'utf8')).not.toBe(before)
    expect(statSync(join(dir, 'dripdrop.key')).mode & 0o777).toBe(0o600)
  })

  it('bad usage exits 2 with the usage line', () => {
    expect(dripdropKeys().code).toBe(2)
    expect(dripdropKeys('generate', '--bogus').err).toMatch(/usage: dripdrop-keys generate/)
    const unknown = dripdropKeys('frobnicate')
    expect(unknown.code).toBe(2)
    expect(unknown.err).toContain('dripdrop-keys: expected "generate"')
  })
})
