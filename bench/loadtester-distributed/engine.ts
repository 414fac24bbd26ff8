/**
 * The single-process baseline of the distributed benchmark: one LoadEngine, no coordinator, no agent, closed model.
 * `engine.ts <url> <connections> <ms>`; prints `{ responses, perSecond: number[], cpuUs }` (responses of each interval, its CPU over the run).
 */
import { LoadEngine } from '@dripdrop/loadtester'

const [url, connText, msText] = process.argv.slice(2) as [string, string, string]
const engine = new LoadEngine({
  scenario: { kind: 'requests', requests: [{ url }] },
  connections: Number(connText),
  durationMs: Number(msText),
})
const perSecond: number[] = []
engine.events.on('engine:progress', (p) => perSecond.push(p.responses))
const cpu0 = process.cpuUsage()
const r = await engine.run()
const cpu = process.cpuUsage(cpu0)
console.log(
  JSON.stringify({ responses: r.totals.counters.responses, perSecond, cpuUs: cpu.user + cpu.system }),
)
