/**
 * Starts the example app's processes (aggregator, gateway, `workers` workers), each its own OS process,
 * wired to the collector at `collector`. Used by run.ts and by the control server's browser test.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const HERE = dirname(fileURLToPath(import.meta.url))

export interface AppProcess {
  role: string
  child: ChildProcess
  info: Record<string, string>
}

/** Spawns one example process and resolves with the JSON of its first stdout line. */
export function spawnPart(file: string, args: string[]): Promise<{ child: ChildProcess; info: any }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, file), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (d) => {
    stderr += d
  })
  return new Promise((resolve, reject) => {
    let out = ''
    const onData = (d: Buffer) => {
      out += d
      const nl = out.indexOf('\n')
      if (nl === -1) return
      child.stdout!.off('data', onData)
      try {
        resolve({ child, info: JSON.parse(out.slice(0, nl)) })
      } catch (err) {
        reject(new Error(`${file} printed ${out.slice(0, nl)}: ${stderr}`, { cause: err }))
      }
    }
    child.stdout!.on('data', onData)
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}: ${stderr}`)))
  })
}

/** Starts aggregator → workers → gateway; returns every process (kill them to stop). */
export async function startApp(collector: string, workers = 2): Promise<AppProcess[]> {
  const parts: AppProcess[] = []
  const agg = await spawnPart('aggregator.ts', [collector])
  parts.push({ role: 'aggregator', ...agg })
  const gw = await spawnPart('gateway.ts', [collector])
  parts.push({ role: 'gateway', ...gw })
  const ws = await Promise.all(
    Array.from({ length: workers }, (_, i) =>
      spawnPart('worker.ts', [collector, gw.info.work, agg.info.in, `worker-${i + 1}`]),
    ),
  )
  for (const w of ws) parts.push({ role: 'worker', ...w })
  return parts
}
