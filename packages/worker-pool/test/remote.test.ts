import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MsgpackCodec } from '@dripdrop/codec'
import { describe, expect, it, onTestFinished } from 'vitest'
import { Dealer, Router } from 'zeromq'
import {
  createPool,
  decodeMessage,
  encodeMessage,
  PROTOCOL_VERSION,
  RemoteWorker,
  STATUS_ERROR,
} from '../src/index.js'
import type { RemoteError } from '../src/index.js'
import { pool, remoteWorker, TASKS, until } from './helpers.js'

const codec = new MsgpackCodec()
const LOOPBACK = 'tcp://127.0.0.1:*'

function marker(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dd-remote-'))
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
  return join(dir, 'aborted')
}

/** A raw DEALER that speaks the protocol by hand, for peers that misbehave. */
function rawDealer(address: string): Dealer {
  const d = new Dealer({ linger: 0 })
  onTestFinished(() => d.close())
  d.connect(address)
  return d
}

async function receive(socket: Dealer): Promise<ReturnType<typeof decodeMessage>> {
  const [frame] = await socket.receive()
  return decodeMessage(codec, frame)
}

describe('Pool with remote workers', () => {
  it('runs tasks on a remote worker with the same call as on a thread', async () => {
    const p = await pool({ threads: 0, listen: LOOPBACK })
    await remoteWorker({ connect: p.endpoint!, concurrency: 4 })
    expect(await p.defer('inc', 41)).toBe(42)
    const results = await Promise.all(Array.from({ length: 2000 }, (_, i) => p.defer('add', { a: i, b: 1 })))
    expect(results).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1))
    const err = (await p
      .defer('fail', { message: 'far away', code: 'E_FAR' })
      .catch((e: RemoteError) => e)) as RemoteError
    expect(err).toMatchObject({ name: 'RangeError', message: 'far away', code: 'E_FAR' })
    expect(err.remoteStack).toContain('fixtures/tasks.mjs')
    await expect(p.defer('noSuchTask', 1)).rejects.toMatchObject({ code: 'DD_ERR_UNKNOWN_TASK' })
    expect(p.stats).toMatchObject({ workers: 1, slots: 4, completed: 2001, failed: 2 })
  })

  it('mixes local threads and remote workers behind one defer()', async () => {
    const p = await pool({ tasks: TASKS, threads: 1, concurrencyPerThread: 1, listen: LOOPBACK })
    await remoteWorker({ connect: p.endpoint!, concurrency: 1 })
    await until(() => p.stats.workers === 2)
    const ids = await Promise.all(Array.from({ length: 6 }, () => p.defer('threadId', { ms: 20 })))
    // Both run on worker threads (the remote worker's own thread too), two distinct ones.
    expect(new Set(ids).size).toBe(2)
    expect(ids).not.toContain(0)
  })

  it('holds tasks while no worker is there and runs them when one joins', async () => {
    const p = await pool({ threads: 0, listen: LOOPBACK })
    const held = Array.from({ length: 10 }, (_, i) => p.defer('inc', i))
    await until(() => p.stats.queued === 10)
    await remoteWorker({ connect: p.endpoint!, concurrency: 2 })
    expect(await Promise.all(held)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1))
  })

  it('rejects a held task when its queueTimeoutMs passes with no worker', async () => {
    const p = await pool({ threads: 0, listen: LOOPBACK })
    await expect(p.defer('inc', 1, { queueTimeoutMs: 50 })).rejects.toMatchObject({ code: 'DD_ERR_TIMEOUT' })
    expect(p.stats.queued).toBe(0)
  })

  it('on timeout tells the remote worker to abandon the task: its signal aborts, the slot frees', async () => {
    const p = await pool({ threads: 0, listen: LOOPBACK })
    const w = await remoteWorker({ connect: p.endpoint!, concurrency: 1 })
    const m = marker()
    await expect(
      p.defer('waitForAbort', { id: 'remote-timeout', marker: m }, { timeoutMs: 50 }),
    ).rejects.toMatchObject({
      code: 'DD_ERR_TIMEOUT',
    })
    await until(() => existsSync(m))
    expect(w.running).toBe(0)
    expect(await p.defer('inc', 1)).toBe(2)
  })

  it('cancels a running remote task by AbortSignal', async () => {
    const p = await pool({ threads: 0, listen: LOOPBACK })
    await remoteWorker({ connect: p.endpoint!, concurrency: 1 })
    const ac = new AbortController()
    const m = marker()
    const running = p.defer('waitForAbort', { id: 'remote-abort', marker: m }, { signal: ac.signal })
    await until(() => p.stats.inFlight === 1)
    ac.abort()
    await expect(running).rejects.toMatchObject({ code: 'DD_ERR_ABORTED' })
    await until(() => existsSync(m))
  })

  it('rejects args msgpack cannot carry with DD_ERR_ENCODE_INVALID, other tasks go on', async () => {
    const p = await pool({ threads: 0, listen: LOOPBACK })
    await remoteWorker({ connect: p.endpoint!, concurrency: 2 })
    const bad = p.defer('echo', { f: () => 1 })
    const good = p.defer('inc', 1)
    await expect(bad).rejects.toMatchObject({ code: 'DD_ERR_ENCODE_INVALID' })
    expect(await good).toBe(2)
  })

  it('a worker given args that do not decode answers with a coded error for that task only', async () => {
    const router = new Router({ linger: 0 })
    onTestFinished(() => router.close())
    await router.bind(LOOPBACK)
    const w = new RemoteWorker({ connect: router.lastEndpoint!, tasks: TASKS, threads: 1, concurrency: 2 })
    onTestFinished(() => w.close())
    const started = w.start()
    const [peer, hello] = await router.receive()
    expect(decodeMessage(codec, hello)).toMatchObject({ type: 'hello', v: PROTOCOL_VERSION, slots: 2 })
    await router.send([
      peer,
      encodeMessage(codec, { type: 'welcome', v: PROTOCOL_VERSION, heartbeatMs: 1000 }),
    ])
    await started
    const good = codec.encodeValue(1)
    const garbage = Uint8Array.of(0xc1) // never valid msgpack
    await router.send([
      peer,
      encodeMessage(codec, { type: 'run', tasks: [1, 'inc', garbage, 2, 'inc', good] }),
    ])
    // Results may come in more than one `done` (a worker flushes long batches every few ms): gather them.
    const r: unknown[] = []
    while (r.length < 6) {
      const msg = decodeMessage(codec, (await router.receive())[1])
      if (msg.type === 'done') r.push(...msg.results)
    }
    expect(r[0]).toBe(1)
    expect(r[1]).toBe(STATUS_ERROR)
    expect(codec.decodeValue(r[2] as Uint8Array)).toMatchObject({ code: 'DD_ERR_DECODE_MALFORMED' })
    expect(r.slice(3, 5)).toEqual([2, 0])
    expect(codec.decodeValue(r[5] as Uint8Array)).toBe(2)
  })

  it('a result that does not decode rejects that caller with a coded error, the pool goes on', async () => {
    const p = await pool({ threads: 0, listen: LOOPBACK })
    const d = rawDealer(p.endpoint!)
    await d.send(
      encodeMessage(codec, { type: 'hello', v: PROTOCOL_VERSION, slots: 1, tasks: ['inc'], pid: 1 }),
    )
    expect(await receive(d)).toMatchObject({ type: 'welcome', heartbeatMs: 1000 })
    const task = p.defer('inc', 1)
    const run = await receive(d)
    expect(run).toMatchObject({ type: 'run', tasks: [expect.any(Number), 'inc', expect.any(Uint8Array)] })
    const id = (run as { tasks: unknown[] }).tasks[0]
    await d.send(encodeMessage(codec, { type: 'done', results: [id, 0, Uint8Array.of(0x92, 0x01)] }))
    await expect(task).rejects.toMatchObject({ code: 'DD_ERR_DECODE_TRUNCATED' })
  })

  it('refuses a worker speaking another protocol version with DD_ERR_PROTOCOL_VERSION', async () => {
    const p = await pool({ threads: 0, listen: LOOPBACK })
    const d = rawDealer(p.endpoint!)
    await d.send(encodeMessage(codec, { type: 'hello', v: 0, slots: 1, tasks: [], pid: 1 }))
    expect(await receive(d)).toMatchObject({ type: 'refuse', code: 'DD_ERR_PROTOCOL_VERSION' })
    expect(p.stats).toMatchObject({ workers: 0, badFrames: 1 })
  })

  it('a worker whose pool speaks another version fails start() with DD_ERR_PROTOCOL_VERSION', async () => {
    const router = new Router({ linger: 0 })
    onTestFinished(() => router.close())
    await router.bind(LOOPBACK)
    const w = new RemoteWorker({ connect: router.lastEndpoint!, tasks: TASKS, threads: 1 })
    onTestFinished(() => w.close())
    const started = w.start()
    const [peer] = await router.receive()
    const future = codec.encode({ name: 'welcome', head: { v: 99 }, body: { heartbeatMs: 1000 } })
    await router.send([peer, future])
    await expect(started).rejects.toMatchObject({ code: 'DD_ERR_PROTOCOL_VERSION' })
  })

  it('drops garbage frames and frames from unknown peers, counts them, tells strangers to say hello', async () => {
    const p = await pool({ threads: 0, listen: LOOPBACK })
    const errors: unknown[] = []
    p.on('frame:error', (err) => errors.push(err))
    const d = rawDealer(p.endpoint!)
    await d.send(Uint8Array.of(0xde, 0xad, 0xbe, 0xef))
    await d.send(encodeMessage(codec, { type: 'ping' }))
    expect(await receive(d)).toEqual({ type: 'bye' })
    expect(p.stats.badFrames).toBe(2)
    expect(errors).toEqual([expect.objectContaining({ code: expect.stringMatching(/^DD_ERR_DECODE_/) })])
    await remoteWorker({ connect: p.endpoint!, concurrency: 1 })
    expect(await p.defer('inc', 1)).toBe(2)
  })

  it('declares a silent worker dead after missed heartbeats and re-runs its tasks elsewhere', async () => {
    const p = await pool({ threads: 0, listen: LOOPBACK, heartbeatIntervalMs: 100 })
    const downs: string[] = []
    p.on('worker:down', (id) => downs.push(id))
    const d = rawDealer(p.endpoint!)
    await d.send(
      encodeMessage(codec, { type: 'hello', v: PROTOCOL_VERSION, slots: 1, tasks: ['inc'], pid: 1 }),
    )
    await receive(d) // welcome; then it takes a task and never answers nor pings
    const task = p.defer('inc', 1)
    expect(await receive(d)).toMatchObject({ type: 'run' })
    await remoteWorker({ connect: p.endpoint!, concurrency: 1 })
    expect(await task).toBe(2)
    expect(downs).toHaveLength(1)
    expect(p.stats.retried).toBe(1)
  })

  it('a worker comes back to a restarted pool on the same address', async () => {
    const first = await createPool({ threads: 0, listen: LOOPBACK, heartbeatIntervalMs: 50 })
    onTestFinished(() => void first.destroy())
    const address = first.endpoint!
    await remoteWorker({ connect: address, concurrency: 1, reconnectMinMs: 20 })
    expect(await first.defer('inc', 1)).toBe(2)
    await first.close()
    const second = await pool({ threads: 0, listen: address, heartbeatIntervalMs: 50 })
    expect(await second.defer('inc', 2)).toBe(3)
  })
})

