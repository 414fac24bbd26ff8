/**
 * vitest global setup: build the packages (turbo, cached) before any test runs, so that tests always run
 * against the current source.
 *
 * Why a build and not a `source` export condition: packages import each other's `dist/`, and so do the
 * processes and threads the tests start (worker-pool threads load `dist/worker.js`, the worker CLI runs
 * `dist/cli.js`, the zmq cluster tests and the README examples run child processes under tsx). A resolve
 * condition would only reach the test process itself; a build reaches every one of them. When nothing
 * changed, turbo answers from its cache in about a second and rewrites no file.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { delimiter, join, resolve } from 'node:path'

const root = resolve(import.meta.dirname, '..')
const PNPM = 'pnpm@12.4.2'
// Each project of vitest.config.ts runs the global setup; the build runs once per vitest process.
const BUILT = Symbol.for('dripdrop.test.built')

export default function setup(): void {
  const state = globalThis as { [BUILT]?: true }
  if (state[BUILT]) return
  state[BUILT] = true
  const r = turbo(['run', 'build', '--output-logs=errors-only'])
  if (r.status !== 0)
    throw new Error(
      `vitest global setup: \`turbo run build\` failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''}), ` +
        `so the tests would run against a stale dist/. Fix the build first.\n${r.stdout}${r.stderr}`,
    )
}

/** Runs turbo at the repo root, without telemetry or update notices. */
export function turbo(args: string[]) {
  // turbo needs the pnpm binary; `pnpm test` and `pnpm exec vitest` put it on PATH, a bare `vitest` may not.
  const pnpmOnPath = (process.env.PATH ?? '').split(delimiter).some((dir) => existsSync(join(dir, 'pnpm')))
  const [cmd, ...argv] = pnpmOnPath
    ? [join(root, 'node_modules/.bin/turbo'), ...args, '--no-update-notifier']
    : ['npx', '-y', PNPM, 'exec', 'turbo', ...args, '--no-update-notifier']
  return spawnSync(cmd, argv, {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  })
}
