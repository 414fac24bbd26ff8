import { describe, expect, it } from 'vitest'
import { estimateBytes, Outbox } from '../src/outbox.js'

const env = (n: number) => ({ name: 'n', head: {}, body: n })

describe('Outbox', () => {
  it('admits up to its capacity, then queues waiters in order and admits them as room appears', async () => {
    const box = new Outbox(2)
    expect(box.hasRoom()).toBe(true)
    box.push(env(1), undefined)
    box.push(env(2), undefined)
    expect(box.hasRoom()).toBe(false)
    const order: number[] = []
    const w3 = box.wait(env(3), undefined).then(() => order.push(3))
    const w4 = box.wait(env(4), undefined).then(() => order.push(4))
    expect(box.length).toBe(4)
    box.envelopes.shift()
    box.targets.shift()
    box.refill()
    await w3
    expect(order).toEqual([3])
    expect(box.hasRoom()).toBe(false)
    box.envelopes.shift()
    box.targets.shift()
    box.refill()
    await w4
    expect([...box.envelopes].map((e) => e.body)).toEqual([3, 4])
  })

  it('clear() drops everything, rejects waiters and counts both', async () => {
    const box = new Outbox(1)
    box.push(env(1), undefined)
    const waiting = box.wait(env(2), [new Uint8Array([1])])
    expect(box.clear(new Error('gone'))).toBe(2)
    await expect(waiting).rejects.toThrow('gone')
    expect(box.length).toBe(0)
    expect(box.hasRoom()).toBe(true)
  })

  it('is bounded in bytes too: past maxBytes a sender waits, even with room in envelopes; one always fits', async () => {
    const big = (n: number) => ({ name: 'b', head: {}, body: new Uint8Array(1000 * n) })
    expect(estimateBytes(big(1))).toBeGreaterThanOrEqual(1000)
    expect(
      estimateBytes({ name: 'o', head: {}, body: { a: 'x'.repeat(500), b: new Uint8Array(500) } }),
    ).toBeGreaterThan(1000)
    const box = new Outbox(100, 2500)
    box.push(big(5), undefined) // larger than the bound alone: admitted, as one always is
    expect(box.hasRoom()).toBe(false)
    let admitted = false
    const waiting = box.wait(big(1), undefined).then(() => {
      admitted = true
    })
    box.refill()
    await Promise.resolve()
    expect(admitted).toBe(false)
    box.take()
    expect(box.bytes).toBe(0)
    box.refill()
    await waiting
    expect(admitted).toBe(true)
    expect(box.bytes).toBe(estimateBytes(big(1)))
  })
})
