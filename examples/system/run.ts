/**
 * The whole system with one command (`pnpm start`): the control server (in this process), the 4-process example
 * app (gateway → 2 workers → aggregator over ZeroMQ) reporting to it, then a short open-model load test on the
 * gateway with @dripdrop/loadtester (HTML report under `./reports/`). Prints the dashboard URL (with its token),
 * the gateway URL, the Prometheus `/metrics` URL, the load-test summary and the report path, then keeps running
 * with light background traffic (20 requests/s) until Ctrl-C / SIGTERM, which stops every process and exits 0.
 *
 * Run: node --import tsx examples/system/run.ts [--once] [--seconds N] [--rate R]
 * - `--once` (or env `DRIPDROP_DEMO_ONCE=1`): exit 0 right after the load test (tests, CI).
 * - `--seconds N`: length of the load test, seconds. Default 10 (at most 60).
 * - `--rate R`: its constant arrival rate, requests/s. Default 200 (at most 2000).
 * Ports: the control-app defaults (collector 7100, HTTP 7180, WebSocket 7181) on 127.0.0.1, each replaced by a
 * free port when taken; the gateway takes a free port.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join, relative, resolve } from 'node:path'
import { htmlReport, LoadEngine, reportOf } from '@dripdrop/loadtester'
import { ControlServer, newToken } from 'control-server'
import { type AppProcess, startApp } from '../control-app/app.js'

const argv = process.argv.slice(2)
const flag = (name: string, fallback: number, max: number): number => {
  const i = argv.indexOf(name)
  if (i === -1) return fallback
  const n = Number(argv[i + 1])
  if (!Number.isFinite(n) || n <= 0 || n > max)
    throw new TypeError(`${name} must be in (0, ${max}], got ${argv[i + 1]}`)
  return n
}
// biome-ignore lint/suspicious/noUndeclaredEnvVars: read at run time, no build depends on it
const once = argv.includes('--once') || process.env.DRIPDROP_DEMO_ONCE === '1'
const seconds = flag('--seconds', 10, 60)
const rate = flag('--rate', 200, 2000)
const HOST = '127.0.0.1'

/** True when `port` can be bound on 127.0.0.1 right now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = createServer()
    s.once('error', () => done(false))
    s.listen(port, HOST, () => s.close(() => done(true)))
  })
}

/** The control server on the default ports, each replaced by a free one when taken. */
async function startControl(token: string): Promise<ControlServer> {
  const pick = async (port: number, free: string, taken: string) => ((await portFree(port)) ? free : taken)
  const wanted = {
    collector: await pick(7100, `tcp://${HOST}:7100`, `tcp://${HOST}:*`),
    http: await pick(7180, `http://${HOST}:7180`, `http://${HOST}:0`),
    ws: await pick(7181, `ws://${HOST}:7181`, `ws://${HOST}:0`),
  }
  const server = new ControlServer({ ...wanted, token })
  try {
    await server.start()
    return server
  } catch {
    // Taken between the probe and the bind: every port free.
    server.destroy()
    const fallback = new ControlServer({
      collector: `tcp://${HOST}:*`,
      http: `http://${HOST}:0`,
      ws: `ws://${HOST}:0`,
      token,
    })
    await fallback.start()
    return fallback
  }
}

/** SIGTERM to each child, SIGKILL after 3 s; resolves when all have exited. */
function killAll(parts: readonly AppProcess[]): Promise<unknown> {
  return Promise.all(
    parts.map(
      ({ child }) =>
        new Promise<void>((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done()
          const hard = setTimeout(() => child.kill('SIGKILL'), 3000)
          child.once('exit', () => {
            clearTimeout(hard)
            done()
          })
          child.kill('SIGTERM')
        }),
    ),
  )
}

const token = newToken()
const server = await startControl(token)
let parts: AppProcess[] = []
let traffic: NodeJS.Timeout | undefined
let stopping: Promise<void> | undefined
const stop = (code: number): Promise<void> =>
  (stopping ??= (async () => {
    clearInterval(traffic)
    await killAll(parts)
    await server.close().catch(() => {})
    process.exit(code)
  })())
process.once('SIGINT', () => void stop(0))
process.once('SIGTERM', () => void stop(0))

try {
  parts = await startApp(server.urls.collector)
  const gateway = parts.find((p) => p.role === 'gateway')!.info.http as string
  const urls = server.urls
  console.log(`dashboard: ${urls.dashboard}?token=${token}`)
  console.log(
    `gateway:   ${gateway}/orders   (curl -X POST ${gateway}/orders -H 'content-type: application/json' -d '{"qty":2}')`,
  )
  console.log(`metrics:   ${urls.metrics}   (curl -H 'authorization: Bearer ${token}' ${urls.metrics})`)
  console.log(`load test: POST ${gateway}/orders at ${rate}/s for ${seconds} s ...`)

  const engine = new LoadEngine({
    target: gateway,
    scenario: {
      kind: 'requests',
      requests: [{ name: 'order', method: 'POST', url: '/orders', body: { qty: 2 } }],
    },
    rate,
    durationMs: seconds * 1000,
    connections: 20,
    timeoutMs: 5000,
  })
  const result = await engine.run()
  const report = reportOf(result, { model: 'open', target: gateway, rate })
  const c = report.counters
  const non2xx = Object.entries(c.statuses)
    .filter(([status]) => !status.startsWith('2'))
    .reduce((n, [, k]) => n + k, 0)
  const ms = (us: number | undefined) => `${((us ?? 0) / 1000).toFixed(2)}ms`
  const dir = resolve('reports')
  await mkdir(dir, { recursive: true })
  const file = join(dir, `load-${new Date().toISOString().replace(/[:.]/g, '-')}.html`)
  await writeFile(file, htmlReport(report))
  console.log(
    `load test: ${c.responses} responses in ${seconds} s (${report.rate.toFixed(1)}/s), ` +
      `p50=${ms(report.latency.percentiles['50'])} p99=${ms(report.latency.percentiles['99'])}, ` +
      `errors=${report.errors} non2xx=${non2xx} notSent=${c.notSent}`,
  )
  console.log(`report:    ${relative(process.cwd(), file)}`)

  if (once) await stop(0)
  else {
    console.log('running: light traffic (20 requests/s); the dashboard stays live. Ctrl-C stops everything.')
    traffic = setInterval(() => {
      for (let i = 0; i < 20; i++) {
        fetch(`${gateway}/orders`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ qty: 1 + (i % 3) }),
        })
          .then((r) => r.body?.cancel())
          .catch(() => {})
      }
    }, 1000)
  }
} catch (err) {
  console.error(err)
  await stop(1)
}
