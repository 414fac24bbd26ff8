import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { LoadEngine } from '@dripdrop/loadtester'
const server = http.createServer((_q, s) => setTimeout(() => s.end('ok'), 50))
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
await new LoadEngine({
  scenario: { kind: 'requests', requests: [{ url }] },
  connections: 10,
  durationMs: 500,
}).run()
const c0 = process.cpuUsage()
const r = await new LoadEngine({
  scenario: { kind: 'requests', requests: [{ url }] },
  connections: 10,
  durationMs: 2000,
}).run()
const c = process.cpuUsage(c0)
console.log('responses', r.totals.counters.responses, 'cpu ms', (c.user + c.system) / 1000)
server.close()
