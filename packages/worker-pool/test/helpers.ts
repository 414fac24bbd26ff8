import { onTestFinished } from 'vitest'
import {
  createPool,
  type Pool,
  type PoolOptions,
  RemoteWorker,
  type RemoteWorkerOptions,
} from '../src/index.js'

/** The fixture tasks module, as a URL. */
export const TASKS = new URL('./fixtures/tasks.mjs', import.meta.url)
/** The built CLI the tests spawn. */
export const CLI = new URL('../dist/cli.js', import.meta.url).pathname

/** A pool destroyed when the test ends (its threads and socket gone before the next test). */
export async function pool(options: PoolOptions): Promise<Pool> {
  const p = await createPool(options)
  onTestFinished(() => {
    p.destroy()
    return p.close() // after destroy(): the promise of stopping threads and socket
  })
  return p
}

/** A remote worker in this process, closed when the test ends. */
export async function remoteWorker(
  options: Omit<RemoteWorkerOptions, 'tasks'> & { tasks?: URL },
): Promise<RemoteWorker> {
  const w = new RemoteWorker({ tasks: TASKS, threads: 1, ...options })
  onTestFinished(() => w.close())
  await w.start()
  return w
}

/** Resolves when `predicate` holds, checking on every event-loop turn, for at most `ms`. */
export async function until(predicate: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > end) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 5))
  }
}
