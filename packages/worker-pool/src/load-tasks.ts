import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { WorkerStartError } from './errors.js'

const TYPESCRIPT = /\.[cm]?tsx?$/

/**
 * Imports a tasks module, in a worker thread or a worker process. A TypeScript module (`.ts`, `.mts`, `.cts`)
 * that Node cannot load by itself (worker threads do not inherit `--import tsx`) is loaded with the `tsx` found
 * from the module's own folder (`tsx/esm/api`'s `tsImport`). Without `tsx` there, it fails with
 * `DD_ERR_WORKER_START` and a message saying what to do.
 */
export async function loadTasks(url: string): Promise<Record<string, unknown>> {
  try {
    return await import(url)
  } catch (err) {
    const path = url.startsWith('file:') ? new URL(url).pathname : url
    if ((err as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION' || !TYPESCRIPT.test(path)) {
      throw new WorkerStartError(`cannot load tasks module ${url}: ${(err as Error).message}`, err)
    }
    let api: string
    try {
      // The ESM entry of tsx/esm/api, read from tsx's own exports map (require.resolve would give the CJS one).
      const pkgPath = createRequire(url).resolve('tsx/package.json')
      const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as {
        exports: Record<string, { import: { default: string } }>
      }
      api = join(dirname(pkgPath), pkg.exports['./esm/api']!.import.default)
    } catch {
      throw new WorkerStartError(
        `tasks module ${url} is TypeScript and no tsx is installed next to it: add tsx to the project (npm i -D tsx), ` +
          'which the pool uses to load it in threads and worker processes, or compile it and pass the .js file',
        err,
      )
    }
    try {
      const { tsImport } = (await import(pathToFileURL(api).href)) as {
        tsImport: (specifier: string, parent: string) => Promise<Record<string, unknown>>
      }
      return await tsImport(url, import.meta.url)
    } catch (cause) {
      throw new WorkerStartError(
        `cannot load tasks module ${url} with tsx: ${(cause as Error).message}`,
        cause,
      )
    }
  }
}
