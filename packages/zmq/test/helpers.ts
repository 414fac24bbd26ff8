import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Node, type NodeOptions } from '@dripdrop/core'
import { onTestFinished } from 'vitest'
import { type ZmqOptions, zmqTransport } from '../src/index.js'

export const PROTOS = ['tcp', 'ipc'] as const
export type Proto = (typeof PROTOS)[number]

let ipcDir: string | undefined
let seq = 0

/** A bind address for a protocol: an ephemeral tcp port, or a fresh ipc path. */
export function bindAddress(proto: Proto): string {
  if (proto === 'tcp') return 'tcp://127.0.0.1:*'
  ipcDir ??= mkdtempSync(join(tmpdir(), 'dd-zmq-'))
  return `ipc://${ipcDir}/s-${process.pid}-${++seq}.sock`
}

export function removeIpcDir(): void {
  if (ipcDir) rmSync(ipcDir, { recursive: true, force: true })
  ipcDir = undefined
}

/** A node with the zmq transport, destroyed when the test ends. */
export function zmqNode(name: string, zmq?: ZmqOptions, options: NodeOptions = {}): Node {
  const node = new Node({ name, transports: [zmqTransport(zmq)], ...options })
  onTestFinished(() => {
    node.destroy()
  })
  return node
}

/** Resolves once `predicate()` holds, checking on every macrotask turn; rejects after `ms`. */
export async function until(predicate: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 2))
  }
}
