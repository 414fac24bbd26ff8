/**
 * @dripdrop/zmq against raw zeromq.js and Moleculer 0.15 (TCP transporter), each pair in the same run,
 * always across two processes on 127.0.0.1 (the far side is bench/zmq/child.ts):
 *
 * 1. one-way push -> pull, 100-byte bodies, `await send` per message: dripdrop (envelope included) vs raw
 *    zeromq.js frames (`sendTimeout: 0`), and vs a raw PUSH that packs each turn's messages into frames
 *    itself. Rate measured at the receiver (first -> last message).
 * 2. request/reply at concurrency 1, 10, 100: dripdrop req/rep vs a raw zeromq.js DEALER/ROUTER echo (as a
 *    competent user writes it: `sendTimeout: 0`, a blocking send only on EAGAIN), the same raw DEALER packing
 *    what queues during a send into one frame itself, and Moleculer's `broker.call` over its TCP transporter.
 *    calls/s and p50 latency.
 * 3. pub/sub fan-out to 4 subscriber processes: envelopes delivered per second, summed over subscribers.
 * 5. libzmq's own floor at concurrency 1: a C DEALER/ROUTER ping-pong (bench/zmq/floor.c, built with `cc` against
 *    libzmq3-dev when both are there) against dripdrop's c1 p50, interleaved, medians of 3.
 * 4. spreading over two uneven workers (1 ms and 10 ms per request, one at a time each), concurrency 8:
 *    dripdrop `req` connected to both (fewest requests in flight) vs a raw zeromq.js DEALER connected to both
 *    (libzmq's blind round robin). p99 latency and calls/s.
 *
 * Run: node --import tsx bench/zmq.bench.ts [push|reqrep|pubsub|spread|floor]   (or `pnpm bench zmq`).
 */
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import moleculer from 'moleculer'
import * as zmq from 'zeromq'
import { Node } from '../packages/core/dist/index.js'
import { zmqTransport } from '../packages/zmq/dist/index.js'
import { closedLoop, compare, measure, section } from './harness.js'

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'zmq/child.ts')
const MS = 1500
const MAX_MESSAGES = 5_000_000
const BODY = new Uint8Array(100).fill(7)
const TEXT = 'x'.repeat(100)
const children = new Set<ChildProcess>()

interface Child {
  proc: ChildProcess
  ready: { endpoint?: string }
  ask<T>(cmd: string): Promise<T>
  probed: Promise<void>
}

