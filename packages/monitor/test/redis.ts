// Real Redis for the store tests: REDIS_URL or 127.0.0.1:6379, else a private redis-server from PATH.
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { Redis } from 'ioredis'
import { onTestFinished } from 'vitest'

async function ping(url: string): Promise<boolean> {
  const r = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  })
  r.on('error', () => {})
  try {
    await r.connect()
    return (await r.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    r.disconnect()
  }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** A redis-server of this test's own, on a free port; `stop()` kills it, `start()` brings it back on the same port. */
export async function privateRedis() {
  const port = await freePort()
  const url = `redis://127.0.0.1:${port}`
  let proc: ChildProcess | undefined
  const start = async () => {
    const p = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      {
        stdio: 'ignore',
      },
    )
    proc = p
    const failed = new Promise<never>((_, reject) =>
      p.once('error', (err) =>
        reject(
          new Error(
            `cannot start redis-server from PATH (${err.message}): install it (apt-get install redis-server) or set REDIS_URL`,
          ),
        ),
      ),
    )
    const end = Date.now() + 10_000
    while (!(await Promise.race([ping(url), failed]))) {
      if (Date.now() > end) throw new Error(`redis-server on port ${port} did not answer within 10 s`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }
  const stop = async () => {
    const p = proc
    if (p === undefined || p.exitCode !== null || p.signalCode !== null) return
    const exited = new Promise((r) => p.once('exit', r))
    p.kill('SIGKILL')
    await exited
  }
  onTestFinished(stop)
  await start()
  return { url, port, start, stop }
}

/** The shared Redis (REDIS_URL or 127.0.0.1:6379), or a private one when none answers. */
export async function redisUrl(): Promise<string> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  if (await ping(url)) return url
  return (await privateRedis()).url
}

/** A key prefix of this test's own; its keys are deleted after the test. */
export function testPrefix(url: string): string {
  const prefix = `dd:mon:test:${process.pid}:${Math.random().toString(36).slice(2)}:`
  onTestFinished(async () => {
    const r = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null })
    r.on('error', () => {})
    try {
      let cursor = '0'
      do {
        const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
        cursor = next
        if (keys.length > 0) await r.del(...keys)
      } while (cursor !== '0')
    } catch {
      // a private server that is already gone
    } finally {
      r.disconnect()
    }
  })
  return prefix
}
