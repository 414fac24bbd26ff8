import { afterEach, describe, expect, it, onTestFinished, vi } from 'vitest'
import { Node, RemoteError } from '../src/index.js'

let seq = 0
const addr = () => `inproc://svc-${++seq}`

async function pair(options: { timeoutMs?: number; concurrency?: number; exposeErrorStacks?: boolean } = {}) {
  const node = new Node({ name: 'svc' })
  onTestFinished(() => {
    node.destroy()
  })
  const a = addr()
  const rep = node.route('rep', {
    type: 'rep',
    bind: a,
    concurrency: options.concurrency,
    exposeErrorStacks: options.exposeErrorStacks,
  })
  const req = node.route('req', { type: 'req', connect: a, timeoutMs: options.timeoutMs ?? 1000 })
  return { node, rep, req, start: () => node.start() }
}

const tick = () => new Promise((r) => setImmediate(r))

afterEach(() => {
  vi.useRealTimers()
})

describe('request/reply', () => {
  it('answers with the handler result, sync or async, many requests in flight', async () => {
    const { rep, req, start } = await pair()
    rep.on('add', ({ body }) => body.a + body.b)
    rep.on('later', async ({ body }) => {
      await new Promise((r) => setTimeout(r, 5))
      return body * 2
    })
    await start()
    expect((await req.request('add', { a: 2, b: 3 })).body).toBe(5)
    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => req.request('later', i)))
    expect(replies.map((r) => r.body)).toEqual(Array.from({ length: 50 }, (_, i) => i * 2))
    expect(req.pendingRequests).toBe(0)
  })

  it('carries head fields to the handler and correlates by $id', async () => {
    const { rep, req, start } = await pair()
    rep.on('who', ({ head }) => ({
      trace: head.trace,
      hasId: typeof head.$id === 'number',
      dlAhead: (head.$dl as number) - Date.now() > 0,
    }))
    await start()
    const reply = await req.request('who', null, { head: { trace: 't-1' } })
    expect(reply.body).toEqual({ trace: 't-1', hasId: true, dlAhead: true })
    expect(typeof reply.head.$re).toBe('number')
  })

  it('rejects with the remote error name, code and message; the stack only when the route opts in', async () => {
    const { rep, req, start } = await pair({ exposeErrorStacks: true })
    class QuotaError extends Error {
      code = 'E_QUOTA'
      override name = 'QuotaError'
    }
    rep.on('coded', () => {
      throw new QuotaError('over quota')
    })
    rep.on('plain', async () => {
      throw new Error('boom')
    })
    const errors: unknown[] = []
    rep.on('thrown-string', () => {
      throw 'just a string'
    })
    await start()
    const coded = req.request('coded', null)
    await expect(coded).rejects.toBeInstanceOf(RemoteError)
    await expect(coded).rejects.toMatchObject({ code: 'E_QUOTA', name: 'QuotaError', message: 'over quota' })
    const err = (await req.request('coded', null).catch((e) => e)) as RemoteError
    expect(err.remoteStack).toContain('over quota')
    await expect(req.request('plain', null)).rejects.toMatchObject({
      code: 'DD_ERR_HANDLER',
      message: 'boom',
    })
    await expect(req.request('thrown-string', null)).rejects.toMatchObject({
      code: 'DD_ERR_HANDLER',
      message: 'just a string',
    })
    expect(errors).toEqual([])
    expect(rep.stats.errors).toBe(4)
  })

  it('sends no stack to the requester by default', async () => {
    const { rep, req, start } = await pair()
    rep.on('fail', () => {
      throw new Error('secret path /srv/app')
    })
    await start()
    const err = (await req.request('fail', null).catch((e) => e)) as RemoteError
    expect(err).toBeInstanceOf(RemoteError)
    expect(err.message).toBe('secret path /srv/app')
    expect(err.remoteStack).toBeUndefined()
  })

  it('survives handlers that throw or reject with anything: null, undefined, objects without a prototype', async () => {
    const { rep, req, start, node } = await pair()
    const thrown: unknown[] = [
      null,
      undefined,
      42,
      Object.create(null),
      { code: 'E_PLAIN', message: 'plain object' },
      { code: 7 },
    ]
    thrown.forEach((value, i) => {
      rep.on(`sync${i}`, () => {
        throw value
      })
      rep.on(`async${i}`, () => Promise.reject(value))
    })
    const handlerErrors: unknown[] = []
    node.events.on('handler:error', ({ error }) => void handlerErrors.push(error))
    await start()
    for (let i = 0; i < thrown.length; i++) {
      for (const kind of ['sync', 'async']) {
        const err = await req.request(`${kind}${i}`, null).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(err).toBeInstanceOf(RemoteError)
        expect((err as RemoteError).code).toBe(i === 4 ? 'E_PLAIN' : 'DD_ERR_HANDLER')
      }
    }
    expect(handlerErrors).toHaveLength(thrown.length * 2)
    expect(rep.stats.errors).toBe(thrown.length * 2)
    expect((await req.request('missing', null).catch((e) => e)).code).toBe('DD_ERR_NO_HANDLER')
  })

  it('answers an unknown name with DD_ERR_NO_HANDLER, and the node keeps serving', async () => {
    const { rep, req, start } = await pair()
    rep.on('ok', () => 'fine')
    await start()
    await expect(req.request('missing', null)).rejects.toMatchObject({ code: 'DD_ERR_NO_HANDLER' })
    expect((await req.request('ok', null)).body).toBe('fine')
    expect(rep.stats.unhandled).toBe(1)
  })

  it('times out with DD_ERR_TIMEOUT when nobody answers, and counts it', async () => {
    const { rep, req, start } = await pair({ timeoutMs: 50 })
    rep.on('hang', () => new Promise(() => {}))
    await start()
    await expect(req.request('hang', null)).rejects.toMatchObject({ code: 'DD_ERR_TIMEOUT', timeoutMs: 50 })
    await expect(req.request('hang', null, { timeoutMs: 20 })).rejects.toMatchObject({ timeoutMs: 20 })
    expect(req.stats.timeouts).toBe(2)
    expect(req.pendingRequests).toBe(0)
  })

  it('times out requests that wait with no responder at all', async () => {
    const node = new Node()
    onTestFinished(() => {
      node.destroy()
    })
    const req = node.route('req', { type: 'req', connect: addr(), timeoutMs: 30 })
    await node.start()
    await expect(req.request('anyone', null)).rejects.toMatchObject({ code: 'DD_ERR_TIMEOUT' })
  })

  it('fires each timeout on time with fake timers, mixed timeout values', async () => {
    vi.useFakeTimers()
    const { rep, req, start } = await pair()
    rep.on('hang', () => new Promise(() => {}))
    await start()
    const settled: string[] = []
    const track = (label: string, p: Promise<unknown>) =>
      p.catch((e) => void settled.push(`${label}:${e.code}`))
    const all = [
      track('300', req.request('hang', null, { timeoutMs: 300 })),
      track('100', req.request('hang', null, { timeoutMs: 100 })),
      track('200', req.request('hang', null, { timeoutMs: 200 })),
    ]
    await vi.advanceTimersByTimeAsync(150)
    expect(settled).toEqual(['100:DD_ERR_TIMEOUT'])
    await vi.advanceTimersByTimeAsync(200)
    await Promise.all(all)
    expect(settled).toEqual(['100:DD_ERR_TIMEOUT', '200:DD_ERR_TIMEOUT', '300:DD_ERR_TIMEOUT'])
  })

  it('aborts with DD_ERR_ABORTED, before and after sending', async () => {
    const { rep, req, start } = await pair()
    rep.on('hang', () => new Promise(() => {}))
    await start()
    const ac = new AbortController()
    const p = req.request('hang', null, { signal: ac.signal })
    ac.abort(new Error('user gave up'))
    await expect(p).rejects.toMatchObject({ code: 'DD_ERR_ABORTED' })
    await expect(req.request('hang', null, { signal: ac.signal })).rejects.toMatchObject({
      code: 'DD_ERR_ABORTED',
    })
    expect(req.pendingRequests).toBe(0)
  })

  it('limits handlers in flight to `concurrency`: request N+1 reaches no handler until one finishes', async () => {
    const { rep, req, start } = await pair({ concurrency: 2 })
    const started: number[] = []
    const gates: (() => void)[] = []
    rep.on('work', async ({ body }) => {
      started.push(body as number)
      await new Promise<void>((r) => gates.push(r))
      return body
    })
    await start()
    const replies = [0, 1, 2, 3].map((i) => req.request('work', i))
    // Let every delivery that can happen happen: the inproc queues drain on microtasks.
    for (let i = 0; i < 5; i++) await tick()
    expect(started).toEqual([0, 1])
    // The route stopped reading: requests 2 and 3 were not even taken off the queue.
    expect(rep.stats.messagesIn).toBe(2)
    expect(rep.inflight).toBe(2)
    gates[0]()
    expect((await replies[0]).body).toBe(0)
    for (let i = 0; i < 5; i++) await tick()
    expect(started).toEqual([0, 1, 2])
    gates[1]()
    gates[2]()
    for (let i = 0; i < 5; i++) await tick()
    expect(started).toEqual([0, 1, 2, 3])
    gates[3]()
    expect((await Promise.all(replies)).map((r) => r.body)).toEqual([0, 1, 2, 3])
  })

  it('refuses request() on a route that cannot correlate', async () => {
    const node = new Node()
    onTestFinished(() => {
      node.destroy()
    })
    const push = node.route('push', { type: 'push', bind: addr() })
    await node.start()
    await expect(push.request('x', null)).rejects.toThrow(/request\(\) needs req or dealer/)
  })
})
