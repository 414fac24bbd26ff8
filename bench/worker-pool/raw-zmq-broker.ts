// A raw zeromq.js ROUTER broker with credit, for the remote benchmark: what a competent user writes by hand in
// about 60 lines. Workers announce a credit; each task goes, as one message, to the worker with the most free
// credit; the reply returns the credit. One send in flight at a time, as zeromq.js v6 requires.
import { Router } from 'zeromq'

export interface RawBroker {
  endpoint: string
  call(arg: number): Promise<number>
  workers(): number
  close(): void
}

export async function rawBroker(): Promise<RawBroker> {
  const router = new Router({ sendHighWaterMark: 100_000, receiveHighWaterMark: 100_000 })
  await router.bind('tcp://127.0.0.1:*')
  const credit = new Map<string, { id: Buffer; free: number }>()
  const pending: [number, string][] = []
  const waiting = new Map<number, (v: number) => void>()
  const outbox: Buffer[][] = []
  let nextId = 0
  let writing = false
  const write = async () => {
    writing = true
    while (outbox.length > 0) await router.send(outbox.shift()!)
    writing = false
  }
  const dispatch = () => {
    while (pending.length > 0) {
      let best: { id: Buffer; free: number } | undefined
      for (const w of credit.values()) if (w.free > 0 && (!best || w.free > best.free)) best = w
      if (!best) break
      const [id, arg] = pending.shift()!
      best.free--
      const idBuf = Buffer.allocUnsafe(4)
      idBuf.writeUInt32LE(id)
      outbox.push([best.id, idBuf, Buffer.from(arg)])
    }
    if (!writing && outbox.length > 0) void write()
  }
  void (async () => {
    for await (const [wid, a, b] of router) {
      const key = wid.toString('hex')
      if (a.toString() === 'ready') credit.set(key, { id: wid, free: Number(b.toString()) })
      else {
        credit.get(key)!.free++
        const id = a.readUInt32LE(0)
        waiting.get(id)?.(Number(b.toString()))
        waiting.delete(id)
      }
      dispatch()
    }
  })().catch(() => {})
  return {
    endpoint: router.lastEndpoint!,
    call(arg) {
      const id = nextId++ >>> 0
      const p = new Promise<number>((resolve) => waiting.set(id, resolve))
      pending.push([id, String(arg)])
      dispatch()
      return p
    },
    workers: () => credit.size,
    close: () => router.close(),
  }
}
