import { MsgpackCodec } from '@dripdrop/codec'
import { describe, expect, it, onTestFinished } from 'vitest'
import { Dealer } from 'zeromq'
import { decodeMessage, encodeMessage, PROTOCOL_VERSION, type RunMessage } from '../src/index.js'
import { pool, remoteWorker } from './helpers.js'

// Frames are bounded by bytes in both directions: what a pool dispatches to one worker in one tick, and what a
// worker finishes in one tick, is cut into frames of at most maxMessageBytes; a task whose args or result alone
// do not fit fails alone with DD_ERR_ENCODE_TOO_LARGE. (Before, both crashed their process from a microtask.)

const codec = new MsgpackCodec()
const LOOPBACK = 'tcp://127.0.0.1:*'
const MiB = 1024 * 1024

async function hello(address: string, slots: number): Promise<Dealer> {
  const d = new Dealer({ linger: 0 })
  onTestFinished(() => d.close())
  d.connect(address)
  await d.send(encodeMessage(codec, { type: 'hello', v: PROTOCOL_VERSION, slots, tasks: ['echo'], pid: 1 }))
  const [welcome] = await d.receive()
  expect(decodeMessage(codec, welcome)).toMatchObject({ type: 'welcome' })
  return d
}

describe('frames bounded by bytes', () => {
  it('a peer claiming 1,000,000 slots gets at most maxWorkerConcurrency tasks', async () => {
    const p = await pool({ threads: 0, listen: LOOPBACK })
    await hello(p.endpoint!, 1_000_000)
    expect(p.stats).toMatchObject({ workers: 1, slots: 256 })
    const tasks = Array.from({ length: 300 }, (_, i) => p.defer('echo', i))
    for (const t of tasks) t.catch(() => {})
    // The task past the cap stays queued: the pool dispatched exactly 256.
    await expect(p.defer('echo', 0, { wait: false, queueTimeoutMs: 1 })).rejects.toBeDefined()
    expect(p.stats).toMatchObject({ inFlight: 256, queued: 44 })
  })

  it('2,000 tasks of 10 KB dispatched in one tick to one worker leave in frames of at most maxMessageBytes', async () => {
    const max = 1 * MiB
    const p = await pool({ threads: 0, listen: LOOPBACK, maxMessageBytes: max, maxWorkerConcurrency: 2000 })
    const arg = 'x'.repeat(10_000)
    const tasks = Array.from({ length: 2000 }, () => p.defer('echo', arg))
    for (const t of tasks) t.catch(() => {})
    const d = await hello(p.endpoint!, 2000)
    let received = 0
    let frames = 0
    while (received < 2000) {
      const [frame] = await d.receive()
      expect(frame.byteLength).toBeLessThanOrEqual(max)
      const msg = decodeMessage(codec, frame)
      if (msg.type !== 'run') continue
      frames++
      received += (msg as RunMessage).tasks.length / 3
    }
    expect(received).toBe(2000)
    expect(frames).toBeGreaterThanOrEqual(20) // 20 MB of args in frames of 1 MiB
    expect(p.stats.inFlight).toBe(2000)
  })

  it('a task whose args alone exceed maxMessageBytes fails with DD_ERR_ENCODE_TOO_LARGE; the others run', async () => {
    const p = await pool({ threads: 0, listen: LOOPBACK, maxMessageBytes: MiB })
    await remoteWorker({ connect: p.endpoint!, concurrency: 4, maxMessageBytes: MiB })
    const big = p.defer('echo', new Uint8Array(MiB))
    const small = p.defer('inc', 1)
    await expect(big).rejects.toMatchObject({ code: 'DD_ERR_ENCODE_TOO_LARGE' })
    expect(await small).toBe(2)
  })

  it('four async tasks returning 6 MiB each in one tick come back in several frames; a 17 MiB result fails alone', async () => {
    const p = await pool({ threads: 0, listen: LOOPBACK })
    const w = await remoteWorker({ connect: p.endpoint!, concurrency: 8 })
    const four = await Promise.all(Array.from({ length: 4 }, () => p.defer('big', { mib: 6, ms: 20 })))
    for (const r of four) {
      expect(r).toBeInstanceOf(Uint8Array)
      expect((r as Uint8Array).byteLength).toBe(6 * MiB)
    }
    await expect(p.defer('big', { mib: 17, ms: 0 })).rejects.toMatchObject({
      code: 'DD_ERR_ENCODE_TOO_LARGE',
    })
    expect(await p.defer('inc', 1)).toBe(2)
    expect(w.state).toBe('open')
  })

  it('a batch frame ([2, env…]) of pool envelopes is read envelope by envelope (docs/protocol.md §10.1); the pool sends one envelope per frame', async () => {
    const p = await pool({ threads: 0, listen: LOOPBACK })
    const d = new Dealer({ linger: 0 })
    onTestFinished(() => d.close())
    d.connect(p.endpoint!)
    const hello = { name: 'hello', head: { v: PROTOCOL_VERSION }, body: { slots: 2, tasks: [], pid: 1 } }
    const ping = { name: 'ping', head: { v: PROTOCOL_VERSION }, body: null }
    await d.send(codec.encodeBatch([hello, ping]))
    expect(decodeMessage(codec, (await d.receive())[0])).toMatchObject({ type: 'welcome' })
    expect(p.stats).toMatchObject({ badFrames: 0, workers: 1 })
    // Two tasks dispatched in the same tick leave as one `run` envelope in a frame of its own, never a batch.
    const tasks = [p.defer('echo', 1), p.defer('echo', 2)]
    for (const t of tasks) t.catch(() => {})
    const [frame] = await d.receive()
    expect(frame[0]).toBe(0x94) // [1, name, head, body]: a single envelope
    expect(decodeMessage(codec, frame)).toMatchObject({
      type: 'run',
      tasks: [expect.any(Number), 'echo', expect.anything(), expect.any(Number), 'echo', expect.anything()],
    })
  })

  it('a worker that stops reading is dropped once its frames pass maxPeerQueueBytes: no run is lost, its tasks run elsewhere', async () => {
    const KiB = 1024
    const p = await pool({
      threads: 0,
      listen: LOOPBACK,
      maxMessageBytes: 64 * KiB,
      // Room for what a reading worker of 4 slots is ever sent at once (4 × 32 KB), not for 1000 tasks.
      maxPeerQueueBytes: 1024 * KiB,
      maxWorkerConcurrency: 1000,
      // The deaf peer never pings: heartbeats must not be what drops it.
      heartbeatIntervalMs: 60_000,
    })
    const down = new Promise<unknown>((resolve) => p.on('worker:down', (_id, cause) => resolve(cause)))
    // A raw worker that asks for 1000 tasks and never reads: 1000 × 32 KB of runs cannot all fit in its
    // pipes (16 frames of 64 KiB), the kernel's buffers and 1 MiB parked in the route.
    const deaf = new Dealer({ linger: 0, receiveHighWaterMark: 1 })
    onTestFinished(() => deaf.close())
    deaf.connect(p.endpoint!)
    await deaf.send(
      encodeMessage(codec, { type: 'hello', v: PROTOCOL_VERSION, slots: 1000, tasks: [], pid: 1 }),
    )
    const arg = 'y'.repeat(32 * KiB)
    const tasks = Array.from({ length: 1000 }, (_, i) => p.defer('echo', [i, arg]))
    expect(await down).toMatchObject({ code: 'DD_ERR_UNROUTABLE' })
    expect(p.stats.workers).toBe(0)
    // Every task is still owed: a real worker joins and each caller gets its own value.
    await remoteWorker({ connect: p.endpoint!, maxMessageBytes: 64 * KiB })
    const results = (await Promise.all(tasks)) as [number, string][]
    expect(results.map((r) => r[0])).toEqual(Array.from({ length: 1000 }, (_, i) => i))
  })
})
