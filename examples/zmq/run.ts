/**
 * Starts one role of the app in this process:
 *
 *   node --import tsx examples/zmq/run.ts <role> '<addresses-json>' [arg]
 *
 * `role` is `math`, `collector`, `producer`, `worker` or `auditor`; `arg` is the job count (producer), the
 * `jobs,auditors` pair (collector) or the id (worker, auditor). Prints one JSON line
 * `{"role":…,"ready":true,"endpoints":{…}}` once its routes are open (bound endpoints are real: a `tcp://…:*`
 * shows its port), then `{"role":…,"result":…}` when the role finishes. SIGTERM closes the node gracefully
 * and exits.
 */
import { type Addresses, auditor, collector, math, producer, type Role, worker } from './app.js'

const [role, json, arg = ''] = process.argv.slice(2)
const addr = JSON.parse(json) as Addresses

let started: Role
switch (role) {
  case 'math':
    started = await math(addr)
    break
  case 'worker':
    started = await worker(addr, arg)
    break
  case 'auditor':
    started = await auditor(addr, arg)
    break
  case 'producer':
    started = await producer(addr, Number(arg))
    break
  case 'collector': {
    const [jobs, auditors] = arg.split(',').map(Number)
    started = await collector(addr, jobs, auditors)
    break
  }
  default:
    console.error(`unknown role "${role}"`)
    process.exit(2)
}

const endpoints: Record<string, readonly string[]> = {}
for (const [name, route] of started.node.routes) endpoints[name] = route.endpoints
console.log(JSON.stringify({ role, ready: true, endpoints }))

process.once('SIGTERM', () => {
  started.node.close({ timeoutMs: 2000 }).then(() => process.exit(0))
})

// Servers never finish; the others report and keep serving (their last replies and publications may still
// be on their way) until the orchestrator sends SIGTERM.
const result = await started.done
console.log(JSON.stringify({ role, result }))
