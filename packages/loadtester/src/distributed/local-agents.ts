import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import type { AgentOptions } from './agent.js'

// Under vitest the sources are .ts: the thread then runs the built entry.
const THREAD_URL = new URL(
  import.meta.url.endsWith('.ts') ? '../../dist/distributed/agent-thread.js' : './agent-thread.js',
  import.meta.url,
)

/** Local agent threads started by {@link startLocalAgents}. */
export interface LocalAgents {
  /** The agents' ids, in thread order. */
  readonly agentIds: string[]
  /** Closes every agent (each drains its job) and ends the threads. Same promise on repeat. */
  close(): Promise<void>
}

/**
 * Starts `count` agents, each on its own worker thread running the engine, connected to `options.connect`
 * (the coordinator's endpoint). One per core by default, so a single command uses the whole machine.
 *
 * @example
 * ```ts
 * const local = await startLocalAgents({ connect: coordinator.endpoint })
 * ```
 */
export async function startLocalAgents(options: AgentOptions & { count?: number }): Promise<LocalAgents> {
  const { count = availableParallelism(), ...agent } = options
  if (!Number.isInteger(count) || count <= 0)
    throw new TypeError(`options.count must be a positive integer (threads), got ${String(count)}`)
  const workers: Worker[] = []
  const agentIds = await Promise.all(
    Array.from(
      { length: count },
      (_, i) =>
        new Promise<string>((resolve, reject) => {
          const w = new Worker(THREAD_URL, { workerData: agent, name: `dripdrop-load-agent-${i}` })
          workers.push(w)
          w.once('error', reject)
          w.on('message', (m: { type: string; agentId?: string; message?: string }) => {
            if (m.type === 'ready') resolve(m.agentId as string)
            else if (m.type === 'error') reject(new Error(m.message))
          })
        }),
    ),
  ).catch(async (err: unknown) => {
    await Promise.all(workers.map((w) => w.terminate()))
    throw err
  })
  let closing: Promise<void> | undefined
  return {
    agentIds,
    close() {
      closing ??= Promise.all(
        workers.map(
          (w) =>
            new Promise<void>((resolve) => {
              const t = setTimeout(() => void w.terminate(), 5000)
              w.once('exit', () => {
                clearTimeout(t)
                resolve()
              })
              w.postMessage({ type: 'close' })
            }),
        ),
      ).then(() => undefined)
      return closing
    },
  }
}
