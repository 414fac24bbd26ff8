import { AsyncLocalStorage } from 'node:async_hooks'
import type { ResolvedInstance } from '../topology/types.js'

/**
 * The instance whose entry module is running, when several run in one process (`dripdrop start --inproc`):
 * `role()` asks it before the environment, which one process shares between all of them.
 */
export const inprocInstance = new AsyncLocalStorage<ResolvedInstance>()

/**
 * Whether this process (or, in-process, this entry module) was started by role: `DRIPDROP_ROLE` is set, or
 * `dripdrop start --inproc` is running this module. An entry checks it to choose between `role()` and its
 * own arguments.
 */
export function startedByRole(): boolean {
  return inprocInstance.getStore() !== undefined || Boolean(process.env.DRIPDROP_ROLE)
}
