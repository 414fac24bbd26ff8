/**
 * The whole system with one command (`pnpm start`), deployed the way a user deploys it by role:
 * - the control server (in this process) started WITH the example topology (examples/roles/topology.yaml): its
 *   `RoleController` binds the agent channel, the API gets `/api/roles`, the dashboard its Roles panel;
 * - one `Agent` for this host (host `local`: the topology has no `hosts:`), in this process, connected to that
 *   channel: the controller assigns it every instance (aggregator-1, gateway-1, worker-1, worker-2) and its
 *   supervisor runs each as a child process, restarted on a crash, with logs under `.dripdrop/logs/`;
 * - every instance reports to the control server's collector (`DRIPDROP_COLLECTOR` in the children's env);
 * - then a short open-model load test on the gateway with @dripdrop/loadtester (HTML report under `./reports/`).
 * Prints the dashboard URL (with its token), the gateway, `/metrics`, the agent channel, the Roles API, the
 * load-test summary and the report path, then keeps running with light background traffic (20 requests/s) until
 * Ctrl-C / SIGTERM, which closes the agent (SIGTERM to each child, SIGKILL after its stop timeout), then the
 * control server, and exits 0.
 *
 * Run: node --import tsx examples/system/run.ts [--once] [--seconds N] [--rate R]
 * - `--once` (or env `DRIPDROP_DEMO_ONCE=1`): exit 0 right after the load test (tests, CI).
 * - `--seconds N`: length of the load test, seconds. Default 10 (at most 60).
 * - `--rate R`: its constant arrival rate, requests/s. Default 200 (at most 2000).
 * Ports, all on 127.0.0.1, each replaced by a free port when taken: collector 7100, HTTP 7180, WebSocket 7181,
 * agent channel 7200; the topology's binds (gateway 7480/7481, aggregator 7482) are moved on a copy of the loaded
 * topology handed to the control server (examples/system/ports.ts), never in the file. A moved port is printed.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { htmlReport, LoadEngine, reportOf } from '@dripdrop/loadtester'
import { Agent, LOCAL_HOST, loadTopology, type Topology } from '@dripdrop/roles'
import { ControlServer, newToken } from 'control-server'
import { portFree, withFreePorts } from './ports.js'

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
const TOPOLOGY = fileURLToPath(new URL('../roles/topology.yaml', import.meta.url))

/** The control server with `topology`, on the default ports, each replaced by a free one when taken. */
async function startControl(token: string, topology: Topology): Promise<ControlServer> {
  const pick = async (port: number, free: string, taken: string) => ((await portFree(port)) ? free : taken)
  const wanted = {
    collector: await pick(7100, `tcp://${HOST}:7100`, `tcp://${HOST}:*`),
    http: await pick(7180, `http://${HOST}:7180`, `http://${HOST}:0`),
    ws: await pick(7181, `ws://${HOST}:7181`, `ws://${HOST}:0`),
    agents: await pick(7200, `tcp://${HOST}:7200`, `tcp://${HOST}:*`),
  }
  const make = (w: typeof wanted) =>
    new ControlServer({
      collector: w.collector,
      http: w.http,
      ws: w.ws,
      token,
      topology,
      roles: { agents: w.agents },
    })
  const server = make(wanted)
  try {
    await server.start()
    return server
  } catch {
    // Taken between the probe and the bind: every port free.
    server.destroy()
    const fallback = make({
      collector: `tcp://${HOST}:*`,
      http: `http://${HOST}:0`,
      ws: `ws://${HOST}:0`,
      agents: `tcp://${HOST}:*`,
    })
    await fallback.start()
    return fallback
  }
}

/** Polls `check` every 100 ms until it returns a value, at most `ms`; throws `what` on timeout. */
async function until<T>(
  what: string,
  ms: number,
  check: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + ms
  for (let i = 0; i < Math.ceil(ms / 100) + 1; i++) {
    const v = await check()
    if (v !== undefined) return v
    if (Date.now() > deadline) break
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`)
}

const token = newToken()
const { topology, moved } = await withFreePorts(await loadTopology(TOPOLOGY))
const server = await startControl(token, topology)
const roles = server.roles!
let agent: Agent | undefined
let traffic: NodeJS.Timeout | undefined
let stopping: Promise<void> | undefined
const stop = (code: number): Promise<void> =>
  (stopping ??= (async () => {
    clearInterval(traffic)
    // The agent first: its supervisor stops every child (SIGTERM, SIGKILL after the role's stop timeout).
    await agent?.close().catch(() => {})
    await server.close().catch(() => {})
    process.exit(code)
  })())
process.once('SIGINT', () => void stop(0))
process.once('SIGTERM', () => void stop(0))

try {
  const urls = server.urls
  for (const [bind, [from, to]] of Object.entries(moved))
    console.log(`port:      ${bind} ${from} taken, using ${to}`)
  agent = new Agent({
    control: roles.endpoint,
    host: LOCAL_HOST,
    // Every instance reports to this control server's collector (the example entries read it).
    supervisor: { env: { DRIPDROP_COLLECTOR: urls.collector } },
  })
  agent.on('agent:error', ({ error }) => console.error(`agent: ${error.message}`))
  await agent.start()
  const instances = Object.entries(topology.roles).reduce((n, [, r]) => n + (r.instances ?? 1), 0)
  // Every assigned instance running, as the agent reported it to the controller ...
  const placed = await until('the agent to run every instance', 30_000, () => {
    const st = roles.status()
    const running = st.instances.filter((i) => i.state === 'running')
    return running.length === instances ? st : undefined
  })
  // ... and reporting to the collector (what the dashboard shows).
  const api = (path: string) =>
    fetch(`${urls.api}${path}`, { headers: { authorization: `Bearer ${token}` } }).then((r) => r.json())
  await until('every instance to report to the collector', 30_000, async () => {
    const rows = (await api('/instances?status=up')) as { total: number }
    return rows.total >= instances ? true : undefined
  })
  const gatewayBind = topology.roles.gateway!.bind!.http!
  const gateway = gatewayBind.replace('0.0.0.0', HOST)
  console.log(`dashboard: ${urls.dashboard}?token=${token}`)
  console.log(
    `gateway:   ${gateway}/orders   (curl -X POST ${gateway}/orders -H 'content-type: application/json' -d '{"qty":2}')`,
  )
  console.log(`metrics:   ${urls.metrics}   (curl -H 'authorization: Bearer ${token}' ${urls.metrics})`)
  console.log(`agents:    ${roles.endpoint}   (the agent channel; host local's agent runs in this process)`)
  console.log(`roles:     ${urls.api}/roles   (curl -H 'authorization: Bearer ${token}' ${urls.api}/roles)`)
  for (const i of [...placed.instances].sort((x, y) => x.instance.localeCompare(y.instance)))
    console.log(
      `instance:  ${i.instance} on ${i.host}: ${i.state}, pid ${i.pid}, log .dripdrop/logs/${i.instance}.log`,
    )
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
  // After the load: what the Roles API (the dashboard's Roles panel) says now.
  const now = (await api('/roles')) as ReturnType<typeof roles.status>
  const up = now.instances.filter((i) => i.state === 'running')
  console.log(
    `roles API: ${up.length}/${now.instances.length} instances running (${up.map((i) => i.instance).join(', ')}); ` +
      `hosts ${now.hosts.map((h) => `${h.host} ${h.state}`).join(', ')}`,
  )

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
