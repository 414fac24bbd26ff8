import { Node } from '@dripdrop/core'
import { zmqTransport } from '@dripdrop/zmq'
import { onTestFinished } from 'vitest'
import { Collector, type CollectorOptions } from '../src/index.js'

/** Polls `check` every 10 ms until it returns a truthy value; fails after `timeoutMs` with `what`. */
export async function until<T>(
  check: () => T | undefined | false,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const end = Date.now() + timeoutMs
  for (;;) {
    const v = check()
    if (v) return v
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** A started collector on a free loopback port, closed after the test. */
export async function startCollector(options: Partial<CollectorOptions> = {}): Promise<Collector> {
  const collector = new Collector({ bind: 'tcp://127.0.0.1:*', ...options })
  onTestFinished(() => {
    collector.destroy()
  })
  await collector.start()
  return collector
}

/** A started node with a zmq push → pull pair (and a rep route), closed after the test. */
export async function startApp(name = 'app') {
  const node = new Node({ name, transports: [zmqTransport()] })
  onTestFinished(() => {
    node.destroy()
  })
  const pull = node.route('work', { type: 'pull', bind: 'tcp://127.0.0.1:*' })
  await node.start()
  const sender = new Node({ name: `${name}-sender`, transports: [zmqTransport()] })
  onTestFinished(() => {
    sender.destroy()
  })
  const push = sender.route('jobs', { type: 'push', connect: pull.endpoints[0] })
  await sender.start()
  return { node, sender, pull, push }
}
