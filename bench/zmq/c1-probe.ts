/**
 * Where a concurrency-1 round trip goes: three request/reply loops across two processes, measured in
 * interleaved slices of 200 calls (so a burst of load elsewhere on the machine hits all three alike):
 *
 *   raw       a raw zeromq.js DEALER sends a 104-byte two-part message, a raw ROUTER echoes it (the binding alone)
 *   codec     the same raw sockets carrying dripdrop frames, encoded and decoded on both sides (the binding + codec)
 *   dripdrop  a dripdrop `req` route against a `rep` route (everything)
 *
 * Prints p25/p50/p75 latency and the CPU time each process spends per call (process.cpuUsage(): main thread and
 * libzmq's I/O thread, user + system). Pin both processes to one core to take cross-core wake-ups out:
 * `taskset -c 0 node --import tsx bench/zmq/c1-probe.ts`.
 *
 * Run: node --import tsx bench/zmq/c1-probe.ts [rounds]   (default 40 rounds)
 */
import { type ChildProcess, fork } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as zmq from 'zeromq'
import { defaultCodec } from '../../packages/codec/dist/index.js'
import { Node } from '../../packages/core/dist/index.js'
import { zmqTransport } from '../../packages/zmq/dist/index.js'

const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'child.ts')
const ROUNDS = Number(process.argv[2] ?? 40)
const SLICE = 200
const TEXT = 'x'.repeat(100)
type Usage = { user: number; system: number }

interface Server {
  proc: ChildProcess
  endpoint: string
  cpu(): Promise<Usage>
}

async function server(role: string): Promise<Server> {
  const proc = fork(CHILD, [role], { execArgv: ['--import', 'tsx'], stdio: 'inherit' })
  let onCpu: (u: Usage) => void = () => {}
  const endpoint = await new Promise<string>((resolve) =>
    proc.on('message', (m: { ready?: boolean; endpoint?: string; cpu?: Usage }) => {
      if (m.ready) resolve(m.endpoint!)
      else if (m.cpu) onCpu(m.cpu)
    }),
  )
  const cpu = () =>
    new Promise<Usage>((resolve) => {
      onCpu = resolve
      proc.send({ cmd: 'cpu' })
    })
  return { proc, endpoint, cpu }
}

/** A raw DEALER with one call in flight: sends `message()`, resolves with the reply's last part. */
function dealer(endpoint: string, message: () => Buffer | Uint8Array[] | Buffer[]) {
  const socket = new zmq.Dealer()
  socket.connect(endpoint)
  let resolve: (frame: Buffer) => void = () => {}
  void (async () => {
    for await (const parts of socket) resolve(parts[parts.length - 1])
  })()
  return {
    call: () =>
      new Promise<Buffer>((r) => {
        resolve = r
        void socket.send(message())
      }),
    close: () => socket.close(),
  }
}

const codec = defaultCodec()
const body = { s: TEXT }
const id = Buffer.alloc(4)
const payload = Buffer.from(TEXT)
const [rawServer, codecServer, ddServer] = [
  await server('raw-router'),
  await server('codec-router'),
  await server('dd-rep'),
]
const raw = dealer(rawServer.endpoint, () => [id, payload])
let seq = 0
const viaCodec = dealer(codecServer.endpoint, () => [
  codec.encode({ name: 'echo', head: { $id: ++seq }, body }),
])
const node = new Node({ transports: [zmqTransport()] })
const req = node.route('svc', { type: 'req', connect: ddServer.endpoint, timeoutMs: 30_000 })
await node.start()

const sides = {
  raw: { call: raw.call, server: rawServer },
  codec: { call: async () => codec.decodeFrame(await viaCodec.call()), server: codecServer },
  dripdrop: { call: () => req.request('echo', body), server: ddServer },
}
type Side = keyof typeof sides
const names = Object.keys(sides) as Side[]
const samples = Object.fromEntries(names.map((k) => [k, [] as number[]])) as Record<Side, number[]>
const clientCpu = Object.fromEntries(names.map((k) => [k, 0])) as Record<Side, number>
const serverStart = {} as Record<Side, Usage>
for (const k of names) for (let i = 0; i < 1000; i++) await sides[k].call()
for (const k of names) serverStart[k] = await sides[k].server.cpu()
for (let round = 0; round < ROUNDS; round++) {
  for (const k of round & 1 ? [...names].reverse() : names) {
    const { call } = sides[k]
    const before = process.cpuUsage()
    for (let i = 0; i < SLICE; i++) {
      const t = performance.now()
      await call()
      samples[k].push(performance.now() - t)
    }
    const used = process.cpuUsage(before)
    clientCpu[k] += used.user + used.system
  }
}
const quantile = (v: number[], q: number) => v[Math.min(v.length - 1, Math.floor(v.length * q))] * 1000
console.log(`concurrency 1, ${ROUNDS} interleaved rounds of ${SLICE} calls each (us)`)
for (const k of names) {
  const v = samples[k].sort((a, b) => a - b)
  const end = await sides[k].server.cpu()
  const serverCpu = end.user - serverStart[k].user + end.system - serverStart[k].system
  console.log(
    `  ${k.padEnd(9)} p25 ${quantile(v, 0.25).toFixed(1).padStart(6)}  p50 ${quantile(v, 0.5).toFixed(1).padStart(6)}` +
      `  p75 ${quantile(v, 0.75).toFixed(1).padStart(6)}  cpu/call client ${(clientCpu[k] / v.length).toFixed(1).padStart(5)}` +
      `  server ${(serverCpu / v.length).toFixed(1).padStart(5)}`,
  )
}
await node.close()
raw.close()
viaCodec.close()
for (const s of [rawServer, codecServer, ddServer]) s.proc.kill('SIGKILL')
process.exit(0)
