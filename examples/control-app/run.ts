/**
 * The whole example with one command: the control server (in this process) and the app's processes
 * (gateway → 2 workers → aggregator over ZeroMQ), plus a little traffic on the gateway.
 *
 * Run: node --import tsx examples/control-app/run.ts [token] [collector] [http] [ws]   (then open the printed
 * dashboard URL). Defaults: a new token, tcp://127.0.0.1:7100, http://127.0.0.1:7180, ws://127.0.0.1:7181.
 */
import { ControlServer, newToken } from 'control-server'
import { startApp } from './app.js'

const [token = newToken(), collector = 'tcp://127.0.0.1:7100', http, ws] = process.argv.slice(2)
const server = new ControlServer({
  collector,
  token,
  ...(http === undefined ? {} : { http }),
  ...(ws === undefined ? {} : { ws }),
})
await server.start()
const parts = await startApp(server.urls.collector)
const gateway = parts.find((p) => p.role === 'gateway')!.info.http
console.log(`dashboard: ${server.urls.dashboard}?token=${token}`)
console.log(`gateway:   curl -X POST ${gateway}/orders -d '{"qty":2}' -H 'content-type: application/json'`)
const traffic = setInterval(() => {
  for (let i = 0; i < 20; i++) {
    fetch(`${gateway}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ qty: 1 + (i % 3) }),
    }).catch(() => {})
  }
}, 1000)
const stop = async () => {
  clearInterval(traffic)
  for (const p of parts) p.child.kill('SIGTERM')
  await server.close()
  process.exit(0)
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
