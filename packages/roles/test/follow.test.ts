import { EventEmitter } from 'node:events'
import { Node } from '@dripdrop/core'
import { describe, expect, it, onTestFinished } from 'vitest'
import { follow } from '../src/follow.js'
import type { ResolvedAddresses } from '../src/topology/types.js'

/** The part of a role handle follow() reads: addresses and a `change` event (what role() gives over IPC). */
class Addresses extends EventEmitter {
  addresses: ResolvedAddresses
  constructor(work: string[]) {
    super()
    this.addresses = { bind: {}, connect: { work } }
  }
  move(work: string[]): void {
    this.addresses = { bind: {}, connect: { work } }
    this.emit('change', this.addresses)
  }
}

async function until(predicate: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms`)
    await new Promise((r) => setTimeout(r, 2))
  }
}

describe('follow()', () => {
  it('keeps a pull route connected to the current gateways as they move, without restarting it', async () => {
    const node = new Node({ name: 'follow' })
    onTestFinished(() => {
      node.destroy()
    })
    const gw = ['a', 'b', 'c'].map((n) =>
      node.route(`gw-${n}`, { type: 'push', bind: `inproc://follow-${n}` }),
    )
    const got: string[] = []
    const me = new Addresses(['inproc://follow-a'])
    const work = node
      .route('work', { type: 'pull', connect: me.addresses.connect.work })
      .on('job', ({ body }) => {
        got.push(body as string)
      })
    await node.start()
    const f = follow(work, me, 'work')
    onTestFinished(() => f.close())
    await f.synced
    await gw[0].send('job', 'a1')
    await until(() => got.length === 1)

    me.move(['inproc://follow-b', 'inproc://follow-c'])
    await f.synced
    expect(work.connects).toEqual(['inproc://follow-b', 'inproc://follow-c'])
    await gw[1].send('job', 'b1')
    await gw[2].send('job', 'c1')
    await until(() => got.length === 3)
    expect(got.sort()).toEqual(['a1', 'b1', 'c1'])
    expect(f.stats).toEqual({ connects: 2, disconnects: 1, errors: 0 })
    expect(work.state).toBe('open')
  })

  it('refuses a connect name the role does not have', () => {
    const node = new Node({ name: 'follow2' })
    onTestFinished(() => {
      node.destroy()
    })
    const work = node.route('work', { type: 'pull', connect: 'inproc://x' })
    expect(() => follow(work, new Addresses([]), 'jobs')).toThrow(/connects to no "jobs"/)
  })
})
