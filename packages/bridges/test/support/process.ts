import { type ChildProcess, spawn } from 'node:child_process'
import { resolve } from 'node:path'
import { onTestFinished } from 'vitest'

/** The repository root: examples run from there, as `pnpm` scripts would. */
export const ROOT = resolve(import.meta.dirname, '../../../..')

/**
 * Starts an example as its own OS process (`node --import tsx <file> …args`) and resolves with the JSON its
 * first stdout line holds. The process is stopped when the test finishes.
 */
export function startExample<T = any>(
  file: string,
  args: string[] = [],
): Promise<{ child: ChildProcess; info: T }> {
  const child = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  onTestFinished(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000)
      await exited
      clearTimeout(timer)
    }
  })
  let stderr = ''
  child.stderr!.on('data', (d) => {
    stderr += d
  })
  return new Promise((resolvePromise, reject) => {
    let out = ''
    const onData = (d: Buffer) => {
      out += d
      const nl = out.indexOf('\n')
      if (nl === -1) return
      child.stdout!.off('data', onData)
      try {
        resolvePromise({ child, info: JSON.parse(out.slice(0, nl)) })
      } catch (err) {
        reject(new Error(`${file} printed ${out.slice(0, nl)} (stderr: ${stderr})`, { cause: err }))
      }
    }
    child.stdout!.on('data', onData)
    child.once('exit', (code) =>
      reject(new Error(`${file} exited with ${code} before it was ready: ${stderr}`)),
    )
  })
}
