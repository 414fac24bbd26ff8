/**
 * The far side of the monitor benchmarks, one role per process (forked by bench/monitor.bench.ts with IPC):
 *
 *   collector                       a Collector (embedded store) on 127.0.0.1; answers `cpu` with its CPU use
 *   dd-pull | dd-rep                the receiving side of the overhead runs; `mon-on <collector>` / `mon-off`
 *                                   turn its own monitoring on and off, like the bench process's
 *   simulate <ep> <n> <routes> <s> <offset>  n simulated reporters (sim-<offset>…): each sends a report of `routes` routes every second
 *                                   and a heartbeat every 250 ms, for s seconds; then says { done, reports }
 *   victim <ep> <instance>          a monitored process with the default intervals, to be SIGKILLed
 *   burn                            a busy loop (machine saturation)
 *
 * The child says { ready, endpoint? } first.
 */
import { Node } from '../../packages/core/dist/index.js'
import { Collector, Reporter, type ReportMessage } from '../../packages/monitor/dist/index.js'
import { zmqTransport } from '../../packages/zmq/dist/index.js'

const [role, ...args] = process.argv.slice(2)
const send = (m: unknown) => process.send?.(m)
process.on('disconnect', () => process.exit(0))

let count = 0
let first = 0
let last = 0
let reporter: Reporter | undefined
let node: Node | undefined

process.on('message', async (m: { cmd: string; arg?: string }) => {
  if (m.cmd === 'report') send({ count, elapsedMs: last - first })
  if (m.cmd === 'reset') {
    count = 0
    send({ ok: true })
  }
  if (m.cmd === 'mon-on') {
    reporter = new Reporter({ collector: m.arg as string, role: role as string })
    reporter.add(node as Node)
    await reporter.start()
    send({ ok: true })
  }
  if (m.cmd === 'mon-off') {
    await reporter?.close({ timeoutMs: 200 })
    reporter = undefined
    send({ ok: true })
  }
})

function tick(): void {
  const now = performance.now()
  if (count === 0) first = now
  last = now
  count++
}

switch (role) {
  case 'collector': {
    const collector = new Collector({ bind: 'tcp://127.0.0.1:*' })
    await collector.start()
    send({ ready: true, endpoint: collector.endpoint })
    break
  }
  case 'dd-pull': {
    node = new Node({ name: 'pull', transports: [zmqTransport()] })
    const pull = node.route('in', { type: 'pull', bind: 'tcp://127.0.0.1:*' }).on('m', tick)
    await node.start()
    send({ ready: true, endpoint: pull.endpoints[0] })
    break
  }
  case 'dd-rep': {
    node = new Node({ name: 'rep', transports: [zmqTransport()] })
    const rep = node.route('svc', { type: 'rep', bind: 'tcp://127.0.0.1:*' }).on('echo', ({ body }) => body)
    await node.start()
    send({ ready: true, endpoint: rep.endpoints[0] })
    break
  }
  case 'simulate': {
    const [endpoint, n, routes, seconds, offset] = [
      args[0],
      Number(args[1]),
      Number(args[2]),
      Number(args[3]),
      Number(args[4] ?? 0),
    ]
    let stopped = false
    process.on('message', (m: { cmd: string }) => {
      if (m.cmd === 'stop') stopped = true
    })
    const sim = new Node({ name: 'sim', transports: [zmqTransport({ socketHighWaterMark: 100_000 })] })
    const push = sim.route('out', { type: 'push', connect: endpoint, highWaterMark: 100_000 })
    await sim.start()
    const startedAt = Date.now()
    const reports: ReportMessage[] = Array.from({ length: n }, (_, i) => ({
      v: 1,
      instance: `sim-${offset + i}`,
      role: `role-${i % 10}`,
      host: 'sim',
      pid: i,
      startedAt,
      seq: 0,
      at: 0,
      intervalMs: 1000,
      heartbeatIntervalMs: 250,
      process: {
        cpuUserUs: 0,
        cpuSystemUs: 0,
        rssBytes: 1e8,
        heapUsedBytes: 5e7,
        heapTotalBytes: 6e7,
        eventLoopDelayP50Ms: 10,
        eventLoopDelayP99Ms: 20,
        eventLoopDelayMaxMs: 30,
        eventLoopUtilization: 0.1,
      },
      routes: Array.from({ length: routes }, (_, r) => ({
        node: 'app',
        route: `route-${r}`,
        type: 'push',
        bind: [],
        connect: [`tcp://10.0.0.${r}:7000`],
        counters: {
          messagesIn: 0,
          messagesOut: 0,
          bytesIn: 0,
          bytesOut: 0,
          errors: 0,
          aborted: 0,
          expired: 0,
          dropped: 0,
        },
        errorsByCode: {},
        gauges: { inflight: 0, pendingRequests: 0, peers: 1 },
      })),
      names: [],
      tracked: [],
      monitor: { reportsDropped: 0, heartbeatsDropped: 0 },
    }))
    send({ ready: true })
    let sent = 0
    const end = performance.now() + seconds * 1000
    // 40 slots a second: each sends 1/40 of the reports and 1/10 of the heartbeats.
    let slot = 0
    while (!stopped && performance.now() < end) {
      const t0 = performance.now()
      const pending: Promise<void>[] = []
      for (let i = slot % 40; i < n; i += 40) {
        const r = reports[i]
        r.seq++
        r.at = Date.now()
        for (const route of r.routes) {
          route.counters.messagesIn += 100
          route.counters.messagesOut += 100
          route.counters.bytesIn += 10_000
          route.counters.bytesOut += 10_000
        }
        pending.push(push.send('dd.mon.report', r))
        sent++
      }
      for (let i = slot % 10; i < n; i += 10) {
        pending.push(
          push.send('dd.mon.heartbeat', {
            v: 1,
            instance: `sim-${offset + i}`,
            startedAt,
            seq: slot,
            heartbeatIntervalMs: 250,
          }),
        )
      }
      await Promise.all(pending)
      slot++
      const wait = 25 - (performance.now() - t0)
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
    }
    // A graceful close: SIGKILLing a sender while the collector's receive queue is full can hit a libzmq
    // 4.3.5 assertion (stream_engine_base.cpp:310, !_io_error) in the collector.
    await sim.close({ timeoutMs: 5000 })
    send({ done: true, reports: sent })
    break
  }
  case 'victim': {
    node = new Node({ name: 'victim', transports: [zmqTransport()] })
    node.route('in', { type: 'pull', bind: 'tcp://127.0.0.1:*' })
    await node.start()
    reporter = new Reporter({ collector: args[0] as string, role: 'victim', instance: args[1] })
    reporter.add(node)
    await reporter.start()
    send({ ready: true })
    setInterval(() => {}, 60_000)
    break
  }
  case 'burn': {
    send({ ready: true })
    for (;;) {
      // busy
    }
  }
}
