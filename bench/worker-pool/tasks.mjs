// Task module for the worker-pool benchmarks: the same functions for dripdrop, piscina and BullMQ.
import { defineTasks } from '../../packages/worker-pool/dist/index.js'

/** About `ms` of pure CPU work. */
export function burn(ms) {
  const end = performance.now() + ms
  let x = 0
  while (performance.now() < end) x++
  return x
}

/** A fixed amount of CPU work: `n` rounds of xorshift. The bench calibrates `n` to about 1 ms. */
export function work(n) {
  // An int32 seed: a seed above 2^31 starts `x` as a double, and once V8 inlines this loop into the worker's
  // dispatch loop the double representation sticks and the same work runs ~3x slower.
  let x = 0x2463534 | 0
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
  }
  return x
}

export default defineTasks({
  inc: (x) => x + 1,
  burn: (ms) => burn(ms) > 0,
  work: (n) => work(n),
})
