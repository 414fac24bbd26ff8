import { existsSync, readdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { defineConfig } from 'vitest/config'

// One vitest run for the whole monorepo: each package and app is a project named after its folder,
// so `vitest run --project core` runs one package and the root `pnpm test` runs them all. An app named like a
// package (apps/loadtester beside packages/loadtester) is the project `<name>-app`.
const roots = ['packages', 'apps'].flatMap((dir) =>
  existsSync(dir)
    ? readdirSync(dir)
        .filter((name) => existsSync(`${dir}/${name}/test`))
        .map((name) => `${dir}/${name}`)
    : [],
)

function projectName(root: string): string {
  const [dir, name] = root.split('/') as [string, string]
  return dir === 'apps' && roots.includes(`packages/${name}`) ? `${name}-app` : name
}

export default defineConfig({
  test: {
    // Tests run against the current source, never a stale dist/: packages import each other's dist/, and so
    // do the threads and processes tests start, so the global setup builds them first (turbo, cached: about a
    // second when nothing changed). A `source` resolve condition was rejected: it would reach the test
    // process only, not the worker threads and child processes. See test/global-setup.ts.
    // Absolute: a project resolves relative paths from its own root. Each project runs it; it builds once.
    globalSetup: [resolve(import.meta.dirname, 'test/global-setup.ts')],
    // The default output, then every test skipped with a reason (ctx.skip(reason)), so a row that could not
    // run on this machine (e.g. zmq's network-namespace row) is visible in the summary, not only counted.
    reporters: ['default', resolve(import.meta.dirname, 'test/skip-reasons-reporter.ts')],
    projects: [
      ...roots.map((root) => ({
        extends: true as const,
        test: { name: projectName(root), root, include: ['test/**/*.test.ts'] },
      })),
      { extends: true as const, test: { name: 'repo', root: '.', include: ['test/**/*.test.ts'] } },
    ],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
})
