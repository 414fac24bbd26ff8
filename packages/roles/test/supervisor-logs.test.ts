// Supervisor logs: children's stdout/stderr land in <logDir>/<instance>.log, rotated past maxLogBytes with at
// most maxLogFiles kept, a bounded tail in memory, and a follower that sees new lines as they come.
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { type LogLine, Supervisor } from '../src/index.js'
import { FIXTURES, nextEvent, tempDir } from './helpers.js'

function supervise(
  env: Record<string, string | number>,
  options: { maxLogBytes?: number; maxLogFiles?: number; tailBytes?: number } = {},
) {
  const logDir = tempDir()
  const s = new Supervisor({
    topology: {
      name: 't',
      baseDir: FIXTURES,
      roles: { svc: { entry: './service.mjs', env, restart: { minDelayMs: 10 } } },
    },
    logDir,
    ...options,
  })
  onTestFinished(() => {
    s.destroy()
  })
  return { s, logDir }
}

describe('Supervisor logs', () => {
  it('writes stdout, stderr and its own notes to <instance>.log, rotating by size and keeping maxLogFiles', async () => {
    const { s, logDir } = supervise(
      { CHATTY: 400 },
      { maxLogBytes: 16 * 1024, maxLogFiles: 3, tailBytes: 4096 },
    )
    // stdout and stderr are two pipes: wait for the last line of each.
    const last = Promise.all([
      nextEvent(s, 'instance:log', (l) => l.line.startsWith('err 000399')),
      nextEvent(s, 'instance:log', (l) => l.line.startsWith('out 000399')),
    ])
    await s.start()
    await last
    const files = readdirSync(logDir).sort()
    expect(files).toEqual(['svc-1.log', 'svc-1.log.1', 'svc-1.log.2'])
    for (const f of files) expect(statSync(join(logDir, f)).size).toBeLessThanOrEqual(16 * 1024)
    const current = readFileSync(join(logDir, 'svc-1.log'), 'utf8').trim().split('\n')
    expect(current.at(-1)).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z (out out|err err) 000399 [xy]+$/)
    // 800 lines of ~130 bytes went through: the oldest files were dropped, the newest lines kept in order.
    const older = readFileSync(join(logDir, 'svc-1.log.2'), 'utf8').trim().split('\n')
    expect(older[0]).not.toContain('started pid')
    // The tail is bounded and holds the newest lines.
    const tail = s.tail('svc-1')
    const bytes = tail.reduce((n, l) => n + l.line.length + 32, 0)
    expect(bytes).toBeLessThanOrEqual(4096)
    expect(tail.at(-1)?.line).toMatch(/^(out|err) 000399/)
    expect(tail.length).toBeGreaterThan(10)
    await s.close()
    const closed = readFileSync(join(logDir, 'svc-1.log'), 'utf8')
    expect(closed).toMatch(
      / sup stopping \(SIGTERM, SIGKILL after 5000 ms\)\n.* sup exited with code 0 after \d+ ms\n$/,
    )
  })

  it('logs() yields the tail, then follows new lines (across a restart) until aborted', async () => {
    const { s } = supervise({})
    const first = nextEvent(s, 'instance:log', (l) => l.line.startsWith('ready'))
    await s.start()
    await first
    const ac = new AbortController()
    const seen: LogLine[] = []
    const following = (async () => {
      for await (const line of s.logs('svc', { follow: true, signal: ac.signal })) {
        seen.push(line)
        if (seen.filter((l) => l.line.startsWith('ready')).length === 2) ac.abort()
      }
    })()
    process.kill(s.status()[0].pid as number, 'SIGKILL')
    await following
    const lines = seen.map((l) => `${l.stream} ${l.line.replace(/\d+/g, 'N')}`)
    expect(lines[0]).toBe('sup started pid N')
    expect(lines).toContain('sup exited by SIGKILL after N ms')
    expect(lines).toContain('sup restarting in N ms (restart N within N ms)')
    expect(lines.filter((l) => l.startsWith('out ready'))).toHaveLength(2)
    // Not following: the tail only, the last `lines` of it.
    const tail: LogLine[] = []
    for await (const l of s.logs(undefined, { lines: 2 })) tail.push(l)
    expect(tail).toHaveLength(2)
  })

  it('a follower ends when the supervisor closes', async () => {
    const { s } = supervise({})
    await s.start()
    const following = (async () => {
      let n = 0
      for await (const _ of s.logs('svc-1', { follow: true })) n++
      return n
    })()
    await s.close()
    expect(await following).toBeGreaterThan(0)
  })
})
