// curveFromFlags: the one reader of --curve-keys / --curve-server-key / --curve-allow shared by every CLI.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { curveFromFlags, generateKeyPair, writeKeyPair } from '../src/index.js'

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dd-flags-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

const message = (fn: () => unknown): string => {
  try {
    fn()
  } catch (err) {
    expect((err as { code?: string }).code).toBe('DD_ERR_CURVE_KEY')
    return (err as Error).message
  }
  throw new Error('no error')
}

describe('curveFromFlags', () => {
  it('reads a key pair by directory, DIR/NAME or DIR/NAME.key; a server key as text or a .pub file', () => {
    const dir = tempDir()
    const def = generateKeyPair()
    const named = generateKeyPair()
    const server = generateKeyPair()
    writeKeyPair(dir, 'dripdrop', def)
    writeKeyPair(dir, 'named', named)
    writeKeyPair(dir, 'server', server)
    const env = false as const
    expect(curveFromFlags({ keys: dir, serverKey: server.publicKey }, { role: 'client', env })).toEqual({
      ...def,
      serverKey: server.publicKey,
    })
    for (const keys of [join(dir, 'named'), join(dir, 'named.key'), join(dir, 'named.pub')])
      expect(curveFromFlags({ keys, serverKey: join(dir, 'server.pub') }, { role: 'client', env })).toEqual({
        ...named,
        serverKey: server.publicKey,
      })
  })

  it('builds an allow-list from directories, key files (with comment lines) and Z85 text, deduplicated', () => {
    const dir = tempDir()
    const server = generateKeyPair()
    writeKeyPair(dir, 'server', server)
    const [a, b, c, d] = [0, 1, 2, 3].map(() => generateKeyPair().publicKey)
    mkdirSync(join(dir, 'clients'))
    writeFileSync(join(dir, 'clients', 'a.pub'), `${a}\n`)
    writeFileSync(join(dir, 'clients', 'b.pub'), `${b}\n`)
    writeFileSync(join(dir, 'clients', 'notes.txt'), 'not a key\n')
    writeFileSync(join(dir, 'list'), `# the reporters\n${c}\n\n${a}\n`)
    const curve = curveFromFlags(
      { keys: join(dir, 'server'), allow: [join(dir, 'clients'), `${join(dir, 'list')},${d}`] },
      { role: 'server', env: false },
    )
    expect(curve?.allow).toEqual([a, b, c, d])
    expect(curve?.serverKey).toBeUndefined()
  })

  it('falls back on DRIPDROP_CURVE_*, keeping what the role uses; no flags and no environment: no CURVE', () => {
    const pair = generateKeyPair()
    const server = generateKeyPair()
    const env = {
      DRIPDROP_CURVE_SECRET_KEY: pair.secretKey,
      DRIPDROP_CURVE_SERVER_KEY: server.publicKey,
      DRIPDROP_CURVE_ALLOW: `${server.publicKey},${pair.publicKey}`,
    }
    expect(curveFromFlags({}, { role: 'client', env })).toEqual({ ...pair, serverKey: server.publicKey })
    expect(curveFromFlags({}, { role: 'server', env })).toEqual({
      ...pair,
      allow: [server.publicKey, pair.publicKey],
    })
    expect(curveFromFlags({}, { role: 'server', env: {} })).toBeUndefined()
    expect(
      message(() =>
        curveFromFlags({}, { role: 'client', env: { DRIPDROP_CURVE_SECRET_KEY: pair.secretKey } }),
      ),
    ).toContain('DRIPDROP_CURVE_SERVER_KEY')
  })

  it('refuses incomplete or misplaced flags with the flag names, never printing a secret', () => {
    const dir = tempDir()
    const pair = generateKeyPair()
    writeKeyPair(dir, 'me', pair)
    const keys = join(dir, 'me')
    const env = false as const
    expect(message(() => curveFromFlags({ allow: pair.publicKey }, { role: 'server', env }))).toBe(
      "--curve-allow needs --curve-keys (this side's key pair)",
    )
    expect(message(() => curveFromFlags({ keys }, { role: 'client', env }))).toContain(
      '--curve-keys needs --curve-server-key',
    )
    expect(message(() => curveFromFlags({ keys, allow: pair.publicKey }, { role: 'client', env }))).toContain(
      '--curve-allow is for the side that binds',
    )
    expect(
      message(() => curveFromFlags({ keys, serverKey: pair.publicKey }, { role: 'server', env })),
    ).toContain('--curve-server-key is for the side that connects')
    expect(message(() => curveFromFlags({ keys, allow: 'nope' }, { role: 'server', env }))).toContain(
      '--curve-allow: "nope" is neither a file, a directory nor a CURVE public key',
    )
    expect(
      message(() => curveFromFlags({ keys, allow: join(dir, 'empty') }, { role: 'server', env })),
    ).toContain('neither')
    mkdirSync(join(dir, 'none'))
    expect(
      message(() => curveFromFlags({ keys, allow: join(dir, 'none') }, { role: 'server', env })),
    ).toContain('lists no key')
    // A secret key given where a public key is expected is described by its file, not echoed.
    const serverFile = join(dir, 'bad.pub')
    writeFileSync(serverFile, `${pair.secretKey}x\n`)
    const m = message(() => curveFromFlags({ keys, serverKey: serverFile }, { role: 'client', env }))
    expect(m).toContain('bad.pub does not hold a CURVE public key')
    expect(m).not.toContain(pair.secretKey)
  })
})