async function child(role: string, ...args: string[]): Promise<Child> {
  const proc = fork(CHILD, [role, ...args], { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
  children.add(proc)
  const replies: ((m: any) => void)[] = []
  let onProbe!: () => void
  const probed = new Promise<void>((r) => {
    onProbe = r
  })
  const ready = await new Promise<{ endpoint?: string }>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${role} exited with ${code}`)))
    proc.on('message', (m: any) => {
      if (m.ready) resolve(m)
      else if (m.probed) onProbe()
      else replies.shift()?.(m)
    })
  })
  return {
    proc,
    ready,
    probed,
    ask: <T>(cmd: string) =>
      new Promise<T>((resolve) => {
        replies.push(resolve)
        proc.send({ cmd })
      }),
  }
}

async function stop(c: Child): Promise<void> {
  const exited = new Promise((r) => c.proc.once('exit', r))
  c.proc.kill('SIGKILL')
  await exited
  children.delete(c.proc)
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * A send as a competent zeromq.js user writes it: `sendTimeout: 0` on the socket (no ZMQ_EVENTS check before
 * each send, as dripdrop does), and only on EAGAIN (full pipe) a blocking send.
 */
async function sendOrWait(
  socket: zmq.Push | zmq.Dealer,
  message: zmq.MessageLike | zmq.MessageLike[],
): Promise<void> {
  try {
    await socket.send(message)
  } catch (err) {
    if ((err as { code?: string }).code !== 'EAGAIN') throw err
    socket.sendTimeout = -1
    try {
      await socket.send(message)
    } finally {
      socket.sendTimeout = 0
    }
  }
}

/** Packs messages into one frame: each as [u32 LE length][bytes]. */
function pack(messages: Uint8Array[]): Buffer {
  let size = 0
  for (const m of messages) size += 4 + m.byteLength
  const frame = Buffer.allocUnsafe(size)
  let at = 0
  for (const m of messages) {
    frame.writeUInt32LE(m.byteLength, at)
    frame.set(m, at + 4)
    at += 4 + m.byteLength
  }
  return frame
}

/**
 * A raw PUSH that packs what is sent in one event-loop turn into one frame itself (what a user who wants
 * batching without dripdrop writes): sends resolve at once until 4096 wait, then with the next flush.
 */
function packedPush(endpoint: string): { send: (m: Uint8Array) => Promise<void>; close: () => void } {
  const push = new zmq.Push({ sendTimeout: 0 })
  push.connect(endpoint)
  const queued: Uint8Array[] = []
  let flushing: Promise<void> | undefined
  const flush = async () => {
    while (queued.length > 0) {
      const batch = queued.splice(0, 256)
      await sendOrWait(push, pack(batch))
    }
    flushing = undefined
  }
  return {
    send(m) {
      queued.push(m)
      flushing ??= new Promise<void>((r) => setImmediate(r)).then(flush)
      return queued.length >= 4096 ? flushing : Promise.resolve()
    },
    close: () => push.close(),
  }
}

/** Sends for MS (bounded by MAX_MESSAGES), waits until the receiver has everything, returns its msg/s. */
async function oneWay(pull: Child, sendOne: () => Promise<unknown>): Promise<number> {
  let sent = 0
  const end = performance.now() + MS
  while (sent < MAX_MESSAGES && (sent & 1023 || performance.now() < end)) {
    await sendOne()
    sent++
  }
  const deadline = performance.now() + 30_000
  for (;;) {
    const r = await pull.ask<{ count: number; elapsedMs: number }>('report')
    if (r.count >= sent || performance.now() > deadline) return (r.count * 1000) / r.elapsedMs
    await sleep(20)
  }
}

async function pushPull(): Promise<void> {
  section('push -> pull across 2 processes, 100-byte body, await send per message')
  const rawPull = await child('raw-pull')
  const push = new zmq.Push({ sendTimeout: 0 })
  push.connect(rawPull.ready.endpoint!)
  const raw = await oneWay(rawPull, () => sendOrWait(push, BODY))
  push.close()
  await stop(rawPull)

  const packedPull = await child('raw-pull-packed')
  const packed = packedPush(packedPull.ready.endpoint!)
  const rawPacked = await oneWay(packedPull, () => packed.send(BODY))
  packed.close()
  await stop(packedPull)

  const ddPull = await child('dd-pull')
  const node = new Node({ transports: [zmqTransport()] })
  const route = node.route('out', { type: 'push', connect: ddPull.ready.endpoint! })
  await node.start()
  const dd = await oneWay(ddPull, () => route.send('m', BODY))
  await node.close()
  await stop(ddPull)
  compare({
    bench: 'zmq.push-pull.100B',
    unit: 'msg/s',
    dripdrop: dd,
    peer: 'zeromq.js',
    peerValue: raw,
    target: 2,
  })
  compare({
    bench: 'zmq.push-pull.100B',
    unit: 'msg/s',
    dripdrop: dd,
    peer: 'zeromq.js-packed',
    peerValue: rawPacked,
  })
}

/**
 * A raw DEALER client: one send in progress at a time (zeromq.js's rule), `sendTimeout: 0`, requests
 * correlated by a 4-byte id. `packed`: what queued during a send leaves as one frame of
 * [u32 id][u32 length][payload] entries (the echo server returns the frame as is).
 */
function rawDealer(
  endpoints: string | string[],
  packed = false,
): { call: () => Promise<unknown>; close: () => void } {
  const dealer = new zmq.Dealer({ sendTimeout: 0 })
  for (const endpoint of [endpoints].flat()) dealer.connect(endpoint)
  const pending = new Map<number, (v: unknown) => void>()
  const queue: Buffer[][] = []
  let sending = false
  let seq = 0
  const pump = async () => {
    sending = true
    while (queue.length > 0) {
      if (!packed) await sendOrWait(dealer, queue.shift()!)
      else {
        const batch = queue.splice(0, 256)
        const entries: Uint8Array[] = []
        for (const [id, payload] of batch) entries.push(Buffer.concat([id, pack([payload])]))
        await sendOrWait(dealer, Buffer.concat(entries))
      }
    }
    sending = false
  }
  void (async () => {
    try {
      for await (const parts of dealer) {
        if (!packed) {
          const k = parts[0].readUInt32LE(0)
          pending.get(k)?.(parts[1])
          pending.delete(k)
          continue
        }
        const frame = parts[0]
        for (let at = 0; at < frame.length; ) {
          const k = frame.readUInt32LE(at)
          const len = frame.readUInt32LE(at + 4)
          pending.get(k)?.(frame.subarray(at + 8, at + 8 + len))
          pending.delete(k)
          at += 8 + len
        }
      }
    } catch {}
  })()
  const payload = Buffer.from(TEXT)
  return {
    call: () =>
      new Promise((resolve) => {
        const id = Buffer.allocUnsafe(4)
        id.writeUInt32LE(++seq >>> 0, 0)
        pending.set(seq >>> 0, resolve)
        queue.push([id, payload])
        if (!sending) void pump()
      }),
    close: () => dealer.close(),
  }
}

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  await new Promise((r) => server.close(r))
  return port
}

async function requestReply(): Promise<void> {
  section('request/reply across 2 processes (closed loop; 3 rounds, the three peers interleaved, medians)')
  const levels = [1, 10, 100]
  const body = { s: TEXT }
  // All three servers are up for the whole section, and each round measures dripdrop, raw zeromq.js and
  // Moleculer back to back, so a burst of load from elsewhere on the machine hits all three alike.
  const ddRep = await child('dd-rep')
  const node = new Node({ transports: [zmqTransport()] })
  const req = node.route('svc', { type: 'req', connect: ddRep.ready.endpoint!, timeoutMs: 30_000 })
  await node.start()
  const rawRouter = await child('raw-router')
  const raw = rawDealer(rawRouter.ready.endpoint!)
  const rawPackedRouter = await child('raw-router')
  const rawPacked = rawDealer(rawPackedRouter.ready.endpoint!, true)
  const [serverPort, clientPort] = [await freePort(), await freePort()]
  const server = await child('mol-server', String(serverPort), `127.0.0.1:${clientPort}/client`)
  const broker = new moleculer.ServiceBroker({
    nodeID: 'client',
    logger: false,
    // @ts-expect-error moleculer.d.ts types `urls` as a string; its TCP transporter documents and takes a list.
    transporter: {
      type: 'TCP',
      options: {
        udpDiscovery: false,
        port: clientPort,
        urls: [`127.0.0.1:${serverPort}/server`],
        useHostname: false,
      },
    },
  })
  await broker.start()
  await broker.waitForServices('echo', 10_000)
  const peers: Record<'dd' | 'raw' | 'rawp' | 'mol', () => Promise<unknown>> = {
    dd: () => req.request('echo', body),
    raw: raw.call,
    rawp: rawPacked.call,
    mol: () => broker.call('echo.echo', body),
  }
  type Result = { rate: number; p50: number }
  const runs = { dd: [] as Result[][], raw: [] as Result[][], rawp: [] as Result[][], mol: [] as Result[][] }
  for (const [i, c] of levels.entries()) {
    for (const k of ['dd', 'raw', 'rawp', 'mol'] as const) runs[k][i] = []
    for (let round = 0; round < 3; round++)
      for (const k of ['dd', 'raw', 'rawp', 'mol'] as const)
        runs[k][i].push(await closedLoop(peers[k], c, MS / 2, 200))
  }
  const median = (rs: Result[], key: keyof Result) => rs.map((r) => r[key]).sort((a, b) => a - b)[1]
  const pick = (k: 'dd' | 'raw' | 'rawp' | 'mol') =>
    levels.map((_, i) => ({ rate: median(runs[k][i], 'rate'), p50: median(runs[k][i], 'p50') }))
  const [dd, rw, rwp, mol] = [pick('dd'), pick('raw'), pick('rawp'), pick('mol')]
  const repStats = await ddRep.ask<{ dropped: number; errors: number }>('stats')
  const { timeouts } = req.stats
  await node.close()
  raw.close()
  rawPacked.close()
  await broker.stop()
  await Promise.all([ddRep, rawRouter, rawPackedRouter, server].map(stop))

  console.log(
    `  (dripdrop: ${timeouts} requests timed out, the rep route dropped ${repStats.dropped} replies, ${repStats.errors} errors)`,
  )
  for (let i = 0; i < levels.length; i++) {
    const c = levels[i]
    compare({
      bench: `zmq.reqrep.c${c}`,
      unit: 'calls/s',
      dripdrop: dd[i].rate,
      peer: 'zeromq.js',
      peerValue: rw[i].rate,
    })
    compare({
      bench: `zmq.reqrep.c${c}`,
      unit: 'calls/s',
      dripdrop: dd[i].rate,
      peer: 'zeromq.js-packed',
      peerValue: rwp[i].rate,
    })
    compare({
      bench: `zmq.reqrep.c${c}`,
      unit: 'calls/s',
      dripdrop: dd[i].rate,
      peer: 'moleculer',
      peerValue: mol[i].rate,
      target: c === 100 ? 1.5 : undefined,
    })
    compare({
      bench: `zmq.reqrep.c${c}.p50`,
      unit: 'us',
      better: 'lower',
      dripdrop: dd[i].p50,
      peer: 'moleculer',
      peerValue: mol[i].p50,
      target: c === 1 ? 1 : undefined,
    })
    // The floor the binding sets: a raw zeromq.js DEALER/ROUTER round trip with no encoding at all.
    compare({
      bench: `zmq.reqrep.c${c}.p50`,
      unit: 'us',
      better: 'lower',
      dripdrop: dd[i].p50,
      peer: 'zeromq.js',
      peerValue: rw[i].p50,
    })
  }
}

/** Publishes for MS, then sums what every subscriber got over the longest subscriber's receiving time. */
async function fanOut(subs: Child[], publish: (name: string) => Promise<unknown>): Promise<number> {
  const probing = setInterval(() => void publish('probe'), 5)
  await Promise.all(subs.map((s) => s.probed))
  clearInterval(probing)
  await sleep(20)
  let sent = 0
  const end = performance.now() + MS
  while (sent < MAX_MESSAGES && (sent & 1023 || performance.now() < end)) {
    await publish('tick')
    sent++
  }
  let previous = -1
  for (;;) {
    await sleep(100)
    const reports = await Promise.all(subs.map((s) => s.ask<{ count: number; elapsedMs: number }>('report')))
    const total = reports.reduce((n, r) => n + r.count, 0)
    if (total === previous || total >= sent * subs.length)
      return (total * 1000) / Math.max(...reports.map((r) => r.elapsedMs))
    previous = total
  }
}

async function pubSub(): Promise<void> {
  section('pub/sub fan-out to 4 subscriber processes, 100-byte body')
  const node = new Node({ transports: [zmqTransport()] })
  const pub = node.route('ev', { type: 'pub', bind: 'tcp://127.0.0.1:*' })
  await node.start()
  const ddSubs = await Promise.all(Array.from({ length: 4 }, () => child('dd-sub', pub.endpoints[0])))
  const dd = await fanOut(ddSubs, (name) => pub.publish(name, BODY))
  const dropped = pub.stats.dropped
  await node.close()
  await Promise.all(ddSubs.map(stop))

  const rawPub = new zmq.Publisher()
  await rawPub.bind('tcp://127.0.0.1:*')
  const rawSubs = await Promise.all(Array.from({ length: 4 }, () => child('raw-sub', rawPub.lastEndpoint!)))
  const topics = { tick: Buffer.from('tick'), probe: Buffer.from('probe') }
  const raw = await fanOut(rawSubs, (name) => rawPub.send([topics[name as 'tick'], BODY]))
  rawPub.close()
  await Promise.all(rawSubs.map(stop))
  measure({ bench: 'zmq.pubsub.fanout4.delivered', unit: 'msg/s', dripdrop: dd })
  compare({ bench: 'zmq.pubsub.fanout4', unit: 'msg/s', dripdrop: dd, peer: 'zeromq.js', peerValue: raw })
  console.log(`  (dripdrop PUB counted ${dropped} envelopes dropped at subscriber high-water marks)`)
}

async function spread(): Promise<void> {
  section('spreading over 2 uneven workers (1 ms and 10 ms per request, one at a time), concurrency 8')
  const [fastMs, slowMs, c] = [1, 10, 8]
  const ddFast = await child('dd-rep-slow', String(fastMs))
  const ddSlow = await child('dd-rep-slow', String(slowMs))
  const node = new Node({ transports: [zmqTransport()] })
  const req = node.route('svc', {
    type: 'req',
    connect: [ddSlow.ready.endpoint!, ddFast.ready.endpoint!],
    timeoutMs: 30_000,
  })
  await node.start()
  await req.connected({ peers: 2, timeoutMs: 10_000 })
  const rawFast = await child('raw-router-slow', String(fastMs))
  const rawSlow = await child('raw-router-slow', String(slowMs))
  const raw = rawDealer([rawSlow.ready.endpoint!, rawFast.ready.endpoint!])
  await sleep(200) // both raw connections up (a raw DEALER has no way to say)
  const body = { s: TEXT }
  const dd = await closedLoop(() => req.request('echo', body), c, MS, 300)
  const rw = await closedLoop(raw.call, c, MS, 300)
  await node.close()
  raw.close()
  await Promise.all([ddFast, ddSlow, rawFast, rawSlow].map(stop))
  compare({
    bench: 'zmq.spread.uneven.c8.p99',
    unit: 'us',
    better: 'lower',
    dripdrop: dd.p99,
    peer: 'zeromq.js-rr',
    peerValue: rw.p99,
  })
  compare({
    bench: 'zmq.spread.uneven.c8',
    unit: 'calls/s',
    dripdrop: dd.rate,
    peer: 'zeromq.js-rr',
    peerValue: rw.rate,
  })
}

/** Builds bench/zmq/floor.c; undefined (and says why) when there is no C compiler or no libzmq headers. */
function buildFloor(): string | undefined {
  const source = join(dirname(fileURLToPath(import.meta.url)), 'zmq/floor.c')
  const binary = join(tmpdir(), `dd-zmq-floor-${process.pid}`)
  if (!existsSync('/usr/include/zmq.h')) {
    console.log('  (libzmq floor skipped: no /usr/include/zmq.h; apt-get install libzmq3-dev)')
    return undefined
  }
  try {
    execFileSync('cc', ['-O2', source, '-lzmq', '-o', binary], { stdio: 'pipe' })
    return binary
  } catch (err) {
    console.log(`  (libzmq floor skipped: cc failed: ${(err as Error).message.split('\n')[0]})`)
    return undefined
  }
}

async function floor(): Promise<void> {
  section(
    'request/reply c1 p50 against libzmq itself (C DEALER/ROUTER ping-pong, 2 processes; 3 rounds, medians)',
  )
  const binary = buildFloor()
  if (binary === undefined) return
  const server = spawn(binary, ['server'], { stdio: ['ignore', 'pipe', 'inherit'] })
  children.add(server)
  const endpoint = await new Promise<string>((resolve) =>
    server.stdout!.once('data', (d) => resolve(String(d).trim())),
  )
  const cClient = () =>
    new Promise<number>((resolve, reject) => {
      // 122 bytes: the size of the dripdrop request frame below.
      const c = spawn(binary, ['client', endpoint, String(MS / 2), '122'], {
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      let out = ''
      c.stdout!.on('data', (d) => {
        out += d
      })
      c.once('exit', (code) =>
        code === 0 ? resolve(Number(/p50_us ([\d.]+)/.exec(out)![1])) : reject(new Error(out)),
      )
    })
  const ddRep = await child('dd-rep')
  const node = new Node({ transports: [zmqTransport()] })
  const req = node.route('svc', { type: 'req', connect: ddRep.ready.endpoint!, timeoutMs: 30_000 })
  await node.start()
  const body = { s: TEXT }
  const dd: number[] = []
  const c: number[] = []
  for (let round = 0; round < 3; round++) {
    dd.push((await closedLoop(() => req.request('echo', body), 1, MS / 2, 200)).p50)
    c.push(await cClient())
  }
  await node.close()
  await stop(ddRep)
  server.kill('SIGKILL')
  children.delete(server)
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[1]
  compare({
    bench: 'zmq.reqrep.c1.p50',
    unit: 'us',
    better: 'lower',
    dripdrop: median(dd),
    peer: 'libzmq-c',
    peerValue: median(c),
    target: Math.round(100 / 1.15) / 100,
  })
}

try {
  const only = process.argv[2]
  if (!only || only === 'push') await pushPull()
  if (!only || only === 'reqrep') await requestReply()
  if (!only || only === 'pubsub') await pubSub()
  if (!only || only === 'spread') await spread()
  if (!only || only === 'floor') await floor()
} finally {
  for (const c of children) c.kill('SIGKILL')
}
process.exit(0)
