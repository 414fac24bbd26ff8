// CURVE on the pool's remote channel (issue 10): a worker with no keys, with a wrong server key, and with a
// valid but unlisted key is refused at the handshake, counted, and gets no task; the listed worker is served.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPair, type HandshakeError, writeKeyPair } from '@dripdrop/zmq'
import { describe, expect, it, onTestFinished } from 'vitest'
import { RemoteWorker, type RemoteWorkerOptions } from '../src/index.js'
import { CLI, pool, remoteWorker, TASKS, until } from './helpers.js'

/** A remote worker started but not awaited: a refused one never gets its welcome. */
function hopeful(options: Omit<RemoteWorkerOptions, 'tasks'>): RemoteWorker {
  const w = new RemoteWorker({ tasks: TASKS, threads: 1, ...options })
  onTestFinished(() => {
    w.destroy()
  })
  void w.start().catch(() => {})
  return w
}

describe('worker pool over CURVE', () => {
  it('refuses a NULL worker, a wrong server key and an unlisted key (counted, no task); serves the listed worker', async () => {
    const server = generateKeyPair()
    const member = generateKeyPair()
    const outsider = generateKeyPair()
    const p = await pool({
      threads: 0,
      listen: 'tcp://127.0.0.1:*',
      curve: { ...server, allow: [member.publicKey] },
    })
    const refused: HandshakeError[] = []
    const up: string[] = []
    p.on('worker:refused', (err) => void refused.push(err))
    p.on('worker:up', (id) => void up.push(id))
    const connect = p.endpoint!
    const cause = (code: string) => refused.some((e) => (e.cause as { code?: string }).code === code)

    const plain = hopeful({ connect })
    await until(() => cause('ERR_ZMTP_MECHANISM_MISMATCH'), 10_000)
    const wrongServer = hopeful({ connect, curve: { ...member, serverKey: outsider.publicKey } })
    await until(() => cause('ERR_ZMTP_CRYPTOGRAPHIC'), 10_000)
    const unlisted = hopeful({ connect, curve: { ...outsider, serverKey: server.publicKey } })
    await until(() => refused.some((e) => e.reason === 'auth'), 10_000)
    const auth = refused.find((e) => e.reason === 'auth')!
    expect(auth.code).toBe('DD_ERR_HANDSHAKE')
    expect(auth.clientKey).toBe(outsider.publicKey)

    await remoteWorker({ connect, curve: { ...member, serverKey: server.publicKey } })
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => p.defer('inc', i)))
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
    // Only the listed worker joined; the others never got a welcome, so never a task.
    expect(up).toHaveLength(1)
    expect(p.stats.workers).toBe(1)
    expect(p.stats.workersRefused).toBeGreaterThanOrEqual(3)
    expect(p.stats.workersRefused).toBe(refused.length)
    for (const w of [plain, wrongServer, unlisted]) expect(w.state).toBe('starting')
  })

  it('validates curve once, with the option path', async () => {
    const pair = generateKeyPair()
    await expect(pool({ threads: 1, tasks: TASKS, curve: pair })).rejects.toThrow(
      /options\.curve is given without options\.listen/,
    )
    expect(() => new RemoteWorker({ connect: 'tcp://127.0.0.1:1', tasks: TASKS, curve: pair })).toThrow(
      /options\.curve\.serverKey is required/,
    )
  })

  it('dripdrop-worker --curve-keys/--curve-server-key: no keys, a wrong pool key and an unlisted key are refused and counted; a listed worker joins', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dd-pool-keys-'))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const server = generateKeyPair()
    const other = generateKeyPair()
    writeKeyPair(dir, 'pool', server)
    writeKeyPair(dir, 'other', other)
    writeKeyPair(dir, 'member', generateKeyPair())
    writeKeyPair(dir, 'outsider', generateKeyPair())
    const { loadKeyPair } = await import('@dripdrop/zmq')
    const p = await pool({
      threads: 0,
      listen: 'tcp://127.0.0.1:*',
      curve: { ...server, allow: [loadKeyPair(dir, 'member').publicKey] },
    })
    const refused: HandshakeError[] = []
    p.on('worker:refused', (err) => void refused.push(err))
    const worker = (curve: string[]): ChildProcess => {
      const child = spawn(
        process.execPath,
        [CLI, '--connect', p.endpoint!, '--tasks', fileURLToPath(TASKS), '--threads', '1', ...curve],
        // No CURVE from the test's own environment.
        { stdio: 'ignore', env: { ...process.env, DRIPDROP_CURVE_SECRET_KEY: '' } },
      )
      onTestFinished(() => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      })
      return child
    }
    const keys = (name: string, serverKey = join(dir, 'pool.pub')) => [
      '--curve-keys',
      join(dir, name),
      '--curve-server-key',
      serverKey,
    ]
    // One intruder process at a time, killed once refused, so each count is its own.
    for (const args of [[], keys('member', join(dir, 'other.pub')), keys('outsider')]) {
      const before = p.stats.workersRefused
      const child = worker(args)
      await until(() => p.stats.workersRefused > before, 15_000)
      child.kill('SIGKILL')
    }
    expect(
      refused.some((e) => e.reason === 'auth' && e.clientKey === loadKeyPair(dir, 'outsider').publicKey),
    ).toBe(true)
    expect(p.stats.workers).toBe(0)
    worker(keys('member'))
    await until(() => p.stats.workers === 1, 15_000)
    expect(await p.defer('add', { a: 2, b: 3 })).toBe(5)
    expect(p.stats.workers).toBe(1)
    expect(p.stats.workersRefused).toBe(refused.length)
  })
})
