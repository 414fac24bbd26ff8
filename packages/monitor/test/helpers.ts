import { Node } from '@dripdrop/core'
import { zmqTransport } from '@dripdrop/zmq'
import { onTestFinished } from 'vitest'
import { Collector, type CollectorOptions, type ReportMessage, type RouteReport } from '../src/index.js'

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

/** A push route to the collector that sends whatever a test crafts (a simulated reporter). */
export async function rawSender(endpoint: string, maxMessageBytes = 64 * 1024 * 1024) {
  const { createCodec } = await import('@dripdrop/core')
  const node = new Node({
    name: 'raw',
    transports: [zmqTransport()],
    codec: createCodec('msgpack', { maxMessageBytes }),
  })
  onTestFinished(() => {
    node.destroy()
  })
  const route = node.route('raw', { type: 'push', connect: endpoint })
  await node.start()
  return { node, send: (name: string, body: unknown) => route.send(name, body) }
}

/** A valid report body with one route, for tests to change. */
export function makeReport(over: Partial<ReportMessage> & { instance: string }): ReportMessage {
  return {
    v: 1,
    role: 'sim',
    host: 'h',
    pid: 1,
    startedAt: 1000,
    seq: 1,
    at: Date.now(),
    intervalMs: 1000,
    heartbeatIntervalMs: 250,
    process: {
      cpuUserUs: 0,
      cpuSystemUs: 0,
      rssBytes: 1,
      heapUsedBytes: 1,
      heapTotalBytes: 1,
      eventLoopDelayP50Ms: 0,
      eventLoopDelayP99Ms: 0,
      eventLoopDelayMaxMs: 0,
      eventLoopUtilization: 0,
    },
    routes: [],
    names: [],
    tracked: [],
    monitor: { reportsDropped: 0, heartbeatsDropped: 0 },
    ...over,
  }
}

/** One route entry of a report. */
export function makeRoute(
  route: string,
  counters: Record<string, number>,
  endpoints: { bind?: string[]; connect?: string[] } = {},
): RouteReport {
  return {
    node: 'n',
    route,
    type: 'push',
    bind: endpoints.bind ?? [],
    connect: endpoints.connect ?? [],
    counters,
    errorsByCode: {},
    gauges: { inflight: 0, pendingRequests: 0, peers: 0 },
  }
}
