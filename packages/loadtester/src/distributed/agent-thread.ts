// The worker-thread entry of a local agent: loaded by `new Worker(...)` in local-agents.ts, never imported by
// the main side. It runs one Agent connected to the coordinator over loopback, like any remote agent.
import { parentPort, workerData } from 'node:worker_threads'
import { Agent, type AgentOptions } from './agent.js'

const agent = new Agent(workerData as AgentOptions)
agent.events.on('agent:error', ({ error }) =>
  parentPort?.postMessage({ type: 'error', message: error.message }),
)
parentPort?.on('message', (m: { type?: string }) => {
  if (m?.type === 'close') void agent.close().then(() => parentPort?.close())
})
agent.start().then(
  () => parentPort?.postMessage({ type: 'ready', agentId: agent.agentId }),
  (err: unknown) =>
    parentPort?.postMessage({ type: 'error', message: (err as Error)?.message ?? String(err) }),
)
