/**
 * The cost of CURVE (issue 10): @dripdrop/zmq with CURVE on (a server key pair, a client key pair, an
 * allow-list checked through ZAP) against the same routes with CURVE off, in the same run, across two
 * processes on 127.0.0.1 (the far side is this file started with `child`):
 *
 * 1. push -> pull, 100-byte bodies, `await send` per message; rate at the receiver (first -> last message).
 * 2. req -> rep at concurrency 100, 100-byte bodies echoed; calls/s.
 *
 * Turns alternate off/on three times and each side reports its median. ratio = on / off (1.00 = free).
 *
 * Run: node --import tsx bench/zmq-curve.bench.ts   (or `pnpm bench zmq-curve`).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Node } from '../packages/core/dist/index.js'
import { generateKeyPair, zmqTransport } from '../packages/zmq/dist/index.js'
import { closedLoop, compare, section } from './harness.js'

const MS = 1500
const TURNS = 3
const BODY = new Uint8Array(100).fill(7)
const SELF = fileURLToPath(import.meta.url)

interface Keys {
  server: { publicKey: string; secretKey: string }
  client: { publicKey: string; secretKey: string }
}

// ---- the far side: a pull or rep route, CURVE server when keys are given ----
async function far(pattern: 'push' | 'reqrep', keys: Keys | undefined): Promise<void> {
  const node = new Node({ name: 'far', transports: [zmqTransport()] })
  const curve = keys === undefined ? undefined : { ...keys.server, allow: [keys.client.publicKey] }
  if (pattern === 'push') {
    let count = 0
    let first = 0
    let last = 0
    node.route('in', { type: 'pull', bind: 'tcp://127.0.0.1:*', curve }).on('*', ({ name }) => {
      if (name === 'end') {
        process.send!({ count, ms: last - first })
        count = 0
        return
      }
      last = performance.now()
      if (count++ === 0) first = last
    })
  } else {
    node.route('in', { type: 'rep', bind: 'tcp://127.0.0.1:*', curve }).on('echo', ({ body }) => body)
  }
  await node.start()
  process.send!({ endpoint: node.get('in')!.endpoints[0] })
}

// ---- the near side ----
function start(pattern: string, keys: Keys | undefined): Promise<{ proc: ChildProcess; endpoint: string }> {
  // Keys over the IPC channel, not argv (argv shows in `ps`).
  const proc = fork(SELF, ['child', pattern], { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
  proc.send({ keys: keys ?? null })
  return new Promise((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`far side exited with ${code}`)))
    proc.once('message', (m: { endpoint: string }) => resolve({ proc, endpoint: m.endpoint }))
  })
}

async function stop(proc: ChildProcess): Promise<void> {
  const exited = new Promise((r) => proc.once('exit', r))
  proc.kill('SIGKILL')
  await exited
}

async function pushTurn(keys: Keys | undefined): Promise<number> {
  const { proc, endpoint } = await start('push', keys)
  const node = new Node({ name: 'near', transports: [zmqTransport()] })
  const curve = keys === undefined ? undefined : { ...keys.client, serverKey: keys.server.publicKey }
  const push = node.route('out', { type: 'push', connect: endpoint, curve })
  await node.start()
  await push.connected()
  const report = new Promise<{ count: number; ms: number }>((r) => proc.once('message', r as never))
  const end = performance.now() + MS
  let sent = 0
  while (performance.now() < end && sent < 5_000_000) {
    for (let i = 0; i < 64; i++) await push.send('m', BODY)
    sent += 64
  }
  await push.send('end', null)
  const { count, ms } = await report
  await node.close()
  await stop(proc)
  return (count * 1000) / ms
}

async function reqrepTurn(keys: Keys | undefined): Promise<number> {
  const { proc, endpoint } = await start('reqrep', keys)
  const node = new Node({ name: 'near', transports: [zmqTransport()] })
  const curve = keys === undefined ? undefined : { ...keys.client, serverKey: keys.server.publicKey }
  const req = node.route('out', { type: 'req', connect: endpoint, curve, timeoutMs: 30_000 })
  await node.start()
  await req.connected()
  const r = await closedLoop(() => req.request('echo', BODY), 100, MS)
  await node.close()
  await stop(proc)
  return r.rate
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

async function main(): Promise<void> {
  const keys: Keys = { server: generateKeyPair(), client: generateKeyPair() }
  section('zmq CURVE cost: on vs off (ratio = on / off)')
  for (const [bench, unit, turn] of [
    ['zmq.curve.push.100B', 'msg/s', pushTurn],
    ['zmq.curve.reqrep.c100', 'calls/s', reqrepTurn],
  ] as const) {
    const off: number[] = []
    const on: number[] = []
    for (let i = 0; i < TURNS; i++) {
      off.push(await turn(undefined))
      on.push(await turn(keys))
    }
    compare({ bench, unit, dripdrop: median(on), peer: 'curve-off', peerValue: median(off) })
  }
}

if (process.argv[2] === 'child') {
  const { keys } = await new Promise<{ keys: Keys | null }>((r) => process.once('message', r as never))
  await far(process.argv[3] as 'push' | 'reqrep', keys ?? undefined)
} else {
  await main()
  process.exit(0)
}
