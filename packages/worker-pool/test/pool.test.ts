import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, onTestFinished } from 'vitest'
import { createPool, defineTasks } from '../src/index.js'
import type { RemoteError } from '../src/index.js'
import { pool, remoteWorker, TASKS, until } from './helpers.js'

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dd-worker-pool-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

describe('Pool on local threads', () => {
  it('runs tasks on threads and gives the results back, many in flight', async () => {
    const p = await pool({ tasks: TASKS, threads: 2 })
    expect(await p.defer('inc', 41)).toBe(42)
    await until(() => p.stats.workers === 2)
    const results = await Promise.all(Array.from({ length: 5000 }, (_, i) => p.defer('add', { a: i, b: 1 })))
    expect(results).toEqual(Array.from({ length: 5000 }, (_, i) => i + 1))
    expect(p.stats).toMatchObject({
      completed: 5001,
      failed: 0,
      inFlight: 0,
      queued: 0,
      workers: 2,
      slots: 64,
    })
  })

  it('takes typed handles from defineTasks', async () => {
    const tasks = defineTasks({ add: (args: { a: number; b: number }) => args.a + args.b })
    const p = await pool({ tasks: TASKS, threads: 1 })
    const sum: number = await p.defer(tasks.add, { a: 2, b: 3 })
    expect(sum).toBe(5)
  })

  it('rejects with the thrown error name, message, code and stack', async () => {
    const p = await pool({ tasks: TASKS, threads: 1 })
    const err = (await p
      .defer('fail', { message: 'boom', code: 'E_BOOM' })
      .catch((e: RemoteError) => e)) as RemoteError
    expect(err).toMatchObject({ name: 'RangeError', message: 'boom', code: 'E_BOOM' })
    expect(err.remoteStack).toContain('fixtures/tasks.mjs')
    await expect(p.defer('failAsync', { message: 'nope' })).rejects.toMatchObject({
      name: 'TypeError',
      message: 'nope',
      code: 'DD_ERR_HANDLER',
    })
    expect(p.stats.failed).toBe(2)
  })

  it('rejects an unknown task name with DD_ERR_UNKNOWN_TASK and goes on', async () => {
    const p = await pool({ tasks: TASKS, threads: 1 })
    await expect(p.defer('noSuchTask', 1)).rejects.toMatchObject({ code: 'DD_ERR_UNKNOWN_TASK' })
    expect(await p.defer('inc', 1)).toBe(2)
  })

  it('rejects args or results threads cannot carry with DD_ERR_ENCODE_INVALID, others in the batch pass', async () => {
    const p = await pool({ tasks: TASKS, threads: 1 })
    const bad = p.defer('echo', { fn: () => 1 })
    const good = p.defer('inc', 1)
    await expect(bad).rejects.toMatchObject({ code: 'DD_ERR_ENCODE_INVALID' })
    expect(await good).toBe(2)
    await expect(p.defer('unclonable', null)).rejects.toMatchObject({ code: 'DD_ERR_ENCODE_INVALID' })
    expect(await p.defer('inc', 2)).toBe(3)
  })

  it('sends each task to the least recently used thread with a free slot', async () => {
    const p = await pool({ tasks: TASKS, threads: 2, concurrencyPerThread: 1 })
    await until(() => p.stats.workers === 2)
    const ids = await Promise.all([0, 1, 2, 3].map(() => p.defer('threadId', { ms: 30 })))
    expect(new Set(ids).size).toBe(2)
    expect(ids[0]).not.toBe(ids[1])
  })

  it('times out a running task from dispatch, terminates its thread, replaces it, re-runs its neighbours', async () => {
    const p = await pool({ tasks: TASKS, threads: 1, concurrencyPerThread: 4 })
    const downs: string[] = []
    p.on('worker:down', (id) => downs.push(id))
    const neighbour = p.defer('sleep', { ms: 200, value: 'n' })
    const spin = p.defer('spin', { ms: 60_000 }, { timeoutMs: 100 })
    await expect(spin).rejects.toMatchObject({ code: 'DD_ERR_TIMEOUT', timeoutMs: 100 })
    expect(await neighbour).toBe('n')
    expect(downs).toEqual(['thread:0'])
    expect(await p.defer('inc', 1)).toBe(2)
    expect(p.stats).toMatchObject({ workers: 1, retried: 1 })
  })

  it('starts the timeout clock at dispatch, not at enqueue', async () => {
    const p = await pool({ tasks: TASKS, threads: 1, concurrencyPerThread: 1 })
    const first = p.defer('sleep', { ms: 150, value: 1 })
    // Waits 150 ms in the queue, then runs 20 ms: well within its 100 ms run limit.
    const second = p.defer('sleep', { ms: 20, value: 2 }, { timeoutMs: 100 })
    expect(await Promise.all([first, second])).toEqual([1, 2])
  })

  it('bounds the wait for a worker with queueTimeoutMs', async () => {
    const p = await pool({ tasks: TASKS, threads: 1, concurrencyPerThread: 1 })
    const first = p.defer('sleep', { ms: 200, value: 1 })
    await expect(p.defer('inc', 1, { queueTimeoutMs: 50 })).rejects.toMatchObject({ code: 'DD_ERR_TIMEOUT' })
    expect(p.stats.expired).toBe(1) // never started: counted as expired, per CONTRIBUTING.md
    expect(await first).toBe(1)
  })

  it('cancels a queued task by AbortSignal without running it', async () => {
    const p = await pool({ tasks: TASKS, threads: 1, concurrencyPerThread: 1 })
    const first = p.defer('sleep', { ms: 100, value: 1 })
    const ac = new AbortController()
    const queued = p.defer('fail', { message: 'must not run' }, { signal: ac.signal })
    ac.abort(new Error('changed my mind'))
    await expect(queued).rejects.toMatchObject({
      code: 'DD_ERR_ABORTED',
      cause: { message: 'changed my mind' },
    })
    expect(await first).toBe(1)
    expect(p.stats).toMatchObject({ completed: 1, failed: 1 })
    await expect(p.defer('inc', 1, { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'DD_ERR_ABORTED',
    })
  })

  it('cancels a running task by AbortSignal: the task sees its signal abort, the slot frees', async () => {
    const p = await pool({ tasks: TASKS, threads: 1, concurrencyPerThread: 1 })
    const flag = new SharedArrayBuffer(4)
    const ac = new AbortController()
    const running = p.defer('waitForAbort', { id: 1, flag }, { signal: ac.signal })
    await until(() => p.stats.inFlight === 1)
    ac.abort()
    await expect(running).rejects.toMatchObject({ code: 'DD_ERR_ABORTED' })
    await until(() => Atomics.load(new Int32Array(flag), 0) === 1)
    expect(await p.defer('inc', 1)).toBe(2)
  })

  it('re-runs the tasks of a crashed thread on a new one (maxRetries)', async () => {
    const p = await pool({ tasks: TASKS, threads: 1, concurrencyPerThread: 8 })
    const marker = join(tempDir(), 'crashed')
    const others = Array.from({ length: 5 }, (_, i) => p.defer('sleep', { ms: 50, value: i }))
    const crashing = p.defer('crashOnce', { marker, value: 'second time lucky' })
    expect(await crashing).toBe('second time lucky')
    expect(await Promise.all(others)).toEqual([0, 1, 2, 3, 4])
    expect(p.stats.retried).toBe(6)
  })

  it('fails a task that keeps crashing its thread with DD_ERR_WORKER_CRASHED after maxRetries', async () => {
    const p = await pool({ tasks: TASKS, threads: 1, maxRetries: 2 })
    await expect(p.defer('crash', null)).rejects.toMatchObject({ code: 'DD_ERR_WORKER_CRASHED', attempts: 3 })
    expect(p.stats.retried).toBe(2)
    expect(await p.defer('inc', 1)).toBe(2)
  })

  it('waits for admission when the queue is full, then runs everything', async () => {
    const p = await pool({ tasks: TASKS, threads: 1, concurrencyPerThread: 1, maxQueue: 2 })
    const all = Array.from({ length: 6 }, (_, i) => p.defer('sleep', { ms: 10, value: i }))
    await until(() => p.stats.inFlight === 1)
    expect(p.stats).toMatchObject({ queued: 2, waiting: 3 })
    expect(await Promise.all(all)).toEqual([0, 1, 2, 3, 4, 5])
  })

  it('call maxQueue+1 stays pending and is not queued; { wait: false } is refused with DD_ERR_QUEUE_FULL', async () => {
    const p = await pool({ threads: 0, listen: 'tcp://127.0.0.1:*', maxQueue: 2 })
    const ac = new AbortController()
    const first = p.defer('inc', 1, { signal: ac.signal })
    const second = p.defer('inc', 2)
    let thirdSettled = false
    const third = p.defer('inc', 3).finally(() => {
      thirdSettled = true
    })
    // A refused call settles through the same engine: by then the third one has been considered too.
    await expect(p.defer('inc', 4, { wait: false })).rejects.toMatchObject({ code: 'DD_ERR_QUEUE_FULL' })
    expect(thirdSettled).toBe(false)
    expect(p.stats).toMatchObject({ queued: 2, waiting: 1, refused: 1, aborted: 0 })
    // Room in the queue: the waiting call is admitted, in order, and the queue is full again.
    ac.abort()
    await expect(first).rejects.toMatchObject({ code: 'DD_ERR_ABORTED' })
    expect(p.stats.aborted).toBe(1)
    await until(() => p.stats.waiting === 0)
    expect(p.stats.queued).toBe(2)
    await expect(p.defer('inc', 5, { wait: false })).rejects.toMatchObject({ code: 'DD_ERR_QUEUE_FULL' })
    await remoteWorker({ connect: p.endpoint!, concurrency: 1 })
    expect(await Promise.all([second, third])).toEqual([3, 4])
  })

  it('memory stays flat under a flood of 1M defers against a full queue', async () => {
    const p = await pool({ tasks: TASKS, threads: 1, concurrencyPerThread: 1, maxQueue: 1000 })
    const before = process.memoryUsage().heapUsed
    let peak = before
    let refused = 0
    let resolved = 0
    // Bounded in count and time: this shared machine may not get through 1M in the time box.
    const deadline = Date.now() + 8_000
    let sent = 0
    for (let i = 0; i < 1_000_000 && Date.now() < deadline; i++) {
      sent++
      p.defer('inc', i, { wait: false }).then(
        () => resolved++,
        (err: { code: string }) => {
          if (err.code === 'DD_ERR_QUEUE_FULL') refused++
        },
      )
      if (i % 20_000 === 0) {
        await new Promise((r) => setImmediate(r))
        peak = Math.max(peak, process.memoryUsage().heapUsed)
        expect(p.stats.queued).toBeLessThanOrEqual(1000)
      }
    }
    await until(() => refused + resolved === sent, 10_000)
    // Queued, 1M tasks would hold hundreds of MB (job, promise, args); refused ones are garbage at once.
    expect(peak - before).toBeLessThan(64 * 1024 * 1024)
    expect(refused).toBeGreaterThan(sent / 2)
    expect(p.stats.refused).toBe(refused)
    console.log(
      `flood: ${sent} defers, ${resolved} ran, ${refused} refused, heap grew ${((peak - before) / 1048576).toFixed(1)} MiB`,
    )
  }, 30_000)

  it('close() twice returns the same promise; destroy() returns how many tasks it rejected', async () => {
    const p = await pool({ tasks: TASKS, threads: 1, concurrencyPerThread: 1 })
    const closing = p.close()
    expect(p.close()).toBe(closing)
    await closing
    const q = await pool({ tasks: TASKS, threads: 1, concurrencyPerThread: 1 })
    const tasks = Array.from({ length: 3 }, () => q.defer('spin', { ms: 60_000 }))
    await until(() => q.stats.inFlight === 1)
    const settled = Promise.all(
      tasks.map((t) => expect(t).rejects.toMatchObject({ code: 'DD_ERR_DESTROYED' })),
    )
    expect(q.destroy()).toBe(3)
    expect(q.state).toBe('closed')
    expect(q.destroy()).toBe(0)
    await settled
  })

  it('close() drains queued and running tasks, then refuses new ones with DD_ERR_CLOSED', async () => {
    const p = await pool({ tasks: TASKS, threads: 1, concurrencyPerThread: 1 })
    const all = Array.from({ length: 4 }, (_, i) => p.defer('sleep', { ms: 20, value: i }))
    await p.close()
    expect(await Promise.all(all)).toEqual([0, 1, 2, 3])
    expect(p.state).toBe('closed')
    await expect(p.defer('inc', 1)).rejects.toMatchObject({ code: 'DD_ERR_CLOSED' })
  })

  it('destroy() rejects queued and running tasks with DD_ERR_DESTROYED', async () => {
    const p = await pool({ tasks: TASKS, threads: 1, concurrencyPerThread: 1 })
    const running = p.defer('spin', { ms: 60_000 })
    const queued = p.defer('inc', 1)
    await until(() => p.stats.inFlight === 1)
    const settled = Promise.all([
      expect(running).rejects.toMatchObject({ code: 'DD_ERR_DESTROYED' }),
      expect(queued).rejects.toMatchObject({ code: 'DD_ERR_DESTROYED' }),
    ])
    expect(p.destroy()).toBe(2)
    await settled
  })

  it('reports stats: wait and run percentiles, utilization', async () => {
    const p = await pool({ tasks: TASKS, threads: 1, concurrencyPerThread: 2 })
    const two = [p.defer('sleep', { ms: 50, value: 1 }), p.defer('sleep', { ms: 50, value: 2 })]
    await until(() => p.stats.inFlight === 2)
    expect(p.stats.utilization).toBe(1)
    await Promise.all(two)
    const s = p.stats
    expect(s.runMs.p50).toBeGreaterThanOrEqual(40)
    expect(s.waitMs.p99).toBeGreaterThanOrEqual(0)
    expect(s.utilization).toBe(0)
  })

  it('fails queued tasks with DD_ERR_WORKER_START when no thread can load the tasks module', async () => {
    const p = new (await import('../src/index.js')).Pool({
      tasks: new URL('./fixtures/broken-tasks.mjs', import.meta.url),
      threads: 2,
    })
    onTestFinished(() => void p.destroy())
    await expect(p.defer('inc', 1)).rejects.toMatchObject({ code: 'DD_ERR_WORKER_START' })
  })

  it('validates options with the option path in the message', async () => {
    await expect(createPool({ tasks: TASKS, threads: -1 })).rejects.toThrow('options.threads')
    await expect(createPool({ threads: 1 })).rejects.toThrow('options.tasks')
    await expect(createPool({ tasks: TASKS, threads: 1, concurrencyPerThread: 0 })).rejects.toThrow(
      'options.concurrencyPerThread',
    )
    await expect(createPool({ threads: 0 })).rejects.toThrow('no worker')
  })
})
