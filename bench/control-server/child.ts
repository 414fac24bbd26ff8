/**
 * The far side of bench/control-server.bench.ts, one role per process (forked with IPC):
 *
 *   server                          a ControlServer (embedded store) on 127.0.0.1; answers `cpu` with its CPU use
 *   simulate <ep> <n> <routes> <offset>  n simulated instances x routes at 1 Hz (+ heartbeats every 250 ms);
 *                                   `rate <instance index> <per second>` changes one instance's rate
 *
 * The child says { ready, … } first.
 */
import { ControlServer } from '../../apps/control-server/dist/index.js'
import { simulate } from '../../apps/control-server/test/support/simulate.js'

const [role, ...args] = process.argv.slice(2)
const send = (m: unknown) => process.send?.(m)
process.on('disconnect', () => process.exit(0))

if (role === 'server') {
  const server = new ControlServer({
    collector: 'tcp://127.0.0.1:*',
    http: 'http://127.0.0.1:0',
    ws: 'ws://127.0.0.1:0',
    token: args[0],
  })
  await server.start()
  let cpu0 = process.cpuUsage()
  let t0 = performance.now()
  let reports0 = 0
  process.on('message', (m: { cmd: string }) => {
    if (m.cmd === 'cpu-reset') {
      reports0 = server.collector.stats.reports
      cpu0 = process.cpuUsage()
      t0 = performance.now()
      send({ ok: true })
    }
    if (m.cmd === 'cpu') {
      const c = process.cpuUsage(cpu0)
      send({
        usedUs: c.user + c.system,
        wallMs: performance.now() - t0,
        reports: server.collector.stats.reports - reports0,
      })
    }
  })
  send({ ready: true, ...server.urls })
}

if (role === 'simulate') {
  const [endpoint, n, routes, offset] = [args[0], Number(args[1]), Number(args[2]), Number(args[3] ?? 0)]
  const changed = new Map<number, number>()
  const sim = await simulate(endpoint, n, routes, (i) => changed.get(i) ?? 100, offset)
  process.on('message', (m: { cmd: string; index: number; perSecond: number }) => {
    if (m.cmd === 'rate') {
      changed.set(m.index, m.perSecond)
      send({ ok: true })
    }
    if (m.cmd === 'stop') sim.close().then(() => process.exit(0))
  })
  send({ ready: true })
}
