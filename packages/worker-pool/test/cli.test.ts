import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, onTestFinished } from 'vitest'
import { CLI, pool, TASKS, until } from './helpers.js'

interface Proc {
  child: ChildProcess
  stderr: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function cli(args: string[]): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  onTestFinished(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  })
  let err = ''
  child.stderr!.on('data', (d) => {
    err += d
  })
  child.stdout!.resume()
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  )
  return { child, stderr: () => err, exited }
}

const tasksPath = fileURLToPath(TASKS)

describe('dripdrop-worker CLI', () => {
  it('exits 2 with the usage when --connect or --tasks is missing', async () => {
    const p = cli(['--tasks', tasksPath])
    expect(await p.exited).toEqual({ code: 2, signal: null })
    expect(p.stderr()).toContain('usage: dripdrop-worker --connect')
  })

  it('exits 1 with DD_ERR_WORKER_START when the tasks module does not load', async () => {
    const broken = fileURLToPath(new URL('./fixtures/broken-tasks.mjs', import.meta.url))
    const p = cli(['--connect', 'tcp://127.0.0.1:1', '--tasks', broken])
    expect(await p.exited).toEqual({ code: 1, signal: null })
    expect(p.stderr()).toContain('DD_ERR_WORKER_START')
  })

  it('joins a pool, serves tasks, leaves on SIGTERM with exit code 0', async () => {
    const pl = await pool({ threads: 0, listen: 'tcp://127.0.0.1:*' })
    const p = cli(['--connect', pl.endpoint!, '--tasks', tasksPath, '--threads', '1', '--slots', '3'])
    await until(() => pl.stats.workers === 1, 10_000)
    expect(pl.stats.slots).toBe(3)
    expect(p.stderr()).toContain('--slots is deprecated, use --concurrency')
    const pid = await pl.defer('pid', null)
    expect(pid).toBe(p.child.pid)
    p.child.kill('SIGTERM')
    expect(await p.exited).toEqual({ code: 0, signal: null })
    await until(() => pl.stats.workers === 0)
  })

  it('a worker process killed with SIGKILL under load: every task settles exactly once, none is lost', async () => {
    const pl = await pool({
      threads: 0,
      listen: 'tcp://127.0.0.1:*',
      heartbeatIntervalMs: 100,
      maxRetries: 2,
    })
    const args = ['--connect', pl.endpoint!, '--tasks', tasksPath, '--threads', '1', '--concurrency', '4']
    const a = cli(args)
    cli(args)
    await until(() => pl.stats.workers === 2, 10_000)
    const n = 300
    const settled = new Array<number>(n).fill(0)
    const values = new Array<unknown>(n)
    const all = Array.from({ length: n }, (_, i) =>
      pl.defer('counted', { id: i, ms: 5 }).then(
        (v) => {
          settled[i]++
          values[i] = v
        },
        (err) => {
          settled[i]++
          values[i] = err
        },
      ),
    )
    await until(() => pl.stats.completed >= 40)
    a.child.kill('SIGKILL')
    expect(await a.exited).toEqual({ code: null, signal: 'SIGKILL' })
    await Promise.all(all)
    expect(settled).toEqual(new Array(n).fill(1))
    expect(values).toEqual(Array.from({ length: n }, (_, i) => i))
    const s = pl.stats
    expect(s).toMatchObject({ completed: n, failed: 0, workers: 1 })
    expect(s.retried).toBeGreaterThan(0)
  })

  it('answers heartbeats while a task runs 1 s of synchronous CPU: the worker is not declared dead', async () => {
    const pl = await pool({ threads: 0, listen: 'tcp://127.0.0.1:*', heartbeatIntervalMs: 200 })
    const downs: string[] = []
    pl.on('worker:down', (id) => downs.push(id))
    cli(['--connect', pl.endpoint!, '--tasks', tasksPath, '--threads', '1', '--concurrency', '1'])
    await until(() => pl.stats.workers === 1, 10_000)
    // Tasks run on the worker's thread; its main thread keeps answering pings (before: one silent second).
    expect(await pl.defer('spin', { ms: 1000 })).toBe(1000)
    expect(await pl.defer('inc', 1)).toBe(2) // a round trip after the spin: any death would have shown by now
    expect(downs).toEqual([])
    expect(pl.stats).toMatchObject({ workers: 1, retried: 0, failed: 0 })
  })
})
