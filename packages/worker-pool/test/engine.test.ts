import { describe, expect, it } from 'vitest'
import { type Engine as EngineType, Engine, type Job, type Link } from '../src/engine.js'
import { fillPoolOptions } from '../src/options.js'
import { STATUS_OK } from '../src/protocol.js'

// The engine against in-memory links: a Link is a small interface, and this one records what the engine asks
// of it, so scheduling decisions can be checked exactly, task by task.
class MemoryLink implements Link {
  readonly inFlight = new Map<number, Job>()
  lastUsed = 0
  readonly defaultTimeoutMs = Number.POSITIVE_INFINITY
  readonly batches: string[][] = []
  readonly cancelled: [string, string][] = []
  #out: string[] = []
  constructor(
    readonly id: string,
    readonly slots: number,
  ) {}
  push(job: Job): void {
    this.#out.push(job.args as string)
  }
  flush(): void {
    this.batches.push(this.#out)
    this.#out = []
  }
  cancel(job: Job, reason: string): void {
    this.cancelled.push([job.args as string, reason])
  }
  /** Completes the task whose args are `arg`, as a worker would. */
  finish(engine: EngineType, arg: string): void {
    const job = [...this.inFlight.values()].find((j) => j.args === arg)!
    engine.result(this, job.id, STATUS_OK, `${arg}!`)
  }
}

const tick = () => new Promise((r) => setImmediate(r))

function engine(maxRetries = 2): Engine {
  return new Engine(fillPoolOptions({ threads: 0, listen: 'tcp://127.0.0.1:*', maxRetries }))
}

describe('Engine', () => {
  it('sends everything submitted in one tick as one batch per link, within each link credit', async () => {
    const e = engine()
    const a = new MemoryLink('a', 2)
    const b = new MemoryLink('b', 3)
    e.addLink(a)
    e.addLink(b)
    const results = ['t1', 't2', 't3', 't4', 't5', 't6', 't7'].map((t) =>
      e.submit('x', t, Infinity, Infinity),
    )
    await tick()
    expect(a.batches).toEqual([['t1', 't3']])
    expect(b.batches).toEqual([['t2', 't4', 't5']])
    expect(e.stats()).toMatchObject({ queued: 2, inFlight: 5, slots: 5, utilization: 1 })
    a.finish(e, 't1')
    await tick()
    expect(a.batches).toEqual([['t1', 't3'], ['t6']])
    expect(await results[0]).toBe('t1!')
  })

  it('picks the least recently used link with a free slot, the warm idle one first', async () => {
    const e = engine()
    const a = new MemoryLink('a', 4)
    const b = new MemoryLink('b', 4)
    e.addLink(a)
    e.addLink(b)
    void e.submit('x', 'lone1', Infinity, Infinity)
    await tick()
    a.finish(e, 'lone1')
    void e.submit('x', 'lone2', Infinity, Infinity)
    await tick()
    // Both idle: the one used last (a) is warm and gets the lone task.
    expect(a.batches.flat()).toEqual(['lone1', 'lone2'])
    // a is busy now: b is idle and goes first, then least recently used alternates.
    for (const t of ['p1', 'p2', 'p3']) void e.submit('x', t, Infinity, Infinity)
    await tick()
    expect(b.batches.flat()).toEqual(['p1', 'p3'])
    expect(a.batches.at(-1)).toEqual(['p2'])
  })

  it('re-queues the tasks of a dead link in front of the queue, then fails them after maxRetries', async () => {
    const e = engine(1)
    const a = new MemoryLink('a', 1)
    e.addLink(a)
    const first = e.submit('x', 'first', Infinity, Infinity)
    void e.submit('x', 'second', Infinity, Infinity)
    await tick()
    e.removeLink(a, new Error('gone'))
    const b = new MemoryLink('b', 1)
    e.addLink(b)
    await tick()
    expect(b.batches).toEqual([['first']])
    e.removeLink(b, new Error('gone too'))
    await expect(first).rejects.toMatchObject({ code: 'DD_ERR_WORKER_CRASHED', attempts: 2 })
    expect(e.stats()).toMatchObject({ retried: 1, failed: 1, queued: 1 })
  })

  it('does not charge a retry when the link was stopped on purpose', async () => {
    const e = engine(0)
    const a = new MemoryLink('a', 1)
    e.addLink(a)
    const t = e.submit('x', 'innocent', Infinity, Infinity)
    await tick()
    e.removeLink(a, new Error('stopped for a timeout'), false)
    const b = new MemoryLink('b', 1)
    e.addLink(b)
    await tick()
    b.finish(e, 'innocent')
    expect(await t).toBe('innocent!')
  })

  it('cancels a running task on abort and frees its slot at once', async () => {
    const e = engine()
    const a = new MemoryLink('a', 1)
    e.addLink(a)
    const ac = new AbortController()
    const t = e.submit('x', 'long', Infinity, Infinity, ac.signal)
    const next = e.submit('x', 'next', Infinity, Infinity)
    await tick()
    ac.abort()
    await expect(t).rejects.toMatchObject({ code: 'DD_ERR_ABORTED' })
    expect(a.cancelled).toEqual([['long', 'abort']])
    await tick()
    expect(a.batches.flat()).toEqual(['long', 'next'])
    a.finish(e, 'next')
    expect(await next).toBe('next!')
  })

  it('drain() resolves once nothing is queued or running, and refuses new work', async () => {
    const e = engine()
    const a = new MemoryLink('a', 1)
    e.addLink(a)
    void e.submit('x', 'last', Infinity, Infinity)
    await tick()
    let drained = false
    const d = e.drain().then(() => {
      drained = true
    })
    await expect(e.submit('x', 'late', Infinity, Infinity)).rejects.toMatchObject({ code: 'DD_ERR_CLOSED' })
    await tick()
    expect(drained).toBe(false)
    a.finish(e, 'last')
    await d
  })
})
