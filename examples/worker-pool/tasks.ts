import { defineTasks } from '@dripdrop/worker-pool'

/** Tasks run on worker threads or remote worker processes: plain functions exported from a module. */
export default defineTasks({
  /** A CPU-bound task: count primes below `limit`. */
  primes: (args: { limit: number }) => {
    let count = 0
    for (let n = 2; n < args.limit; n++) {
      let prime = true
      for (let d = 2; d * d <= n; d++) {
        if (n % d === 0) {
          prime = false
          break
        }
      }
      if (prime) count++
    }
    return count
  },
  /** A task that fails with a coded error, to show what the caller gets. */
  refuse: (args: { why: string }) => {
    throw Object.assign(new Error(args.why), { code: 'E_REFUSED' })
  },
})
