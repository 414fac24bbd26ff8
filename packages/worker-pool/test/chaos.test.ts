import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { CLI, pool, TASKS, until } from './helpers.js'

const tasksPath = fileURLToPath(TASKS)

describe('chaos', () => {
  it('3 worker processes, one SIGKILLed every 2 s and restarted: 20,000 callers settle exactly once, none wrong', async () => {
    const p = await pool({ threads: 0, listen: 'tcp://127.0.0.1:*', heartbeatIntervalMs: 100, maxRetries: 5 })
    const live = new Set<ChildProcess>()
    const start = (): ChildProcess => {
      const child = spawn(
        process.execPath,
        [CLI, '--connect', p.endpoint!, '--tasks', tasksPath, '--threads', '1', '--concurrency', '4'],
        { stdio: 'ignore' },
      )
      live.add(child)
      child.on('exit', () => live.delete(child))
      return child
    }
    onTestFinished(() => {
      for (const child of live) child.kill('SIGKILL')
    })
    for (let i = 0; i < 3; i++) start()
    await until(() => p.stats.workers === 3, 15_000)

    const n = 20_000
    const settled = new Uint8Array(n)
    const wrong: number[] = []
    const failures = new Map<string, number>()
    let done = 0
    for (let i = 0; i < n; i++) {
      p.defer('sleep', { ms: 5, value: i }).then(
        (v) => {
          settled[i]++
          if (v !== i) wrong.push(i)
          done++
        },
        (err: { code?: string }) => {
          settled[i]++
          failures.set(String(err.code), (failures.get(String(err.code)) ?? 0) + 1)
          done++
        },
      )
    }
    // Kill one worker every 2 s while work remains, for at most 20 s; restart it at once.
    let kills = 0
    const end = Date.now() + 20_000
    while (done < n && Date.now() < end) {
      await until(() => done === n || Date.now() >= end, 2_000).catch(() => {}) // the 2 s clock
      if (done === n) break
      const victim = [...live][kills % live.size]
      if (victim === undefined) break
      victim.kill('SIGKILL')
      await once(victim, 'exit')
      kills++
      start()
    }
    await until(() => done === n, 60_000)
    const s = p.stats
    console.log(
      `chaos: ${n} tasks, ${kills} workers killed, ${s.completed} completed, ${s.failed} failed ${JSON.stringify(Object.fromEntries(failures))}, ${s.retried} retried, ${wrong.length} wrong`,
    )
    expect(kills).toBeGreaterThanOrEqual(3) // 12 tasks of 5 ms in flight: 20,000 take >= 8 s
    expect(settled.every((c) => c === 1)).toBe(true)
    expect(wrong).toEqual([])
    expect(s.completed + s.failed).toBe(n)
    // Only a task whose workers all died under it may fail, and only that way.
    expect([...failures.keys()].every((code) => code === 'DD_ERR_WORKER_CRASHED')).toBe(true)
    expect(s.retried).toBeGreaterThan(0)
  }, 120_000)
})
