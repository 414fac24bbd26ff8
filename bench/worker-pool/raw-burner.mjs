// A bare worker thread (no pool) that runs `work(n)` in a loop for `ms` and reports how many it did: the CPU
// scaling this machine offers right now, printed beside the pool's.
import { parentPort } from 'node:worker_threads'
import { work } from './tasks.mjs'

parentPort.on('message', ({ n, ms }) => {
  const end = performance.now() + ms
  let count = 0
  while (performance.now() < end) {
    work(n)
    count++
  }
  parentPort.postMessage(count)
})
