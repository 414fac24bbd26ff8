/**
 * `await pool.defer(task, args)`: EM.defer for Node. The pool runs two local threads and also listens for
 * remote workers; this example starts one in-process `RemoteWorker` to show that the call site is the same
 * wherever the work runs (`dripdrop-worker --connect <endpoint> --tasks ./tasks.ts --threads 4` does the same from a shell,
 * on any machine).
 *
 * Run: node --import tsx examples/worker-pool/defer.ts
 */
import { createPool, RemoteWorker } from '@dripdrop/worker-pool'
import tasks from './tasks.js'

export async function runDefer(): Promise<{ primes: number[]; error: { code: string; message: string } }> {
  const tasksUrl = new URL('./tasks.ts', import.meta.url)
  const pool = await createPool({ tasks: tasksUrl, threads: 2, listen: 'tcp://127.0.0.1:*' })
  // A remote worker runs its tasks on its own threads (here 1), 4 at a time; its main thread talks to the pool.
  const remote = new RemoteWorker({ connect: pool.endpoint!, tasks: tasksUrl, threads: 1, concurrency: 4 })
  await remote.start()
  try {
    const limits = [10_000, 20_000, 30_000, 40_000, 50_000, 60_000]
    const primes = await Promise.all(
      limits.map((limit) => pool.defer(tasks.primes, { limit }, { timeoutMs: 10_000 })),
    )
    const error = await pool.defer(tasks.refuse, { why: 'not today' }).catch((err) => err)
    return { primes, error: { code: error.code, message: error.message } }
  } finally {
    await remote.close()
    await pool.close()
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await runDefer()))
}
