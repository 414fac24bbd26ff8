/**
 * `pnpm bench [name…]`: runs every `bench/*.bench.ts`, or those whose id starts with one of the names
 * (`pnpm bench core zmq.push`). Each file runs in its own Node process so one benchmark's garbage, sockets
 * and JIT state never leak into the next.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const names = process.argv.slice(2)
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.ts'))
  .sort()
  .filter((f) => names.length === 0 || names.some((n) => f.startsWith(n)))

if (files.length === 0) {
  console.error(
    `no benchmark matches ${names.join(', ')}; have: ${readdirSync(here)
      .filter((f) => f.endsWith('.bench.ts'))
      .join(', ')}`,
  )
  process.exit(1)
}

let failed = 0
for (const file of files) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', join(here, file)], {
    stdio: 'inherit',
  })
  if (r.status !== 0) {
    failed++
    console.error(`bench ${file} exited with ${r.status ?? r.signal}`)
  }
}
process.exit(failed === 0 ? 0 : 1)