describe('RemoteWorker', () => {
  it('destroy() abandons its running tasks at once and returns their count; the pool re-runs them elsewhere', async () => {
    const p = await pool({ threads: 0, listen: LOOPBACK, heartbeatIntervalMs: 100 })
    const w = await remoteWorker({ connect: p.endpoint!, concurrency: 2 })
    const tasks = [p.defer('sleep', { ms: 300, value: 'a' }), p.defer('sleep', { ms: 300, value: 'b' })]
    await until(() => w.running === 2)
    expect(w.destroy()).toBe(2)
    expect(w.state).toBe('closed')
    expect(w.destroy()).toBe(0)
    await remoteWorker({ connect: p.endpoint!, concurrency: 2 })
    expect(await Promise.all(tasks)).toEqual(['a', 'b'])
    expect(p.stats.retried).toBe(2)
  })

  it('reconnects under a new identity when its pool goes silent, backing off', async () => {
    const router = new Router({ linger: 0 })
    onTestFinished(() => router.close())
    await router.bind(LOOPBACK)
    const w = new RemoteWorker({
      connect: router.lastEndpoint!,
      tasks: TASKS,
      threads: 1,
      heartbeatIntervalMs: 30,
      reconnectMinMs: 10,
    })
    onTestFinished(() => w.close())
    const started = w.start()
    const [first, hello] = await router.receive()
    expect(decodeMessage(codec, hello)).toMatchObject({ type: 'hello' })
    await router.send([
      first,
      encodeMessage(codec, { type: 'welcome', v: PROTOCOL_VERSION, heartbeatMs: 30 }),
    ])
    await started
    expect(w.state).toBe('open')
    // Say nothing more: after 3 silent periods the worker gives up on this connection and says hello again.
    let again: Buffer
    for (;;) {
      const [peer, frame] = await router.receive()
      if (decodeMessage(codec, frame).type === 'hello') {
        again = peer
        break
      }
    }
    expect(again.equals(first)).toBe(false)
    expect(w.state).toBe('starting')
  })
})
